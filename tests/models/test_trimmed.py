"""dnc_qa.models.trimmed: a padded batch run only as far as each row's last answer step."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.models import DNC, NTM, LSTMBaseline
from dnc_qa.models.trimmed import TrimmedNet, answer_lengths, lengths_for, run_trimmed

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
def test_each_rows_own_steps_equal_the_full_pass(kind):
    """Lengths 6, 11, 3, 11, 6: the logits of every row's own steps and the gradients of a
    loss on them equal those of the one padded pass; after a row's length the logits are 0;
    one model call per distinct length."""
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
    assert calls == [(5, 3), (4, 3), (2, 5)]
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
