"""A whole training step (or forward pass) captured once as a CUDA graph, then replayed.

On CUDA a DNC step is ~100-150 small kernels per timestep, so a 64-step sequence is several
thousand launches whose arithmetic takes microseconds each: the GPU waits on the launches
(measured on an H200 and an H100: about 0.5 s per training step whatever the memory size,
``docs/benchmarks.md``). A CUDA graph records the kernels of one step once and replays them
with one launch. What the step needs for that, and what these classes assume:

* fixed shapes: the batch and the sequence length of the example given at construction
  (a new shape needs a new capture);
* inputs copied into static tensors before each replay (done by ``__call__``);
* an optimizer whose state lives on the GPU and is updated without host synchronisation:
  ``torch.optim.Adam(..., capturable=True)`` (or AdamW, SGD);
* no host synchronisation inside the step (no ``.item()``, no data-dependent Python
  branches): true of ``dnc_qa``'s models, which keep their per-step Python bookkeeping (the
  link tape) independent of tensor values.

Warm-up runs the step ``warmup`` times on a side stream before capturing (as CUDA graphs
require); those are real optimizer steps on the example batch. The values a replay computes
are the eager step's: the same kernels in the same order (tested on CUDA).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _check_cuda(*tensors: Tensor) -> None:
    if not torch.cuda.is_available() or any(t.device.type != "cuda" for t in tensors):
        raise ValueError("CUDA graphs need the model and its inputs on a CUDA device")


class GraphedTrainStep:
    """``step = GraphedTrainStep(model, optimizer, loss_fn, x, target)``, then
    ``loss = step(x, target)`` runs forward, backward and ``optimizer.step()`` as one replay.

    ``loss_fn(logits, target)`` gets ``model(x)[0]``; the returned ``loss`` is a static
    tensor, overwritten by the next call (clone it to keep it).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Tensor, Tensor], Tensor],
        x: Tensor,
        target: Tensor,
        warmup: int = 3,
    ) -> None:
        _check_cuda(x, target)
        self.x = x.detach().clone()
        self.target = target.detach().clone()

        def step() -> Tensor:
            loss = loss_fn(model(self.x)[0], self.target)
            loss.backward()
            optimizer.step()
            return loss

        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                optimizer.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream().wait_stream(side)
        optimizer.zero_grad(set_to_none=True)  # the gradients are allocated inside the graph
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = step()

    def __call__(self, x: Tensor, target: Tensor) -> Tensor:
        self.x.copy_(x)
        self.target.copy_(target)
        self.graph.replay()
        return self.loss


class GraphedForward:
    """``forward = GraphedForward(model, x)``, then ``logits = forward(x)``: ``model(x)[0]``
    without gradients, as one replay (the returned tensor is overwritten by the next call)."""

    def __init__(self, model: nn.Module, x: Tensor, warmup: int = 2) -> None:
        _check_cuda(x)
        self.x = x.detach().clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(warmup):
                model(self.x)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.out = model(self.x)[0]

    def __call__(self, x: Tensor) -> Tensor:
        self.x.copy_(x)
        self.graph.replay()
        return self.out
