"""Helpers for the models' recurrent state (nested NamedTuples of tensors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

S = TypeVar("S")


def map_state(fn: Callable[[Tensor], Tensor], state: S) -> S:
    """Apply ``fn`` to every tensor in a nested NamedTuple / tuple state, keeping its types."""
    if isinstance(state, Tensor):
        return fn(state)  # type: ignore[return-value]
    if isinstance(state, tuple):
        items = [map_state(fn, item) for item in state]
        return type(state)(*items) if hasattr(state, "_fields") else type(state)(items)  # type: ignore[return-value]
    if state is None:
        return state
    raise TypeError(f"unexpected state element of type {type(state).__name__}")


def detach_state(state: S) -> S:
    """Cut the graph behind a state, for truncated back-propagation through time."""
    return map_state(Tensor.detach, state)


def _batch_dim(state: object) -> int:
    """The batch axis of a model state's tensors: 1 for the LSTM baseline's
    ``[layers, B, H]`` state, 0 for every other state in this package."""
    from dnc_qa.models.lstm import LSTMBaselineState

    return 1 if isinstance(state, LSTMBaselineState) else 0


def index_rows(state: S, index: Tensor) -> S:
    """The batch rows ``index`` (a ``LongTensor``) of a model state (differentiable)."""
    dim = _batch_dim(state)
    return map_state(lambda t: t.index_select(dim, index), state)


def cat_rows(states: list[S]) -> S:
    """Join model states of the same structure along the batch axis (differentiable)."""
    if not states:
        raise ValueError("cannot join zero states")
    dim = _batch_dim(states[0])

    def join(*parts: Tensor) -> Tensor:
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=dim)

    return _zip_states(join, states)


def _zip_states(fn: Callable[..., Tensor], states: list) -> object:
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states)
    if isinstance(first, tuple):
        items = [_zip_states(fn, [s[i] for s in states]) for i in range(len(first))]
        return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
    if first is None:
        return None
    raise TypeError(f"unexpected state element of type {type(first).__name__}")
