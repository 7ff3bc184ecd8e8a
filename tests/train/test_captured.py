"""The captured training step (dnc_qa.train.captured): padding to fixed shapes, the
trainer's use of a capture and its fall-back to eager training. The replay itself needs a
GPU (the last test); on a CPU a stand-in "graph" that reruns the recorded step checks the
plumbing around it (static tensors, gradients handed to the optimiser, shapes kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import tiny_config

from dnc_qa.models import DNC
from dnc_qa.tasks.base import Batch
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.captured import (
    CapturedTrainStep,
    _Capture,
    pad_batch,
    padded_length,
)
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.config import ModelConfig
from dnc_qa.train.trainer import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def traversal_batch(seed: int = 0, size: int = 3) -> Batch:
    return TraversalTask().lessons()[1].sample(size, torch.Generator().manual_seed(seed))


def small_dnc(dtype: torch.dtype = torch.float64) -> DNC:
    torch.manual_seed(0)
    return DNC(92, 90, hidden_size=16, num_cells=12, cell_width=8, num_reads=2,
               controller="feedforward").to(dtype)


def test_padded_length_rounds_up_to_the_multiple() -> None:
    assert [padded_length(t, 32) for t in (1, 31, 32, 33, 64, 65)] == [32, 32, 32, 64, 64, 96]


def test_pad_batch_appends_zero_steps_and_keeps_the_rest() -> None:
    batch = traversal_batch()
    T = batch.inputs.shape[1]
    padded = pad_batch(batch, T + 7)
    assert padded.inputs.shape == (3, T + 7, 92) and padded.targets.shape == (3, T + 7, 90)
    assert padded.mask.shape == (3, T + 7)
    for a, b in zip(padded, batch, strict=True):
        assert torch.equal(a[:, :T], b) and not a[:, T:].any()
    assert pad_batch(batch, T) is batch
    with pytest.raises(ValueError, match="cannot pad"):
        pad_batch(batch, T - 1)


def test_padding_changes_neither_the_loss_nor_the_gradients() -> None:
    """What makes fixed shapes safe: the model is causal and padded steps are never
    scored, so the loss and every gradient of a padded batch are the batch's own."""
    task = TraversalTask().lessons()[1]
    batch = Batch(*(t.double() for t in traversal_batch()))
    model = small_dnc()
    grads = []
    for b in (batch, pad_batch(batch, padded_length(batch.inputs.shape[1], 32) + 32)):
        model.zero_grad()
        logits, _ = model(b.inputs)
        loss = task.loss(logits.double(), b)
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
        assert task.score(logits.detach(), b) == task.score(logits.detach(), b)
    (loss_a, grads_a), (loss_b, grads_b) = grads
    torch.testing.assert_close(loss_b.double(), loss_a.double(), rtol=1e-6, atol=0)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-12)


class ReplayedEagerly:
    """A stand-in for ``torch.cuda.CUDAGraph``: replay reruns the recorded step and writes
    its outputs into the capture's static tensors, as a replay would."""

    def __init__(self, step) -> None:
        self.step = step
        self.replays = 0

    def replay(self) -> None:
        self.replays += 1
        self.step()


class EagerCaptures(CapturedTrainStep):
    """:class:`CapturedTrainStep` with :class:`ReplayedEagerly` for the graphs (CPU)."""

    def _capture(self, example, task, num_cells):
        static = Batch(*(t.detach().clone() for t in example))
        for p in self.params:
            p.grad = None
        logits, loss, finite = self._step(static, task, num_cells)
        capture = _Capture(None, static, logits.detach(), loss, finite,  # type: ignore[arg-type]
                           [p.grad for p in self.params], task)

        def replay() -> None:  # a replay writes the capture's tensors, not p.grad
            before = [p.grad for p in self.params]
            for p in self.params:
                p.grad = None
            new_logits, new_loss, new_finite = self._step(static, task, num_cells)
            capture.logits.copy_(new_logits.detach())
            capture.loss.copy_(new_loss)
            capture.finite.copy_(new_finite)
            for mine, p, old in zip(capture.grads, self.params, before, strict=True):
                mine.copy_(p.grad)
                p.grad = old

        capture.graph = ReplayedEagerly(replay)  # type: ignore[assignment]
        return capture


def test_captured_step_hands_each_shape_its_own_gradients() -> None:
    """Shapes replayed in turn: after each call the parameters' gradients are that batch's
    (those of a plain forward and backward), whatever ran before; shapes are reused, and a
    shape beyond ``max_captures`` drops every capture at once."""
    task = TraversalTask().lessons()[1]
    model = small_dnc()
    step = EagerCaptures(model, clip_norm=None, pad_to=16, max_captures=2)
    batches = [Batch(*(t.double() for t in traversal_batch(seed, size)))
               for seed, size in [(0, 3), (1, 2), (0, 3), (1, 2), (4, 1)]]
    seen = []
    for batch in batches:
        out = step(batch, task)
        seen.append(len(step.captures))
        got = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        logits, _ = model(batch.inputs)
        want_loss = task.loss(logits.float(), batch)
        want_loss.backward()
        torch.testing.assert_close(out.loss, want_loss.detach(), rtol=1e-6, atol=0)
        assert bool(out.finite)
        for g, p in zip(got, model.parameters(), strict=True):
            torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-12)
        model.zero_grad(set_to_none=True)
    assert seen == [1, 2, 2, 2, 1]  # two shapes, reused; the third clears both
    (capture,) = step.captures.values()
    assert capture.graph.replays == 1


def _trainer(tmp: Path, steps: int = 6) -> Trainer:
    config = tiny_config(task="traversal", steps=steps, batch_size=2, checkpoint_every=100)
    config.model = ModelConfig(kind="dnc", controller="feedforward", hidden_size=16,
                               num_cells=12, cell_width=8, num_reads=1)
    return Trainer(config, tmp, show_progress=False)


def test_trainer_uses_the_captured_step_and_falls_back_when_capture_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A run whose step is captured trains as the eager run does (the same batches, the
    same updates up to rounding); a capture that fails mid-run is noted once and the run
    goes on eagerly, that batch included."""
    eager = _trainer(tmp_path / "eager")
    eager.run()
    eager.close()

    captured = _trainer(tmp_path / "captured")
    captured.captured = EagerCaptures(captured.model, captured.config.optim.clip_norm)
    captured.run()
    assert captured.captured is not None and captured.captured.captures
    captured.close()
    for a, b in zip(eager.model.parameters(), captured.model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
    assert latest_checkpoint(tmp_path / "captured") is not None

    failing = _trainer(tmp_path / "failing")
    failing.captured = CapturedTrainStep(failing.model, None)  # on a CPU: cannot capture
    failing.run()
    failing.close()
    err = capsys.readouterr().err
    assert err.count("could not be captured as a CUDA graph") == 1
    assert "CUDA device" in err
    assert failing.captured is None and failing.state.step == 6
    for a, b in zip(eager.model.parameters(), failing.model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=0)


def test_a_cpu_run_is_never_captured(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, steps=1)
    assert trainer.captured is None
    trainer.close()


@cuda
@pytest.mark.parametrize("cells", [12, 272])  # from 256 cells the write phase is recomputed
def test_replayed_step_equals_the_eager_step_on_cuda(cells: int) -> None:
    """On a GPU: the replay's loss and gradients equal a plain forward and backward of the
    same padded batch, for several batches and shapes, across a drop of every capture."""
    task = TraversalTask().lessons()[1]
    model = small_dnc(torch.float32).cuda()
    step = CapturedTrainStep(model, clip_norm=None, pad_to=16, max_captures=2)
    fit = (lambda steps: cells) if cells > 12 else None  # noqa: E731
    for seed, size in [(0, 3), (1, 3), (2, 2), (3, 3), (4, 1), (0, 3)]:
        batch = traversal_batch(seed, size).to("cuda")
        out = step(batch, task, fit)
        got = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        padded = pad_batch(batch, padded_length(batch.inputs.shape[1], 16))
        state = model.initial_state(size, device="cuda", num_cells=cells) if fit else None
        logits, _ = model(padded.inputs, state)
        want = task.loss(logits.float(), padded)
        want.backward()
        torch.testing.assert_close(out.loss, want.detach(), rtol=1e-5, atol=1e-5)
        for g, p in zip(got, model.parameters(), strict=True):
            torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-5)
        model.zero_grad(set_to_none=True)


def test_what_keeps_a_run_from_being_captured(tmp_path: Path) -> None:
    """A rollout task (the model acts between its steps) is not captured; a task of
    batches is (what the trainer asks before it captures on a GPU)."""
    batches = _trainer(tmp_path / "t", steps=1)
    assert batches._capture_blocker() is None
    batches.close()
    config = tiny_config(task="shortest_path", steps=1, batch_size=2)
    config.model = ModelConfig(kind="dnc", controller="feedforward", hidden_size=16,
                               num_cells=12, cell_width=8, num_reads=1)
    rollouts = Trainer(config, tmp_path / "sp", show_progress=False)
    assert "rollouts" in (rollouts._capture_blocker() or "")
    rollouts.close()
