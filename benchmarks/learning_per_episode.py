"""Learning per episode, this code against a baseline commit: the same runs, side by side.

    python -m benchmarks.learning_per_episode --baseline-commit REV
        [--tasks traversal,shortest_path,inference] [--steps 1500] [--seed 0]
        [--final-lesson] [--out benchmarks/results/learning-per-episode]

A speed-up is real learning speed only if the faster code learns as much per episode. For
each task this trains the recipe of :mod:`benchmarks.train_throughput` with its curriculum
(from the first lesson; an evaluation of 128 episodes every 100 steps) for ``--steps`` steps
with the same seed, once with the code at ``REV`` (a git worktree) and once with this code,
the two runs at the same time on one thread each (``--final-lesson``: on the paper's final
lesson only, whose long episodes of different lengths are where padding is). It prints, per
task, the training loss of both runs at every logged window and the step at which each
passed each lesson, and writes ``learning.json``, ``learning.md`` and ``learning.png`` (loss
and evaluation accuracy against episodes) to ``--out``. Rounding differs between the two
codes, so two runs drift apart like two seeds do; what should match is the curves' course,
not their last digits.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = ("traversal", "shortest_path", "inference")


def _throughput_module():
    """This folder's train_throughput.py, by path (a baseline's PYTHONPATH may hold another
    ``benchmarks`` package, or none)."""
    spec = importlib.util.spec_from_file_location("_train_throughput", HERE / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(task: str, steps: int, seed: int, out: str, final_lesson: bool) -> None:
    """One training run in this process (the code on ``sys.path`` decides which)."""
    import torch

    torch.set_num_threads(1)
    from dnc_qa.train import trainer as trainer_module

    config = _throughput_module().recipe_config(task, steps)
    config = replace(config, seed=seed, log_every=50,
                     curriculum=replace(config.curriculum, enabled=not final_lesson))
    trainer = trainer_module.Trainer(config, Path(out), show_progress=False)
    trainer.run()


def read_run(folder: Path) -> dict:
    """The loss windows, evaluations and lesson passes of one run's ``metrics.jsonl``."""
    train, evals, lessons = [], [], []
    for line in (folder / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("event") == "train":
            train.append((r["step"], r["loss"]))
        elif r.get("event") == "eval":
            evals.append((r["step"], r["accuracy"]))
        elif r.get("event") == "lesson":
            lessons.append((r["step"], r["lesson"]))
    return {"train": train, "eval": evals, "lessons": lessons}


def markdown(results: dict, batch: int) -> str:
    lines = []
    for task, runs in results.items():
        base, this = runs["baseline"], runs["this"]
        lines += [f"### {task}", "", "| step | episodes | loss, baseline | loss, this code |",
                  "|---|---|---|---|"]
        this_loss = dict(this["train"])
        for step, loss in base["train"]:
            other = this_loss.get(step)
            lines.append(f"| {step} | {step * batch} | {loss:.3f} | "
                         f"{'' if other is None else f'{other:.3f}'} |")
        for name in ("baseline", "this"):
            passed = ", ".join(f"lesson {lesson} at step {s}"
                               for s, lesson in runs[name]["lessons"])
            lines.append(f"\n{name}: {passed or 'no lesson passed'}")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict, batch: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(4.5 * len(results), 6), squeeze=False)
    for col, (task, runs) in enumerate(results.items()):
        for name, colour in (("baseline", "#999"), ("this", "#37c")):
            if runs[name]["train"]:
                steps, losses = zip(*runs[name]["train"], strict=True)
                axes[0][col].plot([s * batch for s in steps], losses, color=colour,
                                  label=name)
            if runs[name]["eval"]:
                steps, acc = zip(*runs[name]["eval"], strict=True)
                axes[1][col].plot([s * batch for s in steps], acc, color=colour, label=name)
        axes[0][col].set_title(task)
        axes[0][col].set_ylabel("training loss")
        axes[1][col].set_ylabel("evaluation accuracy (lesson)")
        axes[1][col].set_xlabel("episodes")
        axes[0][col].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-commit", required=False)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--final-lesson", action="store_true",
                        help="train on the paper's final lesson only (no curriculum)")
    parser.add_argument("--out", default="benchmarks/results/learning-per-episode")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.task, args.steps, args.seed, args.run_dir, args.final_lesson)
        return 0
    if not args.baseline_commit:
        parser.error("--baseline-commit is required")
    from benchmarks.train_throughput import ROOT, remove_worktree, worktree

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task: {', '.join(unknown)}")
    base_path, base_commit = worktree(args.baseline_commit)
    runs_dir = Path(tempfile.mkdtemp(prefix="learning-"))
    me = str(Path(__file__).resolve())
    results: dict = {}
    try:
        for task in tasks:
            procs = {}
            for name, code in (("baseline", base_path), ("this", str(ROOT))):
                env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                           PYTHONPATH=code)
                cmd = [sys.executable, me, "--child", "--task", task, "--steps",
                       str(args.steps), "--seed", str(args.seed), "--run-dir",
                       str(runs_dir / f"{task}-{name}")]
                if args.final_lesson:
                    cmd.append("--final-lesson")
                procs[name] = subprocess.Popen(cmd, env=env, cwd=code,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.PIPE, text=True)
            for name, proc in procs.items():
                _, err = proc.communicate()
                if proc.returncode != 0:
                    raise SystemExit(f"{task} ({name}) failed: {err.strip()[-500:]}")
            results[task] = {name: read_run(runs_dir / f"{task}-{name}") for name in procs}
            print(markdown({task: results[task]}, 8), flush=True)
    finally:
        remove_worktree(base_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    report = {"commit": head, "baseline_commit": base_commit, "steps": args.steps,
              "seed": args.seed, "batch": 8, "final_lesson": args.final_lesson,
              "results": results}
    (out / "learning.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "learning.md").write_text(markdown(results, 8) + "\n")
    plot(results, 8, out / "learning.png")
    return 0


if __name__ == "__main__":
    # A child runs as a script, so that a baseline's PYTHONPATH decides which dnc_qa it
    # imports; its own folder must not shadow the standard library (benchmarks/profile.py).
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != HERE]
    raise SystemExit(main())
