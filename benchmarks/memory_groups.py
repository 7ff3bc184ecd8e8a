"""What fitted memories per group of rows save, and the costs the grouping is chosen by.

    python -m benchmarks.memory_groups [--batches 40] [--reps 5] [--out benchmarks/results]

1. **Cost per row-step.** The graph recipe's DNC (feed-forward, hidden 128, W 64, R 3,
   masking; input 92, output 90) forward and backward, one thread, for sequences of T steps
   from a memory of N cells (T = 60 and 120, N from T to 190) and, at T = N = 120, batches
   of 1, 2, 4 and 8 rows: the median of ``--reps`` passes, in microseconds per row-step.
   These are what ``dnc_qa.models.trimmed``'s cost model (``ROW_STEP_COST``,
   ``CELL_PAIR_COST``, ``SMALL_GROUP_COST``) is read from.
2. **The training step.** The trainer of ``benchmarks.train_throughput``'s recipe at the
   final lesson of traversal and inference, one thread: ``--batches`` batches of 8 drawn once,
   each trained on with one memory per batch (sized to its longest episode) and with the
   memories per group of rows (``run_fitted``), alternately, so both see the same batches.
   Reports the mean milliseconds per step of each, their ratio and the groups per batch.

Prints both tables and writes ``memory_groups.json`` to ``--out``. Timings are for
reading, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
CELLS = ((60, 60), (60, 120), (60, 190), (120, 120), (120, 150), (120, 190))  # (T, N)
BATCHES = (1, 2, 4, 8)  # at T = N = 120


def row_step_costs(reps: int) -> list[dict]:
    """Microseconds per row-step of the recipe's DNC, forward and backward, per (B, T, N)."""
    from dnc_qa.models import DNC

    torch.manual_seed(0)
    model = DNC(92, 90, hidden_size=128, num_cells=16, cell_width=64, num_reads=3,
                controller="feedforward", masking=True)
    cases = [(8, T, N) for T, N in CELLS] + [(B, 120, 120) for B in BATCHES if B != 8]
    rows = []
    for B, T, N in cases:
        x = torch.rand(B, T, 92, generator=torch.Generator().manual_seed(0))

        def step(B=B, N=N, x=x) -> None:
            y, _ = model(x, model.initial_state(B, num_cells=N))
            y.sum().backward()

        step()  # warm-up
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        rows.append({"B": B, "T": T, "N": N,
                     "us_per_row_step": statistics.median(times) / (B * T) * 1e6})
    return rows


def training_steps(task: str, batches: int) -> dict:
    """Mean ms per training step on the same batches, one memory per batch against groups."""
    from benchmarks.train_throughput import recipe_config
    from dnc_qa.models import trimmed
    from dnc_qa.train import trainer as trainer_module

    trainer = trainer_module.Trainer(recipe_config(task, 1000),
                                     Path(tempfile.mkdtemp(prefix="memory-groups-")) / "run",
                                     show_progress=False)
    drawn = [trainer.curriculum.sample(8, trainer.generator) for _ in range(batches)]
    current = drawn[0]
    trainer.curriculum.sample = lambda n, generator: current  # type: ignore[method-assign]
    grouped = trimmed.GROUP_COST
    costs = {"one memory": float("inf"), "groups": grouped}
    times: dict[str, list[float]] = {name: [] for name in costs}
    groups = []
    try:
        for k, batch in enumerate([drawn[0], *drawn]):  # the first one warms up
            current = batch
            lengths = trimmed.answer_lengths(batch.mask)
            groups.append(len(trimmed.memory_groups(lengths, 16)))
            for name, cost in costs.items():
                trimmed.GROUP_COST = cost
                start = time.perf_counter()
                trainer._train_step()
                if k:
                    times[name].append(time.perf_counter() - start)
    finally:
        trimmed.GROUP_COST = grouped
    ms = {name: statistics.mean(t) * 1e3 for name, t in times.items()}
    return {"task": task, "batches": batches, "one_memory_ms": ms["one memory"],
            "groups_ms": ms["groups"], "speedup": ms["one memory"] / ms["groups"],
            "groups_per_batch": statistics.mean(groups[1:])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tasks", default="traversal,inference")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if args.batches < 1 or args.reps < 1:
        parser.error("--batches and --reps must be at least 1")
    torch.set_num_threads(1)
    costs = row_step_costs(args.reps)
    print("recipe DNC forward and backward, one thread")
    print("| B | T | N | µs per row-step |")
    print("|---|---|---|---|")
    for r in costs:
        print(f"| {r['B']} | {r['T']} | {r['N']} | {r['us_per_row_step']:.1f} |")
    steps = [training_steps(t.strip(), args.batches) for t in args.tasks.split(",") if t.strip()]
    print("\ntraining step at the final lesson, the same batches, one thread")
    print("| task | one memory per batch, ms | memories per group, ms | × | groups per batch |")
    print("|---|---|---|---|---|")
    for r in steps:
        print(f"| {r['task']} | {r['one_memory_ms']:.1f} | {r['groups_ms']:.1f} | "
              f"{r['speedup']:.2f} | {r['groups_per_batch']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"torch": torch.__version__, "python": platform.python_version(),
              "machine": platform.platform(), "reps": args.reps, "row_step_costs": costs,
              "training_steps": steps}
    (args.out / "memory_groups.json").write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
