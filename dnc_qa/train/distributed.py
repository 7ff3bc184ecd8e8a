"""Data-parallel training with PyTorch's own engine (``torch.distributed`` + DDP).

Launched by ``torchrun --nproc-per-node K -m dnc_qa.train ...``: torchrun sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous variables; :func:`init_distributed` reads
them and joins the group (gloo on CPU, nccl on CUDA). Without them everything is a no-op
single process.
"""

from __future__ import annotations

import gc
import os
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import Tensor

from dnc_qa.tasks.base import MetricCounts


class DistInfo(NamedTuple):
    """This process's place in the group."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


SINGLE = DistInfo(0, 1, 0)


AUTO_MIN_MINUTES = 0.5
AUTO_MIN_STEPS = 50


def auto_processes(
    *, cuda: bool, cpus: int, threads: int | None, minutes: float | None, steps: int | None
) -> int:
    """How many DDP processes ``dncqa train --processes auto`` starts.

    Two one-thread processes train more episodes per second than one process on a two-core
    CPU for every graph task, threaded or not (``python -m benchmarks.train_throughput``:
    1.2-1.3x one process of two threads), so a CPU run uses two when the machine has two
    cores or more, ``--threads`` was not given (it pins one process), and the run is long
    enough to repay the second process's start-up of about 3 s (``--minutes`` >= 0.5 or
    ``--steps`` >= 50: from 30 steps on, two processes already finish more episodes per
    second of the whole command, start-up included, for every graph task's final lesson;
    ``python -m benchmarks.auto_processes``). Otherwise, and on CUDA, one process.
    """
    if cuda or cpus < 2 or threads is not None:
        return 1
    long_run = (minutes is not None and minutes >= AUTO_MIN_MINUTES) or (
        steps is not None and steps >= AUTO_MIN_STEPS)
    return 2 if long_run else 1


def parse_processes(text: str) -> int | None:
    """``--processes`` as given: a count >= 1, or ``None`` for ``auto``."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        from dnc_qa.errors import DncQaError

        raise DncQaError(f"--processes must be 'auto' or a count >= 1, not {text!r}")
    return value


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group torchrun set up (if any); pick the backend from ``device``."""
    if not launched_by_torchrun():
        return SINGLE
    info = DistInfo(
        int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    )
    if info.world_size <= 1:
        return SINGLE
    if not dist.is_initialized():
        # DDP imports torch.distributed.nn, whose functions take the default group as a
        # default argument: imported after the group exists, they would keep it alive past
        # shutdown (see shutdown). Imported first, they hold None.
        import torch.distributed.nn  # noqa: F401

        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def local_device(device: torch.device, info: DistInfo) -> torch.device:
    """Under DDP on CUDA each process uses the GPU of its local rank."""
    if device.type == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank)
    return device


def shutdown(wait: bool = True) -> None:
    """Leave the process group and free it. ``wait``: first wait for every other rank (after
    a normal end; a rank tearing its gloo connections down while a peer still uses them
    aborts both processes). After an error, do not wait: the peers may never arrive.

    Nothing else may still hold the group (drop DDP wrappers first): a gloo group that
    outlives the interpreter's shutdown has worker threads that free the last collectives'
    tensors after Python has stopped, and the process aborts ("terminate called without an
    active exception"). Freeing it here joins those threads while Python still runs."""
    if dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
        gc.collect()  # a group kept only by reference cycles is freed now, not at exit


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_counts(counts: MetricCounts, info: DistInfo, device: torch.device) -> MetricCounts:
    """Sum metric counts over all processes."""
    if not info.enabled:
        return counts
    t = counts.as_tensor().to(device)
    dist.all_reduce(t)
    return MetricCounts.from_tensor(t.cpu())


def any_flag(flags: list[bool], info: DistInfo, device: torch.device) -> list[bool]:
    """For each flag, whether any process raised it (so all processes decide alike)."""
    if not info.enabled:
        return flags
    t = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def gather_rng_states(state: Tensor, info: DistInfo, device: torch.device) -> Tensor:
    """Every process's generator state stacked to ``[world_size, S]`` (uint8, on the CPU)."""
    if not info.enabled:
        return state.unsqueeze(0).clone()
    local = state.to(device)
    parts = [torch.empty_like(local) for _ in range(info.world_size)]
    dist.all_gather(parts, local)
    return torch.stack([p.cpu() for p in parts])
