"""Build a model for a task from a :class:`~dnc_qa.train.config.ModelConfig`."""

from __future__ import annotations

from torch import nn

from dnc_qa.errors import DncQaError
from dnc_qa.memory.backends import BackendUnavailable
from dnc_qa.models import DNC, NTM, LSTMBaseline
from dnc_qa.tasks.registry import suggest
from dnc_qa.train.config import MODEL_KINDS, ModelConfig


def check_model_name(name: str) -> str:
    """Normalise a model name or raise :class:`DncQaError` with a near match."""
    key = name.strip().lower()
    if key not in MODEL_KINDS:
        raise DncQaError(
            f"unknown model {name!r}{suggest(key, list(MODEL_KINDS))}; "
            f"choose one of {', '.join(MODEL_KINDS)}"
        )
    return key


def build_model(config: ModelConfig, input_size: int, output_size: int) -> nn.Module:
    """The DNC, NTM or LSTM baseline that ``config`` describes."""
    kind = check_model_name(config.kind)
    if kind == "lstm":
        return LSTMBaseline(input_size, output_size, config.hidden_size, config.controller_layers)
    shared = dict(
        hidden_size=config.hidden_size,
        controller_layers=config.controller_layers,
        num_cells=config.num_cells,
        cell_width=config.cell_width,
        num_reads=config.num_reads,
        num_writes=config.num_writes,
        controller=config.controller,
        clip=config.clip,
    )
    if kind == "ntm":
        return NTM(input_size, output_size, **shared)
    try:
        return DNC(
            input_size,
            output_size,
            **shared,
            masking=config.masking,
            deallocation=config.deallocation,
            link_sharpness=config.link_sharpness,
            link=config.link,
            link_k=config.link_k,
            backend=config.backend,
        )
    except BackendUnavailable as exc:  # a backend asked for that cannot compute this model
        raise DncQaError(str(exc)) from None
