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
    plan_cuts,
    run_by_length,
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
