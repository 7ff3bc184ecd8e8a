"""A padded batch through a model, each row only as far as its last answer step.

A batch of episodes of different lengths is zero-padded at the end (``pad_episodes``). When a
task's loss and score read only the steps whose mask is above zero, the steps after a row's
last such step change nothing: the model is causal, so they cannot reach an earlier output.
:func:`run_trimmed` skips them. Its rows run as one batch cut at each row's length: all rows
until the shortest one ends, then the rows still under way, and so on, each pass one call of
the model (the fast sequence path for a DNC). The logits of every row's own steps are what the
full padded pass gives (up to the rounding of batched matrix products); beyond them they are
zero. On the graph tasks' final lessons, where episodes of one batch differ by tens of steps,
this skips 29 % of a traversal batch's row-steps and 8 % of an inference batch's
(``python -m benchmarks.layouts``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dnc_qa.models.state import cat_rows, index_rows


def answer_lengths(mask: Tensor) -> list[int]:
    """Per row of ``mask [B, T]``, the steps up to and including its last step with a mask
    above zero (at least 1)."""
    T = mask.shape[1]
    steps = torch.arange(1, T + 1, device=mask.device)
    return ((mask > 0) * steps).amax(dim=1).clamp(min=1).tolist()


def lengths_for(task: object, mask: Tensor) -> list[int] | None:
    """How far each row of a padded batch of ``task`` must run: :func:`answer_lengths` when
    the task reads only its answer steps (``answers_only``), else ``None`` (every step)."""
    return answer_lengths(mask) if getattr(task, "answers_only", False) else None


def run_by_length(model: nn.Module, inputs: Tensor, lengths: list[int], state: object,
                  final_states: bool = False) -> tuple[Tensor, object | None]:
    """``model`` over ``inputs [B, T, input]`` from ``state``, row ``b`` for its first
    ``lengths[b]`` steps only, as one batch cut at each row's length (see the module's
    docstring): the logits ``[B, T, output]`` (zero after each row's length) and, with
    ``final_states``, each row's state after its own last step (else ``None``), both in the
    rows' given order."""
    B, T = inputs.shape[:2]
    if len(lengths) != B or not all(1 <= n <= T for n in lengths):
        raise ValueError(f"need one length in 1..{T} per row, got {lengths}")
    order = sorted(range(B), key=lambda b: -lengths[b])  # longest first; ties keep order
    perm = torch.tensor(order, device=inputs.device)
    x = inputs.index_select(0, perm)
    state = index_rows(state, perm)
    sorted_lengths = [lengths[b] for b in order]
    pieces = []  # each pass's logits, zero-padded to all B rows (of the sorted order)
    finished = []  # the states of rows that are done, the shortest first
    active, t = B, 0
    while active:
        end = sorted_lengths[active - 1]  # the shortest row still under way
        logits, state = model(x[:active, t:end], state)
        pieces.append(F.pad(logits, (0, 0, 0, 0, 0, B - active)))
        t = end
        keep = active
        while keep and sorted_lengths[keep - 1] == t:
            keep -= 1
        if final_states:
            finished.append(state if not keep else
                            index_rows(state, torch.arange(keep, active, device=inputs.device)))
        if keep:
            state = index_rows(state, torch.arange(keep, device=inputs.device))
        active = keep
    back = torch.argsort(perm)
    out = F.pad(torch.cat(pieces, dim=1), (0, 0, 0, T - t)).index_select(0, back)
    return out, index_rows(cat_rows(finished[::-1]), back) if final_states else None


def run_trimmed(model: nn.Module, inputs: Tensor, lengths: list[int] | None,
                state: object | None = None) -> Tensor:
    """``model``'s logits ``[B, T, output]`` for ``inputs [B, T, input]`` from ``state``
    (``None``: the model's initial state), row ``b`` run for its first ``lengths[b]`` steps
    only and zero after them (:func:`run_by_length`); with ``lengths`` ``None`` or no row
    shorter than ``T``, one plain call."""
    T = inputs.shape[1]
    if lengths is None or (len(lengths) == inputs.shape[0] and min(lengths) == T):
        logits, _ = model(inputs, state)
        return logits
    if state is None:
        state = model.initial_state(inputs.shape[0], dtype=inputs.dtype, device=inputs.device)
    return run_by_length(model, inputs, lengths, state)[0]


class TrimmedNet(nn.Module):
    """:func:`run_trimmed` as one module call, ``(inputs, lengths, state) -> logits``, so
    that DDP sees one forward and one backward per step (as for a rollout)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, lengths: list[int] | None, state: object | None = None
                ) -> Tensor:
        return run_trimmed(self.model, inputs, lengths, state)
