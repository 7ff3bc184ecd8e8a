"""dnc_qa.models.trimmed: a padded batch run only as far as each row's last answer step."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.models import DNC, NTM, LSTMBaseline, trimmed
from dnc_qa.models.trimmed import (
    CALL_COST,
    TrimmedNet,
    answer_lengths,
    lengths_for,
    memory_groups,
    plan_cuts,
    run_by_length,
    run_fitted,
    run_trimmed,
)

f64 = torch.float64


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "dnc":  # feed-forward: the C++ sequence path
        return DNC(5, 4, hidden_size=6, num_cells=7, cell_width=3, num_reads=2,
                   controller="feedforward", masking=True).to(f64)
    if kind == "dnc-lstm":
        return DNC(5, 4, hidden_size=6, num_cells=7, cell_width=3, num_reads=2).to(f64)
    if kind == "ntm":
        return NTM(5, 4, hidden_size=6, num_cells=7, cell_width=3).to(f64)
    return LSTMBaseline(5, 4, hidden_size=6).to(f64)


def test_answer_lengths_end_at_each_rows_last_answer():
    mask = torch.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0.5], [1, 0, 1, 0, 0], [0] * 5],
                        dtype=torch.float32)
    assert answer_lengths(mask) == [2, 5, 3, 1]


@pytest.mark.parametrize("kind", ["dnc", "dnc-lstm", "ntm", "lstm"])
@pytest.mark.parametrize(("call_cost", "passes"), [
    (0, [(5, 3), (4, 3), (2, 5)]),  # a cut at every distinct length
    (CALL_COST, [(5, 6), (2, 5)]),  # length 3 runs on to 6: cheaper than one more pass
])
def test_each_rows_own_steps_equal_the_full_pass(kind, call_cost, passes, monkeypatch):
    """Lengths 6, 11, 3, 11, 6: the logits of every row's own steps and the gradients of a
    loss on them equal those of the one padded pass; after a row's length the logits are 0
    (also where a row ran on past its end to the pass's cut); the passes are the cuts'."""
    monkeypatch.setattr(trimmed.run_by_length, "__defaults__", (False, call_cost))
    model = _model(kind)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, 11, 5, generator=gen, dtype=f64)
    lengths = [6, 11, 3, 11, 6]
    keep = torch.arange(11)[None, :] < torch.tensor(lengths)[:, None]  # [B, T]
    w = torch.randn(5, 11, 4, generator=gen, dtype=f64) * keep[..., None]
    full, _ = model(x)
    want = torch.autograd.grad((full * w).sum(), list(model.parameters()))
    calls = []
    handle = model.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape[:2])))
    out = run_trimmed(model, x, lengths)
    handle.remove()
    assert calls == passes
    torch.testing.assert_close(out[keep], full[keep], rtol=0, atol=1e-12)
    assert torch.count_nonzero(out[~keep]) == 0
    got = torch.autograd.grad((out * w).sum(), list(model.parameters()))
    for g, a in zip(got, want, strict=True):
        torch.testing.assert_close(g, a, rtol=1e-9, atol=1e-12)


def test_a_given_state_and_equal_lengths():
    """From a given start state; rows all of full length take one plain call."""
    model = _model("dnc")
    x = torch.randn(3, 4, 5, dtype=f64)
    start = model.initial_state(3, dtype=f64, num_cells=9)
    full, _ = model(x, start)
    torch.testing.assert_close(run_trimmed(model, x, [4, 4, 4], start), full, rtol=0, atol=0)
    out = TrimmedNet(model)(x, [2, 4, 1], start)
    torch.testing.assert_close(out[1], full[1], rtol=0, atol=1e-12)
    torch.testing.assert_close(out[0, :2], full[0, :2], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="one length"):
        run_trimmed(model, x, [0, 4, 4])


def test_only_tasks_that_read_answers_alone_are_trimmed():
    from dnc_qa.tasks.copy import CopyTask
    from dnc_qa.tasks.traversal import TraversalTask

    mask = torch.tensor([[0, 1, 0, 0], [0, 0, 1, 1]], dtype=torch.float32)
    assert lengths_for(TraversalTask(), mask) == [2, 4]
    assert lengths_for(CopyTask(), mask) is None


def _plan_cost(lengths: list[int], cuts: list[int], call_cost: float) -> float:
    start, cost = 0, 0.0
    for end in cuts:
        cost += call_cost + sum(1 for n in lengths if n > start) * (end - start)
        start = end
    return cost


@pytest.mark.parametrize("call_cost", [0, 1, 4, CALL_COST, 25, 1000])
def test_plan_cuts_is_the_cheapest_plan(call_cost):
    """Against every subset of the distinct lengths (the longest always a cut): no plan
    costs less, and each plan ends with the longest length; cost 0 cuts at every length."""
    import itertools
    import random

    rng = random.Random(call_cost)
    for _ in range(30):
        lengths = [rng.randint(1, 40) for _ in range(rng.randint(1, 7))]
        distinct = sorted(set(lengths))
        cuts = plan_cuts(lengths, call_cost)
        assert cuts == sorted(cuts) and cuts[-1] == max(lengths) and set(cuts) <= set(distinct)
        cheapest = min(
            _plan_cost(lengths, [*subset, distinct[-1]], call_cost)
            for k in range(len(distinct))
            for subset in itertools.combinations(distinct[:-1], k))
        assert _plan_cost(lengths, cuts, call_cost) == pytest.approx(cheapest)
        if call_cost == 0:
            assert cuts == distinct


def test_final_states_are_read_at_each_rows_own_end():
    """With final states, every row's state is the one after its own last step (a cut at
    every length whatever the call cost): equal to running that row alone."""
    model = _model("dnc")
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 9, 5, generator=gen, dtype=f64)
    lengths = [9, 3, 4, 9]
    start = model.initial_state(4, dtype=f64, num_cells=7)
    _, states = run_by_length(model, x, lengths, start, final_states=True, call_cost=1000)
    for b, n in enumerate(lengths):
        _, alone = model(x[b : b + 1, :n], model.initial_state(1, dtype=f64, num_cells=7))
        torch.testing.assert_close(states.memory.memory[b], alone.memory.memory[0],
                                   rtol=0, atol=1e-12)


def _groups_cost(lengths: list[int], groups: list[list[int]], minimum: int) -> float:
    """The cost model of memory_groups, written out per group."""
    total = 0.0
    for g in groups:
        cells = max(minimum, *(lengths[b] for b in g))
        per_step = (trimmed.ROW_STEP_COST + trimmed.CELL_PAIR_COST * cells * cells
                    + trimmed.SMALL_GROUP_COST.get(len(g), 0.0))
        total += trimmed.GROUP_COST + per_step * sum(lengths[b] for b in g)
    return total


@pytest.mark.parametrize("group_cost", [0.0, 800.0, trimmed.GROUP_COST, 1e9])
def test_memory_groups_is_the_cheapest_split(group_cost, monkeypatch):
    """The groups partition the rows into runs of the rows in order of length (ties in their
    order); against every such split, none costs less, and a tie keeps fewer groups."""
    import itertools
    import random

    monkeypatch.setattr(trimmed, "GROUP_COST", group_cost)
    rng = random.Random(int(group_cost) % 1000)
    for _ in range(40):
        lengths = [rng.choice([rng.randint(1, 250), 60]) for _ in range(rng.randint(1, 8))]
        minimum = rng.choice([1, 16, 100])
        groups = memory_groups(lengths, minimum)
        order = sorted(range(len(lengths)), key=lambda b: lengths[b])
        assert [b for g in groups for b in g] == order
        splits = [[order[i:j] for i, j in zip((0, *cut), (*cut, len(order)), strict=True)]
                  for k in range(len(order))
                  for cut in itertools.combinations(range(1, len(order)), k)]
        cheapest = min(_groups_cost(lengths, split, minimum) for split in splits)
        cost = _groups_cost(lengths, groups, minimum)
        assert cost == pytest.approx(cheapest)
        fewest = min(len(split) for split in splits
                     if _groups_cost(lengths, split, minimum) == pytest.approx(cheapest))
        assert len(groups) == fewest
        if group_cost == 1e9:
            assert len(groups) == 1


def test_memory_groups_on_final_lesson_lengths():
    """Wide lengths (traversal's 41-205 steps) split; narrow ones (inference's 84-122) do
    not, and equal lengths never do."""
    assert len(memory_groups([41, 205, 120, 60, 180, 50, 190, 70], 16)) > 1
    assert len(memory_groups([103, 110, 95, 112, 99, 108, 101, 106], 16)) == 1
    assert memory_groups([30] * 6, 16) == [list(range(6))]


@pytest.mark.parametrize("kind", ["dnc", "dnc-lstm", "ntm"])
def test_fitted_rows_equal_each_row_alone_with_its_groups_memory(kind, monkeypatch):
    """Each row's logits (and the gradients of their sum) are the row's own run from a fresh
    memory of its group's size, zero after its length; groups of different sizes are made."""
    monkeypatch.setattr(trimmed, "GROUP_COST", 0.0)
    monkeypatch.setattr(trimmed, "SMALL_GROUP_COST", {})
    model = _model(kind)
    gen = torch.Generator().manual_seed(5)
    lengths = [3, 30, 9, 28, 4, 17]
    x = torch.randn(6, 31, 5, generator=gen, dtype=f64)
    minimum = 5
    groups = memory_groups(lengths, minimum)
    sizes = {max(minimum, *(lengths[b] for b in g)) for g in groups}
    assert len(sizes) > 1
    out = run_fitted(model, x, lengths, minimum)
    out.sum().backward()
    fitted = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    for g in groups:
        cells = max(minimum, *(lengths[b] for b in g))
        for b in g:
            alone, _ = model(x[b : b + 1, : lengths[b]],
                             model.initial_state(1, dtype=f64, num_cells=cells))
            torch.testing.assert_close(out[b, : lengths[b]], alone[0], rtol=0, atol=1e-12)
            assert not out[b, lengths[b]:].any()
            alone.sum().backward()
    for got, want in zip(fitted, (p.grad for p in model.parameters()), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_one_group_is_the_batch_with_a_memory_of_its_longest_row(monkeypatch):
    monkeypatch.setattr(trimmed, "GROUP_COST", 1e9)
    model = _model("dnc")
    x = torch.randn(4, 12, 5, generator=torch.Generator().manual_seed(6), dtype=f64)
    lengths = [4, 10, 7, 10]
    want = run_trimmed(model, x[:, :10], lengths, model.initial_state(4, dtype=f64,
                                                                      num_cells=10))
    got = run_fitted(model, x, lengths, 3)
    torch.testing.assert_close(got[:, :10], want, rtol=0, atol=1e-12)
    assert not got[:, 10:].any()
    with pytest.raises(ValueError):
        run_fitted(model, x, [4, 13, 7, 10], 3)


def test_trimmed_net_fits_memories_only_with_lengths_and_a_minimum(monkeypatch):
    calls = []
    monkeypatch.setattr(trimmed, "run_fitted", lambda *a: calls.append(a) or "fitted")
    net = TrimmedNet(_model("dnc"))
    x = torch.randn(2, 4, 5, dtype=f64)
    assert net(x, [2, 4], None, 7) == "fitted" and calls[0][2:] == ([2, 4], 7)
    assert net(x, None, None, 7).shape == (2, 4, 4) and len(calls) == 1
