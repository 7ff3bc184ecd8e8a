"""What the shares of equal cost save under DDP, without DDP's noise.

    python -m benchmarks.balance [--tasks traversal,inference] [--batches 40] [--processes 2]
        [--out benchmarks/results/balance]

Under DDP every step waits for the slowest process. For the graph recipe of
``benchmarks.train_throughput`` at each task's final lesson, this draws pooled batches of
``processes × 4`` episodes and times, on one thread, the forward and backward pass of each
process's share two ways: the processes' own batches (rows ``4k .. 4k+3``) and the shares of
:func:`dnc_qa.train.balance.balanced_split`. A step waits for the costliest share, so the
table compares the mean over batches of the slowest share's time (and of its cost by the
cost model), and the mean share's, the floor that perfect balance would reach. Both ways run
on the same batches, alternated.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.train_throughput import recipe_config
from dnc_qa.models.trimmed import lengths_for
from dnc_qa.tasks.base import Batch
from dnc_qa.train.balance import balanced_split, share_cost
from dnc_qa.train.trainer import Trainer

ROWS = 4
"""Each process's rows (the recipe's batch of 8 over two processes)."""


def time_share(trainer: Trainer, batch: Batch, rows: list[int], min_cells: int | None
               ) -> tuple[float, float]:
    """Forward and backward of ``rows`` of ``batch``: (seconds, cost by the cost model)."""
    task = trainer.curriculum.task
    index = torch.tensor(rows)
    share = Batch(*(t.index_select(0, index) for t in batch))
    lengths = lengths_for(task, share.mask)
    start = time.perf_counter()
    logits = trainer.net(share.inputs, lengths, None, min_cells)
    task.loss(logits, share).backward()
    seconds = time.perf_counter() - start
    trainer.optimizer.zero_grad(set_to_none=True)
    return seconds, share_cost(lengths, min_cells)


def measure(task: str, batches: int, processes: int, seed: int = 5) -> dict:
    """The mean slowest and mean share, own batches against balanced shares, for ``task``."""
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(recipe_config(task, 10), Path(out), show_progress=False)
        lesson = trainer.curriculum.task
        min_cells = trainer._fitted_cells(0)
        generator = torch.Generator().manual_seed(seed)
        own_parts = [list(range(k * ROWS, (k + 1) * ROWS)) for k in range(processes)]
        result: dict[str, list[float]] = {k: [] for k in (
            "own_slowest_ms", "balanced_slowest_ms", "mean_share_ms", "own_slowest_cost",
            "balanced_slowest_cost")}
        for i in range(batches + 3):  # the first three warm up
            batch = trainer.curriculum.sample(ROWS * processes, generator)
            lengths = lengths_for(lesson, batch.mask)
            shares = balanced_split(lengths, processes, lambda s: share_cost(s, min_cells))
            own = [time_share(trainer, batch, rows, min_cells) for rows in own_parts]
            balanced = [time_share(trainer, batch, rows, min_cells) for rows in shares]
            if i < 3:
                continue
            result["own_slowest_ms"].append(1e3 * max(t for t, _ in own))
            result["balanced_slowest_ms"].append(1e3 * max(t for t, _ in balanced))
            result["mean_share_ms"].append(1e3 * statistics.mean(t for t, _ in own + balanced))
            result["own_slowest_cost"].append(max(c for _, c in own))
            result["balanced_slowest_cost"].append(max(c for _, c in balanced))
        trainer.close()
    means = {k: statistics.mean(v) for k, v in result.items()}
    means["saving"] = 1 - means["balanced_slowest_ms"] / means["own_slowest_ms"]
    means["model_saving"] = 1 - means["balanced_slowest_cost"] / means["own_slowest_cost"]
    return {"task": task, "batches": batches, "processes": processes, **means}


def table(rows: list[dict]) -> str:
    head = ["task", "own batches: slowest (ms)", "balanced: slowest (ms)", "mean share (ms)",
            "saved", "saved by the cost model"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| {r['task']} | {r['own_slowest_ms']:.1f} | {r['balanced_slowest_ms']:.1f}"
                     f" | {r['mean_share_ms']:.1f} | {100 * r['saving']:.1f} % "
                     f"| {100 * r['model_saving']:.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="traversal,inference")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/balance")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [measure(t.strip(), args.batches, args.processes)
            for t in args.tasks.split(",") if t.strip()]
    text = table(rows)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "balance.json").write_text(json.dumps(
        {"rows": rows, "machine": platform.platform(), "threads": 1}, indent=1) + "\n")
    (out / "balance.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
