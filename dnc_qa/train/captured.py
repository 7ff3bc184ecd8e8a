"""The training step of ``dncqa train`` captured as CUDA graphs (on a GPU).

On CUDA a memory network's timestep is ~100-150 small kernels, so a batch of a few hundred
steps is tens of thousands of launches whose arithmetic takes microseconds each: the GPU
waits on the host (``docs/benchmarks.md``). :class:`CapturedTrainStep` records one batch's
forward pass, loss, backward pass and gradient clipping once per batch shape and replays
them with one launch; the optimiser step then runs eagerly (a few fused kernels) once the
host has read the step's finiteness flag, which the graph computes on the device.

Fixed shapes: each batch's time axis is zero-padded (inputs, targets and mask all zero) up
to a multiple of ``pad_to`` steps, so the episodes of a lesson share a handful of shapes and
so of captures (at most ``max_captures`` are kept; a shape beyond them drops them all, as a
new lesson does).
The loss and the score read only masked steps and the models are causal, so padding changes
no answer; a memory sized to the episodes (``fit_cells``) is sized to the padded length.

What is not captured (the trainer trains eagerly and says why): a CPU device, DDP, bfloat16
autocast, and the rollout tasks (shortest path), whose model acts between its steps. A
capture that fails (an operation that cannot be captured, out of memory) falls back to
eager training with a note (see :class:`~dnc_qa.train.trainer.Trainer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dnc_qa.tasks.base import Batch, Task

PAD_TO = 32
"""Batches are padded to a multiple of this many steps."""

MAX_CAPTURES = 8
"""Captured shapes kept at once (each holds its own activation memory)."""


def _clear_cublas_workspaces() -> None:
    """Free cuBLAS's per-stream workspaces, so the next capture allocates its own (as
    PyTorch's own CUDA-graph trees do around each capture)."""
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if clear is not None:
        clear()


class CaptureFailed(Exception):
    """The step could not be captured (or replayed) as a CUDA graph."""


def padded_length(steps: int, pad_to: int = PAD_TO) -> int:
    """``steps`` rounded up to a multiple of ``pad_to``."""
    return -(-steps // pad_to) * pad_to


def pad_batch(batch: Batch, length: int) -> Batch:
    """``batch`` with its time axis zero-padded to ``length`` steps (inputs, targets and
    mask: padded steps are never scored)."""
    extra = length - batch.inputs.shape[1]
    if extra < 0:
        raise ValueError(f"cannot pad {batch.inputs.shape[1]} steps to {length}")
    if extra == 0:
        return batch
    return Batch(*(torch.nn.functional.pad(t, (0, 0, 0, extra) if t.dim() == 3 else (0, extra))
                   for t in batch))


@dataclass
class CapturedResult:
    """What one replay leaves (static tensors, overwritten by the next replay of the same
    capture): the logits ``[B, T_padded, out]``, the loss, and whether loss and gradient norm
    were finite; ``batch`` is the padded batch the logits answer."""

    logits: Tensor
    loss: Tensor
    finite: Tensor
    batch: Batch


@dataclass
class _Capture:
    graph: torch.cuda.CUDAGraph  # (anything with replay())
    batch: Batch  # static inputs
    logits: Tensor
    loss: Tensor
    finite: Tensor
    grads: list[Tensor | None]  # the gradients this graph writes
    task: Task  # whose loss the graph computes (kept alive: the key holds its id)


class CapturedTrainStep:
    """``step = CapturedTrainStep(model, clip_norm)``, then ``step(batch, task, cells)``:
    forward, ``task.loss``, backward and clipping of ``batch`` as one replay.

    ``cells``: a function of the padded length giving the memory size (``None``: the
    model's own). After a call the model's parameters' ``.grad`` are the gradients of that
    batch (clipped), ready for ``optimizer.step()``; they are the graph's own tensors, so
    ``zero_grad(set_to_none=True)`` afterwards is fine (the next replay writes them again).
    """

    def __init__(self, model: nn.Module, clip_norm: float | None, pad_to: int = PAD_TO,
                 max_captures: int = MAX_CAPTURES, warmup: int = 3) -> None:
        self.model = model
        self.params = list(model.parameters())
        self.clip_norm = float("inf") if clip_norm is None else clip_norm
        self.pad_to = pad_to
        self.max_captures = max_captures
        self.warmup = warmup
        self.captures: dict[tuple, _Capture] = {}

    def __call__(self, batch: Batch, task: Task,
                 cells: Callable[[int], int | None] | None = None) -> CapturedResult:
        padded = pad_batch(batch, padded_length(batch.inputs.shape[1], self.pad_to))
        num_cells = cells(padded.inputs.shape[1]) if cells is not None else None
        key = (id(task), tuple(padded.inputs.shape), tuple(padded.targets.shape), num_cells)
        capture = self.captures.get(key)
        try:
            if capture is None:
                if len(self.captures) >= self.max_captures:
                    self.clear()  # (a new lesson, usually): all at once, see clear()
                capture = self._capture(padded, task, num_cells)
                self.captures[key] = capture
            for static, value in zip(capture.batch, padded, strict=True):
                static.copy_(value)
            capture.graph.replay()
        except RuntimeError as exc:  # an operation that cannot be captured, out of memory
            cause = exc.__context__ if "previous error" in str(exc) and exc.__context__ else exc
            lines = str(cause).splitlines() or [type(cause).__name__]
            raise CaptureFailed(lines[0]) from exc
        for p, g in zip(self.params, capture.grads, strict=True):
            p.grad = g
        return CapturedResult(capture.logits, capture.loss, capture.finite, capture.batch)

    def clear(self) -> None:
        """Drop every capture. Graphs are dropped together, never one by one: captures share
        cuBLAS's workspace on the capture stream, which the first capture allocates in its own
        pool, so freeing one graph could leave the others pointing at freed memory."""
        if not self.captures:
            return
        if torch.cuda.is_initialized():
            torch.cuda.synchronize()
        for p in self.params:
            p.grad = None
        self.captures.clear()
        if torch.cuda.is_initialized():
            _clear_cublas_workspaces()
            torch.cuda.empty_cache()

    def _step(self, batch: Batch, task: Task, num_cells: int | None
              ) -> tuple[Tensor, Tensor, Tensor]:
        state = None
        if num_cells is not None:
            state = self.model.initial_state(batch.inputs.shape[0], device=batch.inputs.device,
                                             num_cells=num_cells)
        logits, _ = self.model(batch.inputs, state)
        loss = task.loss(logits.float(), batch)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm)
        finite = torch.isfinite(loss) & torch.isfinite(norm)
        return logits.detach(), loss.detach(), finite

    def _capture(self, example: Batch, task: Task, num_cells: int | None) -> _Capture:
        if not torch.cuda.is_available() or any(p.device.type != "cuda" for p in self.params):
            raise CaptureFailed("CUDA graphs need the model on a CUDA device")
        static = Batch(*(t.detach().clone() for t in example))
        for p in self.params:  # warm-up and capture allocate their own gradients
            p.grad = None
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):  # gradients only: the parameters do not change
                self._step(static, task, num_cells)
                for p in self.params:
                    p.grad = None
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        stream = torch.cuda.current_stream()
        _clear_cublas_workspaces()  # allocated afresh inside this graph, not shared with others
        try:
            with torch.cuda.graph(graph):
                logits, loss, finite = self._step(static, task, num_cells)
        finally:  # a capture that fails can leave the capture stream current
            torch.cuda.set_stream(stream)
            _clear_cublas_workspaces()
        return _Capture(graph, static, logits, loss, finite, [p.grad for p in self.params], task)
