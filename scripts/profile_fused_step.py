"""Where a training step's time goes with the fused C++ paths: time spent inside each native
kernel call, per train step, at the reference config (B=16, T=64, N=128, W=32, R=4, LSTM 256).

    python scripts/profile_fused_step.py [--threads 1] [--cells 128] [--steps 5] [--per-step]

By default the model runs the whole-sequence C++ loop (two calls per train step: the rest of
the step is the input and output layers, the loss and Adam); ``--per-step`` switches it off
(``model.memory.backend = "cpp"``) and shows the fused memory step's kernels one by one.

Wraps the kernel module's functions with timers (the kernels themselves are unchanged) and
prints ms per train step for each, beside the whole step (forward + backward + Adam).
docs/benchmarks.md ("Where the time goes now") quotes its one-thread output.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from dnc_qa.memory import link_function, native
from dnc_qa.models import DNC


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cells", type=int, default=128)
    p.add_argument("--steps", type=int, default=5, help="timed train steps (after 3 warm-up)")
    p.add_argument("--per-step", action="store_true", help="the per-step path (no C++ loop)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    kernels = native.kernels()
    if kernels is None:
        raise SystemExit("the native kernels did not build; nothing to profile")
    seconds: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def timed(name, fn):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                seconds[name] += time.perf_counter() - start
                calls[name] += 1

        return wrapper

    class Timed:
        def __getattr__(self, name):
            return timed(name, getattr(kernels, name))

    native.kernels = lambda build=True: Timed()
    tape = link_function.LinkTape
    tape.link_before = timed("link_before (recompute links)", tape.link_before)

    torch.manual_seed(0)
    model = DNC(64, 64, hidden_size=256, num_cells=args.cells, cell_width=32, num_reads=4)
    model.memory.backend = "cpp" if args.per_step else "auto"
    x = torch.randn(16, 64, 64)
    opt = torch.optim.Adam(model.parameters())

    def step():
        y, _ = model(x)
        y.pow(2).mean().backward()
        opt.step()
        opt.zero_grad()

    for _ in range(3):
        step()
    seconds.clear()
    calls.clear()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    total = (time.perf_counter() - start) / args.steps
    print(f"train step: {total * 1000:.1f} ms ({args.threads} thread(s), N={args.cells})")
    for name in sorted(seconds, key=seconds.get, reverse=True):
        per_step = seconds[name] / args.steps * 1000
        print(f"  {name:30s} {per_step:7.2f} ms/step  {calls[name] // args.steps} calls")


if __name__ == "__main__":
    main()
