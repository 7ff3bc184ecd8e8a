"""Short training runs, one process against two: where ``--processes auto`` switches.

    python -m benchmarks.auto_processes [--tasks traversal,shortest_path,inference]
        [--steps 30,50,100] [--out benchmarks/results/auto-processes]

Runs the whole ``dncqa train`` command (the recipe of ``benchmarks.train_throughput`` on the
final lesson, a final evaluation of 64 episodes) for each task and step count, with
``--processes 1`` (one process, every core as a thread) and ``--processes 2`` (two DDP
processes of one thread), one after the other, and reports episodes per second of training
(what the command's JSON says) and of the whole command's wall time (start-up and the final
evaluation included). Two processes train twice the episodes per step, so they pass one
process on wall time once the run repays their longer start-up. A table is printed and
written with the JSON to ``--out``. Timings are for reading, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.train_throughput import RECIPE

TASKS = ("traversal", "shortest_path", "inference")


def run(task: str, steps: int, processes: int) -> dict:
    """One ``dncqa train`` command: its JSON summary and wall time."""
    out = Path(tempfile.mkdtemp(prefix="auto-processes-"))
    command = [sys.executable, "-m", "dnc_qa", "train", "--task", task, *RECIPE,
               "--steps", str(steps), "--processes", str(processes), "--final-eval-episodes",
               "64", "--no-progress", "--json", "--out", str(out / "run")]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        wall = time.perf_counter() - start
        shutil.rmtree(out, ignore_errors=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"task": task, "steps": steps, "processes": processes,
            "episodes": summary["episodes"], "train_s": summary["elapsed_s"], "wall_s": wall,
            "train_episodes_per_s": summary["episodes"] / max(summary["elapsed_s"], 1e-9),
            "wall_episodes_per_s": summary["episodes"] / wall}


def table(rows: list[dict]) -> str:
    lines = ["| task | steps | processes | episodes | train eps/s | wall s | wall eps/s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['steps']} | {r['processes']} | {r['episodes']} | "
                     f"{r['train_episodes_per_s']:.1f} | {r['wall_s']:.1f} | "
                     f"{r['wall_episodes_per_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--steps", default="30,50,100")
    parser.add_argument("--out", default="benchmarks/results/auto-processes")
    args = parser.parse_args(argv)
    rows = []
    for task in args.tasks.split(","):
        for steps in (int(s) for s in args.steps.split(",")):
            for processes in (1, 2):
                rows.append(run(task, steps, processes))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "auto_processes.md").write_text(text + "\n", encoding="utf-8")
    (out / "auto_processes.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n",
                                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
