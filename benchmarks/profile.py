"""Where a train step's time goes: ``python -m benchmarks.profile [--cells 128] [--impl ours]``.

Runs a few warm-up steps, then one train step under ``torch.profiler`` and prints the top
operators by self CPU time (and, on CUDA, by device time).
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.impls import IMPLS, Config


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("--impl", default="ours", choices=sorted(IMPLS))
    p.add_argument("--cells", type=int, default=128)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--infer", action="store_true", help="profile an inference step instead")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    cfg = Config(f"N{args.cells}", batch=args.batch, steps=args.steps, cells=args.cells)
    adapter = IMPLS[args.impl](cfg, device)
    step = adapter.infer_step if args.infer else adapter.train_step
    for _ in range(3):
        step()
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        step()
    averages = prof.key_averages()
    if device.type == "cuda":
        for key in ("self_device_time_total", "self_cuda_time_total"):
            try:
                print(averages.table(sort_by=key, row_limit=args.top))
                break
            except (AttributeError, KeyError, ValueError):
                continue
    print(averages.table(sort_by="self_cpu_time_total", row_limit=args.top))


if __name__ == "__main__":
    main()
