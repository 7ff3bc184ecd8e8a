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

from dnc_qa.models.state import index_rows


def answer_lengths(mask: Tensor) -> list[int]:
    """Per row of ``mask [B, T]``, the steps up to and including its last step with a mask
    above zero (at least 1)."""
    T = mask.shape[1]
    steps = torch.arange(1, T + 1, device=mask.device)
    return ((mask > 0) * steps).amax(dim=1).clamp(min=1).tolist()


def run_trimmed(model: nn.Module, inputs: Tensor, lengths: list[int],
                state: object | None = None) -> Tensor:
    """``model``'s logits ``[B, T, output]`` for ``inputs [B, T, input]`` from ``state``
    (``None``: the model's initial state), row ``b`` run for its first ``lengths[b]`` steps
    only and zero after them.

    The rows run longest first, one model call per distinct length (see the module's
    docstring); with no row shorter than ``T``, it is one plain call.
    """
    B, T = inputs.shape[:2]
    if len(lengths) != B or not all(1 <= n <= T for n in lengths):
        raise ValueError(f"need one length in 1..{T} per row, got {lengths}")
    if min(lengths) == T:
        logits, _ = model(inputs, state)
        return logits
    if state is None:
        state = model.initial_state(B, dtype=inputs.dtype, device=inputs.device)
    order = sorted(range(B), key=lambda b: -lengths[b])
    perm = torch.tensor(order, device=inputs.device)
    x = inputs.index_select(0, perm)
    state = index_rows(state, perm)
    sorted_lengths = [lengths[b] for b in order]
    pieces = []  # each pass's logits, zero-padded to all B rows (of the sorted order)
    active, t = B, 0
    while active:
        end = sorted_lengths[active - 1]  # the shortest row still under way
        logits, state = model(x[:active, t:end], state)
        pieces.append(F.pad(logits, (0, 0, 0, 0, 0, B - active)))
        t = end
        keep = active
        while keep and sorted_lengths[keep - 1] == t:
            keep -= 1
        if keep:
            state = index_rows(state, torch.arange(keep, device=inputs.device))
        active = keep
    out = F.pad(torch.cat(pieces, dim=1), (0, 0, 0, T - t))
    return out.index_select(0, torch.argsort(perm))


class TrimmedNet(nn.Module):
    """:func:`run_trimmed` as one module call, ``(inputs, lengths, state) -> logits``, so
    that DDP sees one forward and one backward per step (as for a rollout)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, lengths: list[int], state: object | None = None
                ) -> Tensor:
        return run_trimmed(self.model, inputs, lengths, state)
