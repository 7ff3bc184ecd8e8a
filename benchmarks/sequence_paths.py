"""The whole-sequence C++ loop against the per-step path, for the models the project trains.

    python -m benchmarks.sequence_paths [--threads 1] [--reps 9] [--out benchmarks/results]

Per model, one training step (forward, backward, Adam) with the memory backend
``cpp-sequence`` and ``cpp``, alternating, after two warm-up steps each (each run first prints
the backend ``choose_backend`` reports and why); the median CPU time of this thread
(``time.thread_time``: robust to other load on a shared machine, with one thread). Prints a
table and writes ``sequence_paths.json``. The models: the reference config
(``benchmarks.impls.Config``, LSTM controller) and the configuration the graph-task
reproductions train (feed-forward controller, masking; ``dnc_qa/reproduce/budgets.py``) at
two sizes.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from dnc_qa.models import DNC

# name: (DNC keyword arguments, batch, length, input size)
MODELS = {
    "reference (LSTM 256, N128 W32 R4)": (
        {"hidden_size": 256, "num_cells": 128, "cell_width": 32, "num_reads": 4},
        16,
        64,
        64,
    ),
    "graph task (feed-forward 128, N32 W64 R3, masking)": (
        {
            "hidden_size": 128,
            "num_cells": 32,
            "cell_width": 64,
            "num_reads": 3,
            "controller": "feedforward",
            "masking": True,
        },
        8,
        48,
        40,
    ),
    "graph task (feed-forward 128, N64 W64 R3, masking)": (
        {
            "hidden_size": 128,
            "num_cells": 64,
            "cell_width": 64,
            "num_reads": 3,
            "controller": "feedforward",
            "masking": True,
        },
        8,
        64,
        40,
    ),
}


def time_model(kwargs: dict, batch: int, length: int, inputs: int, reps: int) -> dict:
    torch.manual_seed(0)
    model = DNC(inputs, inputs, **kwargs)
    x = torch.randn(batch, length, inputs)
    opt = torch.optim.Adam(model.parameters())

    def step(sequence: bool) -> float:
        model.memory.backend = "cpp-sequence" if sequence else "cpp"
        start = time.thread_time()
        y, _ = model(x)
        y.pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        return (time.thread_time() - start) * 1e3

    for sequence in (True, False):
        model.memory.backend = "cpp-sequence" if sequence else "cpp"
        print(f"  memory backend {model.backend_for(x)}", flush=True)
    for sequence in (True, False, True, False):
        step(sequence)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(reps):
        for sequence in (True, False):
            times[sequence].append(step(sequence))
    loop, per_step = statistics.median(times[True]), statistics.median(times[False])
    return {"sequence_ms": loop, "per_step_ms": per_step, "speedup": per_step / loop}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sequence_paths")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = {}
    print("| model | C++ loop ms | per-step ms | × |\n|---|---|---|---|")
    for name, (kwargs, batch, length, inputs) in MODELS.items():
        r = time_model(kwargs, batch, length, inputs, args.reps) | {"batch": batch, "T": length}
        rows[name] = r
        print(
            f"| {name}, B{batch} T{length} | {r['sequence_ms']:.1f} | {r['per_step_ms']:.1f} | "
            f"{r['speedup']:.2f}× |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = {
        "threads": args.threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    (out / "sequence_paths.json").write_text(json.dumps(info | {"models": rows}, indent=1) + "\n")
    print(f"wrote {out / 'sequence_paths.json'} (CPU ms per training step, median)")


if __name__ == "__main__":
    main()
