"""A padded batch through a model, each row only as far as its last answer step.

A batch of episodes of different lengths is zero-padded at the end (``pad_episodes``). When a
task's loss and score read only the steps whose mask is above zero, the steps after a row's
last such step change nothing: the model is causal, so they cannot reach an earlier output.
:func:`run_trimmed` skips them. Its rows run as one batch cut at row lengths: all rows until
the first cut, then the rows still under way, and so on, each pass one call of the model (the
fast sequence path for a DNC). A call has a fixed cost besides its steps, so the cuts are
chosen to make the fewest row-steps plus :data:`CALL_COST` row-steps per call
(:func:`plan_cuts`): a row that ends a few steps before the next cut runs on to it, and its
extra steps' logits are zeroed. The logits of every row's own steps are what the full padded
pass gives (up to the rounding of batched matrix products); beyond them they are zero. On
the graph tasks' final lessons, where episodes of one batch differ by tens of steps, cutting
at every length skips 29 % of a traversal batch's row-steps and 8 % of an inference batch's
(``python -m benchmarks.layouts``).

A memory network whose memory is fitted to its episodes (``--fit-cells``) runs a batch as
groups of rows of similar lengths (:func:`run_fitted`), each group with a memory of
``max(minimum, its longest row)`` cells: a step's link arithmetic grows with the square of
the memory's size, so a short episode no longer pays for the longest one of its batch.
:func:`memory_groups` chooses the groups that cost least by a measured cost model.
"""

from __future__ import annotations

import bisect

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dnc_qa.models.state import cat_rows, index_rows

ROW_STEP_COST = 44.0
"""A row-step's cost in microseconds besides its memory-size term (the controller, the
content and read arithmetic; the graph recipe's DNC, forward and backward, one thread)."""

CELL_PAIR_COST = 0.0025
"""A row-step's cost per squared memory cell in microseconds (the link arithmetic): batch 8,
T = 120, about 76 µs per row-step with 120 cells, 98 with 150 and 132 with 190 on a quiet
machine (``python -m benchmarks.memory_groups`` times these costs; under load they run
higher)."""

GROUP_COST = 5000.0
"""A group's fixed cost in microseconds: a group runs its own passes over all its steps,
and on final-lesson batches a second group cost 4-6 ms of forward and backward beyond its
row-steps. With this cost, traversal batches (41-205 steps) make about two groups, and
forward and backward take 10 % less time than with one memory per batch; inference batches
(84-122 steps) keep one."""

SMALL_GROUP_COST = {1: 30.0, 2: 15.0}
"""The extra cost per row-step of a group of one or two rows (matrix products of so few rows
run slower per row): 110 and 96 µs per row-step against 81 µs at batch 4 or 8."""


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


CALL_COST = 10
"""A pass's fixed cost in row-steps (Python, autograd, the sequence's set-up, the state's
copies at the cut). A batch-8 call of the graph recipe's DNC with a memory of 126 cells
takes about 1.2 ms forward and backward for one step and 0.64 ms per further step, so about
0.57 ms fixed, 7 row-steps at 0.08 ms each (one thread); with the cut's copies, 10 timed
best: forward and backward of final-lesson inference batches take 5 % less time than with a
cut at every length (as with 6 or 20), of traversal batches 2 % less."""


def plan_cuts(lengths: list[int], call_cost: float = CALL_COST) -> list[int]:
    """Where to cut a batch whose rows run ``lengths`` steps: the ends of its passes,
    ascending, the last one the longest length. A pass from step ``a`` to its end ``e`` runs
    every row longer than ``a``, for ``e - a`` steps, at a cost of that many row-steps plus
    ``call_cost``; the cuts (a subset of the lengths) minimise the total (one dynamic
    programme over the distinct lengths). ``call_cost=0`` cuts at every distinct length."""
    ends = sorted(set(lengths))
    ascending = sorted(lengths)
    starts = [0, *ends]
    rows = {a: len(lengths) - bisect.bisect_right(ascending, a) for a in starts}  # longer than a
    best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}  # start -> (cost, ends so far)
    for e in ends:
        cost, _, cuts = min(  # ties: more passes (fewer padded steps)
            (best[a][0] + call_cost + rows[a] * (e - a), -len(best[a][1]), best[a][1])
            for a in starts if a < e)
        best[e] = (cost, [*cuts, e])
    return best[ends[-1]][1]


def _check_lengths(lengths: list[int], B: int, T: int) -> None:
    """Raise ``ValueError`` unless ``lengths`` has one length in ``1..T`` per row of ``B``."""
    if len(lengths) != B or not all(1 <= n <= T for n in lengths):
        raise ValueError(f"need one length in 1..{T} per row, got {lengths}")


def run_by_length(model: nn.Module, inputs: Tensor, lengths: list[int], state: object,
                  final_states: bool = False, call_cost: float = CALL_COST
                  ) -> tuple[Tensor, object | None]:
    """``model`` over ``inputs [B, T, input]`` from ``state``, row ``b`` for its first
    ``lengths[b]`` steps only, as one batch cut at the ends :func:`plan_cuts` chooses (see
    the module's docstring): the logits ``[B, T, output]`` (zero after each row's length)
    and, with ``final_states``, each row's state after its own last step (else ``None``),
    both in the rows' given order. With ``final_states`` every distinct length is a cut (a
    row's state is read at its own end)."""
    B, T = inputs.shape[:2]
    _check_lengths(lengths, B, T)
    order = sorted(range(B), key=lambda b: -lengths[b])  # longest first; ties keep order
    perm = torch.tensor(order, device=inputs.device)
    x = inputs.index_select(0, perm)
    state = index_rows(state, perm)
    sorted_lengths = [lengths[b] for b in order]
    pieces = []  # each pass's logits, zero-padded to all B rows (of the sorted order)
    finished = []  # the states of rows that are done, the shortest first
    active, t = B, 0
    for end in plan_cuts(sorted_lengths, 0 if final_states else call_cost):
        logits, state = model(x[:active, t:end], state)
        if sorted_lengths[active - 1] < end:  # the shortest row ran on past its end
            steps = torch.arange(t, end, device=inputs.device)
            ends = torch.tensor(sorted_lengths[:active], device=inputs.device)
            logits = logits.masked_fill((steps[None, :] >= ends[:, None]).unsqueeze(-1), 0.0)
        pieces.append(F.pad(logits, (0, 0, 0, 0, 0, B - active)))
        t = end
        keep = active
        while keep and sorted_lengths[keep - 1] <= t:
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


def memory_groups(lengths: list[int], minimum: int) -> list[list[int]]:
    """The rows of a batch whose rows run ``lengths`` steps, grouped to share a memory of
    ``max(minimum, the group's longest length)`` cells: each group's row indices (shortest
    row first), the groups from the shortest rows to the longest.

    The groups are runs of the rows in order of length (ties keep their order) and are the
    cheapest such split by the cost model above: each row-step costs
    :data:`ROW_STEP_COST` + :data:`CELL_PAIR_COST` × cells² (+ :data:`SMALL_GROUP_COST` in a
    group of one or two rows), each group :data:`GROUP_COST` more. One dynamic programme
    over the B + 1 split points; equal costs keep fewer groups."""
    return _cheapest_groups(lengths, minimum)[1]


def fitted_cost(lengths: list[int], minimum: int) -> float:
    """What :func:`run_fitted` costs for rows of ``lengths`` steps by the cost model of
    :func:`memory_groups` (microseconds of forward and backward on one thread): the cost of
    its cheapest groups."""
    return _cheapest_groups(lengths, minimum)[0]


def _cheapest_groups(lengths: list[int], minimum: int) -> tuple[float, list[list[int]]]:
    """The dynamic programme of :func:`memory_groups`: the cheapest split's cost and groups."""
    order = sorted(range(len(lengths)), key=lambda b: lengths[b])
    steps = [0]  # steps[j]: the row-steps of the j shortest rows
    for b in order:
        steps.append(steps[-1] + lengths[b])
    best: list[tuple[float, int, int]] = [(0.0, 0, 0)]  # (cost, groups, start of the last)
    for j in range(1, len(order) + 1):
        cells = max(minimum, lengths[order[j - 1]])
        per_step = ROW_STEP_COST + CELL_PAIR_COST * cells * cells
        best.append(min(
            (best[i][0] + GROUP_COST
             + (steps[j] - steps[i]) * (per_step + SMALL_GROUP_COST.get(j - i, 0.0)),
             best[i][1] + 1, i)
            for i in range(j)))
    groups, j = [], len(order)
    while j:
        i = best[j][2]
        groups.append(order[i:j])
        j = i
    return best[-1][0], groups[::-1]


def _run_group(model: nn.Module, inputs: Tensor, lengths: list[int], minimum: int,
               T: int) -> Tensor:
    """The rows of ``inputs`` from one fresh memory of ``max(minimum, max(lengths))`` cells,
    trimmed (:func:`run_trimmed`), their logits zero-padded to ``T`` steps."""
    steps = max(lengths)
    state = model.initial_state(inputs.shape[0], dtype=inputs.dtype, device=inputs.device,
                                num_cells=max(minimum, steps))
    logits = run_trimmed(model, inputs[:, :steps], lengths, state)
    return F.pad(logits, (0, 0, 0, T - steps))


def run_fitted(model: nn.Module, inputs: Tensor, lengths: list[int], minimum: int) -> Tensor:
    """``model``'s logits ``[B, T, output]`` for ``inputs [B, T, input]``, row ``b`` run for
    its first ``lengths[b]`` steps (zero after them) from a fresh memory of
    ``max(minimum, longest length of its group)`` cells, the groups of
    :func:`memory_groups`; each group one :func:`run_trimmed`. With one group this is the
    batch from a memory of ``max(minimum, max(lengths))`` cells."""
    B, T = inputs.shape[:2]
    _check_lengths(lengths, B, T)
    groups = memory_groups(lengths, minimum)
    if len(groups) == 1:  # the batch as it is, no rows reordered
        return _run_group(model, inputs, lengths, minimum, T)
    pieces = [_run_group(model, inputs.index_select(0, torch.tensor(g, device=inputs.device)),
                         [lengths[b] for b in g], minimum, T) for g in groups]
    back = torch.argsort(torch.tensor([b for g in groups for b in g], device=inputs.device))
    return torch.cat(pieces).index_select(0, back)


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
    """:func:`run_trimmed` as one module call, ``(inputs, lengths, state) -> logits``, or
    with ``min_cells`` (and lengths) :func:`run_fitted`, so that DDP sees one forward and one
    backward per step (as for a rollout)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, lengths: list[int] | None, state: object | None = None,
                min_cells: int | None = None) -> Tensor:
        if min_cells is not None and lengths is not None:
            return run_fitted(self.model, inputs, lengths, min_cells)
        return run_trimmed(self.model, inputs, lengths, state)
