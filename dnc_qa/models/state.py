"""Helpers for the models' recurrent state (nested NamedTuples of tensors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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
