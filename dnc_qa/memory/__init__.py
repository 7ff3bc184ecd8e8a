"""Memory access for the DNC and the NTM (see ``docs/memory.md``)."""

from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState
from dnc_qa.memory.ntm import NTMInterface, NTMMemory, NTMState

__all__ = ["DNCInterface", "DNCMemory", "DNCState", "NTMInterface", "NTMMemory", "NTMState"]
