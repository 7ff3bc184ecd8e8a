"""Short training runs, one process against two: where ``--processes auto`` switches.

    python -m benchmarks.auto_processes [--tasks traversal,shortest_path,inference]
        [--steps 30,50,100] [--repeats 1] [--baseline-commit REV]
        [--out benchmarks/results/auto-processes]

Runs the whole ``dncqa train`` command (the recipe of ``benchmarks.train_throughput`` on the
final lesson, a final evaluation of 64 episodes) for each task and step count, with
``--processes 1`` (one process, every core as a thread) and ``--processes 2`` (two DDP
processes of one thread), one after the other, and reports episodes per second of training
(what the command's JSON says) and of the whole command's wall time (start-up and the final
evaluation included), and the wall time the training itself does not account for (start-up,
final evaluation, exit). Two processes train twice the episodes per step, so they pass one
process on wall time once the run repays their longer start-up.

``--baseline-commit REV`` runs the code at ``REV`` too (a git worktree made for the run and
removed after), each of its commands right before the same command of this code, so both
see the same machine; ``--repeats N`` runs every command N times and reports the median by
wall time. A table is printed and written with the JSON to ``--out``. Timings are for
reading, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.train_throughput import RECIPE, median_run, remove_worktree, worktree

TASKS = ("traversal", "shortest_path", "inference")


def run(task: str, steps: int, processes: int, tree: Path | None = None,
        code: str = "now") -> dict:
    """One ``dncqa train`` command: its JSON summary and wall time (``tree``: run the code of
    that checkout, named ``code`` in the row)."""
    out = Path(tempfile.mkdtemp(prefix="auto-processes-"))
    command = [sys.executable, "-m", "dnc_qa", "train", "--task", task, *RECIPE,
               "--steps", str(steps), "--processes", str(processes), "--final-eval-episodes",
               "64", "--no-progress", "--json", "--out", str(out / "run")]
    env = None if tree is None else dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env,
                              cwd=tree)
    finally:
        wall = time.perf_counter() - start
        shutil.rmtree(out, ignore_errors=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"code": code, "task": task, "steps": steps, "processes": processes,
            "episodes": summary["episodes"], "train_s": summary["elapsed_s"], "wall_s": wall,
            "other_s": wall - summary["elapsed_s"],
            "train_episodes_per_s": summary["episodes"] / max(summary["elapsed_s"], 1e-9),
            "wall_episodes_per_s": summary["episodes"] / wall}


def median_row(runs: list[dict]) -> dict:
    """The run of median wall time (the lower middle one of an even count), with ``runs``
    (how many) and ``wall_spread`` (the shortest and longest wall time)."""
    middle, spread = median_run(runs, "wall_s")
    return {**middle, "runs": len(runs), "wall_spread": spread,
            "wall_median_s": statistics.median(r["wall_s"] for r in runs)}


def table(rows: list[dict]) -> str:
    lines = ["| code | task | steps | processes | episodes | train eps/s | wall s | "
             "not training s | wall eps/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.get('code', 'now')} | {r['task']} | {r['steps']} | "
                     f"{r['processes']} | {r['episodes']} | {r['train_episodes_per_s']:.1f} | "
                     f"{r['wall_s']:.1f} | {r['other_s']:.1f} | "
                     f"{r['wall_episodes_per_s']:.1f} |")
    return "\n".join(lines)


def baseline_tree(rev: str) -> tuple[Path, str]:
    """A worktree of ``rev`` that ``python -m dnc_qa`` runs from (its ``cli`` package is
    ``dnc_qa.cli`` through a link, as the editable install maps it); returns it and the
    commit."""
    path, commit = worktree(rev)
    (Path(path) / "dnc_qa" / "cli").symlink_to(Path("..") / "cli")
    return Path(path), commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--steps", default="30,50,100")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--out", default="benchmarks/results/auto-processes")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    trees: list[tuple[str, Path | None]] = [("now", None)]
    base_path = base_commit = None
    if args.baseline_commit:
        base_path, base_commit = baseline_tree(args.baseline_commit)
        trees.insert(0, ("baseline", base_path))
    rows = []
    try:
        for code, tree in trees:  # a first command of each builds any kernels, unmeasured
            run(TASKS[0], 1, 1, tree, code)
        for task in args.tasks.split(","):
            for steps in (int(s) for s in args.steps.split(",")):
                for processes in (1, 2):
                    runs: dict[str, list[dict]] = {code: [] for code, _ in trees}
                    for _ in range(args.repeats):
                        for code, tree in trees:
                            runs[code].append(run(task, steps, processes, tree, code))
                    for code, _ in trees:
                        rows.append(median_row(runs[code]))
                        print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        if base_path is not None:
            remove_worktree(base_path)
    text = table(rows)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "auto_processes.md").write_text(text + "\n", encoding="utf-8")
    record = {"baseline_commit": base_commit, "repeats": args.repeats, "rows": rows}
    (out / "auto_processes.json").write_text(json.dumps(record, indent=1) + "\n",
                                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
