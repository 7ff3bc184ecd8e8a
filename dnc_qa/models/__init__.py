"""Models with one interface: ``y, state = model(x, state=None)`` (batch first)."""

from dnc_qa.models.dnc import DNC
from dnc_qa.models.lstm import LSTMBaseline
from dnc_qa.models.ntm import NTM
from dnc_qa.models.state import detach_state, map_state

__all__ = ["DNC", "NTM", "LSTMBaseline", "detach_state", "map_state"]
