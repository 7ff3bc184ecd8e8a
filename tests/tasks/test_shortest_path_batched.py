"""The batched shortest-path rollout: every episode in a batch behaves as it would alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnc_qa.encoding.labels import encode_triple, encode_triples
from dnc_qa.graphs.lesson_tables import load_curriculum
from dnc_qa.models import DNC, NTM, LSTMBaseline
from dnc_qa.models.state import index_rows
from dnc_qa.tasks.shortest_path import ShortestPathTask, run_prefixes

CPU = torch.device("cpu")


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(3)
    if kind == "dnc":
        return DNC(input_size=92, output_size=90, hidden_size=24, num_cells=12, cell_width=6,
                   num_reads=2, controller="feedforward", masking=True).double()
    if kind == "dnc-lstm":
        return DNC(input_size=92, output_size=90, hidden_size=24, num_cells=12, cell_width=6,
                   num_reads=2).double()
    if kind == "ntm":
        return NTM(input_size=92, output_size=90, hidden_size=24, num_cells=12,
                   cell_width=6).double()
    return LSTMBaseline(input_size=92, output_size=90, hidden_size=24).double()


def test_encode_triples_matches_one_at_a_time() -> None:
    rng = np.random.default_rng(0)
    rows = [tuple(None if rng.random() < 0.3 else int(rng.integers(1000)) for _ in range(3))
            for _ in range(200)]
    want = torch.stack([encode_triple(*r) for r in rows])
    assert torch.equal(encode_triples(rows), want)


@pytest.mark.parametrize("kind", ["dnc", "dnc-lstm", "ntm", "lstm"])
@pytest.mark.parametrize("train", [True, False])
def test_batch_equals_episodes_alone(kind: str, train: bool) -> None:
    model = _model(kind)
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[6])
    problems, rngs = task.problems(7, torch.Generator().manual_seed(11))
    states = [r.bit_generator.state for r in rngs]
    total, outcomes = task.run(model, problems, rngs, CPU, train)
    grads = None
    if train:
        total.backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
    alone_total = torch.zeros((), dtype=torch.float64)
    alone = []
    for problem, state in zip(problems, states, strict=True):
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        loss, (outcome,) = task.run(model, [problem], [rng], CPU, train)
        alone_total = alone_total + loss
        alone.append(outcome)
    assert outcomes == alone
    assert abs(total.item() - alone_total.item()) < 1e-10
    if train:
        alone_total.backward()
        for g, p in zip(grads, model.parameters(), strict=True):
            torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-11)
    # the outcomes are real walks: each path starts at the source and follows legal moves
    for problem, o in zip(problems, outcomes, strict=True):
        assert o.path[0] == problem.source and len(o.path) == o.steps + 1
        for u, v in zip(o.path, o.path[1:], strict=False):
            assert problem.graph.has_edge(u, v)
        assert o.solved == (o.path[-1] == problem.goal and o.steps == o.distance)


def test_rollout_fit_cells_sizes_memory_to_the_longest_episode() -> None:
    model = _model("dnc")
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[0], fit_cells=True)
    seen = []
    original = model.initial_state

    def spy(batch_size, dtype=None, device=None, num_cells=None):
        seen.append(num_cells)
        return original(batch_size, dtype=dtype, device=device, num_cells=num_cells)

    model.initial_state = spy  # type: ignore[method-assign]
    problems, rngs = task.problems(5, torch.Generator().manual_seed(2))
    task.run(model, problems, rngs, CPU, train=False)
    want = max(p.prefix.shape[0] + p.best + task.slack for p in problems)
    assert seen and all(n == max(want, 12) for n in seen)


def test_ponder_steps_repeat_each_answer_input() -> None:
    """With ``ponder_steps = k`` every move is read out after ``1 + k`` steps on the same
    input, the last step's output chooses it, and the memory is sized for the extra steps;
    the batch still equals its episodes run alone."""
    model = _model("dnc")
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[6], fit_cells=True,
                            ponder_steps=2)
    calls: list[torch.Tensor] = []
    original = model.forward

    def spy(x, state=None):
        calls.append(x)
        return original(x, state)

    model.forward = spy  # type: ignore[method-assign]
    problems, rngs = task.problems(4, torch.Generator().manual_seed(5))
    states = [r.bit_generator.state for r in rngs]
    total, outcomes = task.run(model, problems, rngs, CPU, train=False)
    answer_calls = [x for x in calls if x.shape[1] == 3]
    assert answer_calls and len(answer_calls) == max(o.steps for o in outcomes)
    for x in answer_calls:  # the same input row three times
        assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    alone = []
    for problem, state in zip(problems, states, strict=True):
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        alone.append(task.run(model, [problem], [rng], CPU, train=False)[1][0])
    assert outcomes == alone


def test_evaluate_counts_fits_the_memory_of_rolled_out_episodes(monkeypatch) -> None:
    """``evaluate_counts(..., fit_cells=True)`` (model cards, reports) rolls shortest-path
    episodes out with the memory fitted to them, as the trainer and ``dncqa eval`` do; a
    16-cell memory cannot hold a transit map's 40-odd triples."""
    from dnc_qa.train.evaluate import evaluate_counts

    seen: list[bool] = []
    original = ShortestPathTask.rollout

    def spy(self, *args, **kwargs):
        seen.append(self.fit_cells)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ShortestPathTask, "rollout", spy)
    model = _model("dnc")
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[0])
    gen = torch.Generator().manual_seed(0)
    evaluate_counts(model, task, 4, gen, CPU, batch_size=2, fit_cells=True)
    evaluate_counts(model, task, 2, gen, CPU, batch_size=2, fit_cells=False)
    assert seen == [True, True, False]


@pytest.mark.parametrize("kind", ["dnc", "lstm"])
def test_prefixes_run_as_one_batch_cut_at_each_length(kind: str) -> None:
    """Prefixes of lengths 5, 9, 5, 3, 9, 12: one model call per distinct length, each row's
    state (and its gradient) as if it ran alone, rows in the order of the prefixes."""
    model = _model(kind)
    gen = torch.Generator().manual_seed(4)
    prefixes = [torch.randn(n, 92, generator=gen, dtype=torch.float64)
                for n in (5, 9, 5, 3, 9, 12)]
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape[:2])))
    state = run_prefixes(model, model.initial_state, prefixes, None, CPU, torch.float64)
    assert calls == [(6, 3), (5, 2), (3, 4), (1, 3)]
    params = list(model.parameters())
    weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in leaves(state)]
    loss = sum((t * w).sum() for t, w in zip(leaves(state), weights, strict=True))
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    alone_loss = torch.zeros((), dtype=torch.float64)
    for row, prefix in enumerate(prefixes):
        _, alone = model(prefix.unsqueeze(0), model.initial_state(1, dtype=torch.float64))
        mine = index_rows(state, torch.tensor([row]))
        for a, b in zip(leaves(alone), leaves(mine), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
        w_row = index_rows(type_like(state, weights), torch.tensor([row]))
        alone_loss = alone_loss + sum((a * w).sum() for a, w in
                                      zip(leaves(alone), leaves(w_row), strict=True))
    want = torch.autograd.grad(alone_loss, params, allow_unused=True)
    assert sum(g is not None for g in grads) > 0
    for g, a in zip(grads, want, strict=True):
        assert (g is None) == (a is None)
        if g is not None:
            torch.testing.assert_close(g, a, rtol=1e-9, atol=1e-11)


def leaves(state) -> list[torch.Tensor]:
    """A model state's tensors, in order."""
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for part in state for t in leaves(part)]


def type_like(state, tensors: list[torch.Tensor]):
    """``tensors`` (as :func:`leaves` lists them) in the structure of ``state``."""
    it = iter(tensors)

    def build(s):
        if isinstance(s, torch.Tensor):
            return next(it)
        return type(s)(*(build(p) for p in s)) if hasattr(s, "_fields") else type(s)(
            build(p) for p in s)

    return build(state)
