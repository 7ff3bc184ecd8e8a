"""Shares of equal cost under DDP (dnc_qa.train.balance): the split, the pooling over gloo,
and that the gradient DDP averages is the pooled batch's."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from dnc_qa.models.trimmed import TrimmedNet, fitted_cost, lengths_for
from dnc_qa.tasks.base import Batch
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.balance import (
    balanced_split,
    balances,
    greedy_split,
    pool_batch,
    share_cost,
    share_of,
)
from dnc_qa.train.config import ModelConfig
from dnc_qa.train.distributed import DistInfo
from dnc_qa.train.model_factory import build_model


def every_split(n: int, parts: int) -> list[list[list[int]]]:
    """All ways to cut rows 0..n-1 into ``parts`` shares of equal size (as sorted lists),
    from the permutations: independent of the search in balanced_split."""
    size = n // parts
    seen = set()
    for perm in itertools.permutations(range(n)):
        split = tuple(tuple(sorted(perm[k * size:(k + 1) * size])) for k in range(parts))
        seen.add(split)
    return [[list(s) for s in split] for split in seen]


def worst(split: list[list[int]], lengths: list[int], cost) -> float:
    return max(cost([lengths[b] for b in s]) for s in split)


def test_two_shares_of_row_steps_hand_computed() -> None:
    # 10+100 = 20+90 = 110: the only split whose shares cost the same
    assert balanced_split([10, 100, 20, 90], 2, lambda s: float(sum(s))) == [[0, 1], [2, 3]]
    # 1..6 in threes: 21 steps, so 11 is the best; {1, 3, 6} is the first such share (in the
    # order the splits are tried) and its row 0 share comes first
    assert balanced_split([1, 2, 3, 4, 5, 6], 2, lambda s: float(sum(s))) == [[0, 2, 5],
                                                                              [1, 3, 4]]


@pytest.mark.parametrize("seed", range(6))
def test_two_shares_are_the_best_split(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(20, 210, (8,), generator=g).tolist()
    cost = lambda s: share_cost(s, 16)  # noqa: E731
    split = balanced_split(lengths, 2, cost)
    assert sorted(b for s in split for b in s) == list(range(8))
    assert [len(s) for s in split] == [4, 4]
    best = min(worst(s, lengths, cost) for s in every_split(8, 2))
    assert worst(split, lengths, cost) == pytest.approx(best)
    # and better than keeping each process's own rows, unless that was already best
    assert worst(split, lengths, cost) <= worst([[0, 1, 2, 3], [4, 5, 6, 7]], lengths, cost)


def test_greedy_split_for_more_shares_or_rows() -> None:
    lengths = [200, 10, 190, 20, 180, 30, 170, 40, 160, 50, 150, 60]
    split = balanced_split(lengths, 3, lambda s: float(sum(s)))
    assert sorted(b for s in split for b in s) == list(range(12))
    assert [len(s) for s in split] == [4, 4, 4]
    sums = [sum(lengths[b] for b in s) for s in split]
    assert max(sums) - min(sums) <= 20  # the greedy pairs long rows with short ones
    # 16 rows in two shares: too many splits to try all, so the greedy one
    rows = torch.randint(20, 210, (16,), generator=torch.Generator().manual_seed(3)).tolist()
    cost = lambda s: share_cost(s, 16)  # noqa: E731
    assert balanced_split(rows, 2, cost) == greedy_split(rows, 2, cost)
    assert [len(s) for s in greedy_split(rows, 2, cost)] == [8, 8]


def test_split_needs_equal_shares() -> None:
    with pytest.raises(ValueError, match="equal size"):
        balanced_split([1, 2, 3], 2, lambda s: float(sum(s)))
    assert balanced_split([5, 3, 4], 1, lambda s: float(sum(s))) == [[0, 1, 2]]


def test_share_cost() -> None:
    assert share_cost([30, 40], None) == 70.0
    assert share_cost([30, 140, 60], 16) == fitted_cost([30, 140, 60], 16)
    assert share_cost([], 16) == 0.0
    # the cost model's memory grows with the longest row: one long row costs more than its steps
    assert share_cost([200, 20], 16) > share_cost([110, 110], 16)


def test_one_process_keeps_its_batch() -> None:
    task = TraversalTask()
    batch = task.sample(4, torch.Generator().manual_seed(0))
    assert not balances(task, DistInfo(0, 1, 0))
    assert pool_batch(batch, DistInfo(0, 1, 0)) is batch


# ---------------------------------------------------------------- two gloo processes

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model() -> torch.nn.Module:
    task = TraversalTask()
    torch.manual_seed(0)
    config = ModelConfig(kind="dnc", controller="feedforward", hidden_size=16, num_cells=16,
                         cell_width=8, num_reads=2, masking=True, fit_cells=True)
    return build_model(config, task.input_size, task.output_size).double()


def _batch(rank: int) -> Batch:
    """Rank ``rank``'s own batch: four traversal episodes of the final lesson."""
    task = TraversalTask().lessons()[-1]
    b = task.sample(4, torch.Generator().manual_seed(100 + rank))
    return Batch(b.inputs.double(), b.targets.double(), b.mask.double())


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        info = DistInfo(rank, 2, rank)
        task = TraversalTask().lessons()[-1]
        assert balances(task, info)
        mine = share_of(pool_batch(_batch(rank), info), task, info, 16)
        net = DistributedDataParallel(TrimmedNet(_model()))
        logits = net(mine.inputs, lengths_for(task, mine.mask), None, 16)
        task.loss(logits, mine).backward()
        torch.save({"batch": tuple(mine), "pooled": tuple(pool_batch(_batch(rank), info)),
                    "grads": [p.grad for p in net.module.parameters()]},
                   Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_processes_train_on_the_pooled_batch(tmp_path: Path) -> None:
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=2,
                       start_method="spawn")
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    task = TraversalTask().lessons()[-1]
    own = [_batch(r) for r in range(2)]
    lengths = [lengths_for(task, b.mask) for b in own]
    # the pooled batch: rank 0's rows, then rank 1's, padded to the longer batch
    pooled = Batch(*ranks[0]["pooled"])
    assert all(torch.equal(a, b) for a, b in zip(pooled, ranks[1]["pooled"], strict=True))
    assert pooled.inputs.shape[0] == 8
    for r in range(2):
        T = own[r].inputs.shape[1]
        for a, b in zip(pooled, own[r], strict=True):
            assert torch.equal(a[4 * r:4 * r + 4, :T], b)
            assert not a[4 * r:4 * r + 4, T:].any()
    # the shares: four rows each, together the pooled batch, cut to their longest row, and
    # their costs no further apart than the processes' own batches
    rows: list[int] = []
    expected = balanced_split(lengths_for(task, pooled.mask), 2,
                              lambda share: share_cost(share, 16))
    for r in range(2):
        share = Batch(*ranks[r]["batch"])
        assert share.inputs.shape[0] == 4
        share_lengths = lengths_for(task, share.mask)
        assert share.inputs.shape[1] == max(share_lengths)
        for i in range(4):
            match = [b for b in range(8) if torch.equal(
                pooled.inputs[b, :share.inputs.shape[1]], share.inputs[i])
                and torch.equal(pooled.mask[b, :share.inputs.shape[1]], share.mask[i])]
            assert match
            rows.append(match[0])
        assert sorted(rows[4 * r:]) == expected[r]  # rank r runs share r of the best split
    assert sorted(rows) == list(range(8))
    costs = [share_cost(lengths_for(task, Batch(*ranks[r]["batch"]).mask), 16) for r in range(2)]
    before = [share_cost(lengths[r], 16) for r in range(2)]
    assert max(costs) <= max(before)
    # DDP's averaged gradient is the gradient of the mean loss over all eight episodes, each
    # run in its share (with a fitted memory a row's memory size follows its share's rows)
    model = _model()
    net = TrimmedNet(model)
    for r in range(2):
        share = Batch(*ranks[r]["batch"])
        logits = net(share.inputs, lengths_for(task, share.mask), None, 16)
        (task.loss(logits, share) / 2).backward()
    for r in range(2):
        for p, g in zip(model.parameters(), ranks[r]["grads"], strict=True):
            assert torch.allclose(p.grad, g, rtol=1e-9, atol=1e-12)
