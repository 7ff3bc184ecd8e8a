"""Shares of equal cost for data-parallel training on the graph tasks.

Under DDP every process draws its own batch, and every step waits at the gradients'
all-reduce for the slowest process. A graph batch's cost depends on its episodes' lengths:
each row runs only to its last answer step, and with a fitted memory (``--fit-cells``) a
row-step's link arithmetic grows with the square of the memory, which follows the longest
row of its group (:mod:`dnc_qa.models.trimmed`). On traversal's final lesson the slower of
two processes' batches of four takes 16 % longer than the mean share
(``python -m benchmarks.balance``).

So the processes pool their batches (:class:`PendingPool`: one all-gather, which the trainer
sends one step ahead) and each takes an equal number of rows of a split that makes the
costliest share as cheap as it can (:func:`balanced_split`). The loss is a mean over
episodes and every process keeps the same number of rows, so the gradient DDP averages is
that of the mean loss over the pooled batch's episodes, whatever the split: the episodes
trained on and the loss are what they were. (With a fitted memory a row's memory size
follows the longest row of its group, as in any batch; the split changes which rows share a
group.)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F

from dnc_qa.models.trimmed import fitted_cost, lengths_for
from dnc_qa.tasks.base import Batch
from dnc_qa.train.distributed import DistInfo

EXHAUSTIVE_SPLITS = 5000
"""Two shares are chosen by trying every split when there are at most this many (a pooled
batch of up to 14 rows; 16 rows make 6,435); otherwise greedily (:func:`greedy_split`)."""


def share_cost(lengths: list[int], min_cells: int | None) -> float:
    """What a share of rows running ``lengths`` steps costs: with a fitted memory of at least
    ``min_cells`` cells, :func:`~dnc_qa.models.trimmed.fitted_cost`; with a fixed memory,
    its row-steps."""
    if not lengths:
        return 0.0
    return fitted_cost(lengths, min_cells) if min_cells is not None else float(sum(lengths))


def greedy_split(lengths: list[int], parts: int,
                 cost: Callable[[list[int]], float]) -> list[list[int]]:
    """Rows to ``parts`` shares of ``len(lengths) // parts`` rows each: the longest row
    first, each to the share with room whose cost it raises least (ties: the lowest share).
    Each share's row indices ascending."""
    size = len(lengths) // parts
    shares: list[list[int]] = [[] for _ in range(parts)]
    for b in sorted(range(len(lengths)), key=lambda b: (-lengths[b], b)):
        open_ = [k for k in range(parts) if len(shares[k]) < size]
        k = min(open_, key=lambda k: (cost([lengths[i] for i in shares[k]] + [lengths[b]]), k))
        shares[k].append(b)
    return [sorted(s) for s in shares]


def balanced_split(lengths: list[int], parts: int,
                   cost: Callable[[list[int]], float]) -> list[list[int]]:
    """Split rows running ``lengths`` steps into ``parts`` shares of equal size, making the
    costliest share (by ``cost``, a function of a share's lengths) as cheap as possible:
    each share's row indices ascending, share ``k`` for process ``k``.

    Two shares: every split is tried when there are at most :data:`EXHAUSTIVE_SPLITS`
    (the first share holds row 0; ties keep the first split found), so the result is the
    best one. More shares, or more rows: :func:`greedy_split`."""
    n = len(lengths)
    if parts < 1 or n % parts:
        raise ValueError(f"cannot split {n} rows into {parts} shares of equal size")
    if parts == 1:
        return [list(range(n))]
    size = n // parts
    if parts != 2 or math.comb(n - 1, size - 1) > EXHAUSTIVE_SPLITS:
        return greedy_split(lengths, parts, cost)
    best: tuple[float, list[int], list[int]] | None = None
    for rest in itertools.combinations(range(1, n), size - 1):
        first = [0, *rest]
        taken = set(first)
        second = [b for b in range(n) if b not in taken]
        worst = max(cost([lengths[b] for b in first]), cost([lengths[b] for b in second]))
        if best is None or worst < best[0]:
            best = (worst, first, second)
    assert best is not None
    return [best[1], best[2]]


class PendingPool:
    """Every process's batch on its way to every process: an all-reduce of the batches'
    length (issued here), then an all-gather of the batches padded to it (:meth:`send`),
    both asynchronous, so the exchange can run while the processes compute. Every process
    must make one with a batch of the same number of rows, and call :meth:`send` and
    :meth:`wait` in the same order as the others."""

    def __init__(self, batch: Batch, info: DistInfo) -> None:
        self.batch, self.info = batch, info
        self.steps = torch.tensor([batch.inputs.shape[1]], device=batch.inputs.device)
        self.work: dist.Work | None = dist.all_reduce(self.steps, op=dist.ReduceOp.MAX,
                                                      async_op=True)
        self.parts: list[torch.Tensor] | None = None

    def send(self) -> None:
        """Wait for the length, then start the all-gather (once)."""
        if self.parts is not None:
            return
        assert self.work is not None
        self.work.wait()
        inputs, targets, mask = self.batch
        packed = torch.cat([inputs, targets.to(inputs.dtype),
                            mask.to(inputs.dtype).unsqueeze(-1)], dim=2)
        T = int(self.steps.item())
        packed = F.pad(packed, (0, 0, 0, T - packed.shape[1])).contiguous()
        self.parts = [torch.empty_like(packed) for _ in range(self.info.world_size)]
        self.work = dist.all_gather(self.parts, packed, async_op=True)

    def wait(self) -> Batch:
        """The pooled batch: every process's rows in rank order, padded to the longest."""
        self.send()
        assert self.work is not None and self.parts is not None
        self.work.wait()
        pooled = torch.cat(self.parts)
        inputs, targets, mask = self.batch
        i, o = inputs.shape[2], targets.shape[2]
        return Batch(pooled[..., :i], pooled[..., i:i + o].to(targets.dtype),
                     pooled[..., i + o].to(mask.dtype))


def pool_batch(batch: Batch, info: DistInfo) -> Batch:
    """Every process's batch, stacked in rank order (each padded to the longest), at once
    (:class:`PendingPool`); the batch itself with one process."""
    return PendingPool(batch, info).wait() if info.enabled else batch


def share_of(pooled: Batch, task: object, info: DistInfo, min_cells: int | None) -> Batch:
    """This process's share of a pooled batch (:func:`balanced_split` of its rows by
    :func:`share_cost`), cut to its longest row."""
    lengths = lengths_for(task, pooled.mask)
    assert lengths is not None
    shares = balanced_split(lengths, info.world_size,
                            lambda share: share_cost(share, min_cells))
    rows = shares[info.rank]
    T = max(lengths[b] for b in rows)
    index = torch.tensor(rows, device=pooled.inputs.device)
    return Batch(*(t.index_select(0, index)[:, :T].contiguous() for t in pooled))


def balances(task: object, info: DistInfo) -> bool:
    """Whether batches of ``task`` are pooled and split: under DDP, for a task whose rows
    run only to their last answer step (otherwise every row costs the batch's length)."""
    return info.enabled and bool(getattr(task, "answers_only", False))

