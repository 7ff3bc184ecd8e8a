"""Measure what the trainer promises: the NaN/inf guard in ordinary runs, and exact resume
after ``kill -9``.

    python scripts/trainer_faults.py guard  [--seeds 20] [--steps 10000] [--tasks copy traversal]
    python scripts/trainer_faults.py resume [--runs 20] [--steps 300]
    (common: --out runs/trainer-faults --hidden-size 16 --num-cells 8 --cell-width 8)

``guard``: one ``dncqa train`` per task and seed (small models, one thread), then counts from
each run's ``metrics.jsonl``: skipped non-finite batches (``skip`` records), rollbacks
(``rollback`` records) and NaN-guard exits (the run ending with "non-finite" on stderr).
The graph task trains its first lessons (its curriculum's start) with the same budget.

``resume``: per run a step-bounded reference run, then the same run killed with SIGKILL at a
random moment (drawn from the reference run's wall time), resumed with ``--resume --steps N``
once a checkpoint exists (else started again), until it finishes (at most ``--max-kills``
kills), and the final ``model.safetensors`` compared tensor
by tensor, bit for bit, with the reference.

Runs one training process at a time. Writes ``guard.json`` / ``resume.json`` under ``--out``
and prints a summary. Not a test: it takes minutes to hours depending on the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_cmd(out: Path, task: str, seed: int, steps: int, args: argparse.Namespace,
              resume: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "dnc_qa.cli.main", "train", "--out", str(out)]
    if resume:  # the saved config, the same step budget
        return cmd + ["--resume", "--steps", str(steps), "--no-progress", "--threads", "1"]
    return cmd + [
        "--task", task, "--model", "dnc", "--seed", str(seed), "--steps", str(steps),
        "--hidden-size", str(args.hidden_size), "--num-cells", str(args.num_cells),
        "--cell-width", str(args.cell_width), "--batch-size", str(args.batch_size),
        "--checkpoint-every", str(args.checkpoint_every), "--threads", "1", "--no-progress",
        "--final-eval-episodes", "32", "--eval-episodes", "16",
    ]


def records(out: Path) -> list[dict]:
    path = out / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def guard(args: argparse.Namespace) -> dict:
    rows = []
    for task in args.tasks:
        for seed in range(args.seeds):
            out = args.out / "guard" / f"{task}-{seed}"
            if out.exists():
                import shutil

                shutil.rmtree(out)
            start = time.monotonic()
            proc = subprocess.run(train_cmd(out, task, seed, args.steps, args), cwd=ROOT,
                                  capture_output=True, text=True)
            recs = records(out)
            kinds = [r.get("kind", r.get("event", r.get("type"))) for r in recs]
            row = {"task": task, "seed": seed, "exit": proc.returncode,
                   "skipped_batches": kinds.count("skip"), "rollbacks": kinds.count("rollback"),
                   "guard_exit": proc.returncode != 0 and "non-finite" in proc.stderr,
                   "error": proc.stderr.strip().splitlines()[-1] if proc.returncode else None,
                   "wall_s": round(time.monotonic() - start, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {t: {k: sum(r[k] for r in rows if r["task"] == t)
                   for k in ("skipped_batches", "rollbacks", "guard_exit")}
               | {"runs": sum(1 for r in rows if r["task"] == t),
                  "failed": sum(1 for r in rows if r["task"] == t and r["exit"] != 0)}
               for t in args.tasks}
    return {"steps": args.steps, "seeds": args.seeds, "rows": rows, "summary": summary}


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    from dnc_qa.train.checkpoint import latest_checkpoint

    return load_file(str(latest_checkpoint(out) / "model.safetensors"))


def resume(args: argparse.Namespace) -> dict:
    import torch

    rng = random.Random(args.kill_seed)
    rows = []
    for run in range(args.runs):
        task, seed = "copy", run
        ref, cut = args.out / "resume" / f"ref-{run}", args.out / "resume" / f"cut-{run}"
        for folder in (ref, cut):
            if folder.exists():
                import shutil

                shutil.rmtree(folder)
        start = time.monotonic()
        done = subprocess.run(train_cmd(ref, task, seed, args.steps, args), cwd=ROOT,
                              capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode != 0:
            rows.append({"run": run, "error": done.stderr.strip()[-300:]})
            continue
        kills, resumed, resumes = [], False, 0
        while True:
            cmd = train_cmd(cut, task, seed, args.steps, args, resume=resumed)
            resumes += resumed
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            if len(kills) < args.max_kills:
                at = rng.uniform(0.5, max(0.6, wall * 0.9))
                try:
                    proc.wait(timeout=at)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    kills.append(round(at, 2))
                    resumed = (cut / "checkpoints" / "latest").exists()
                    continue
            else:
                proc.wait()
            if proc.returncode != 0:
                err = proc.stderr.read() if proc.stderr else ""
                rows.append({"run": run, "kills": kills, "error": err.strip()[-300:]})
                break
            a, b = _weights(ref), _weights(cut)
            same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
            rows.append({"run": run, "kills": kills, "resumes": resumes, "bit_identical": same})
            break
        print(json.dumps(rows[-1]), flush=True)
    ok = sum(1 for r in rows if r.get("bit_identical"))
    return {"steps": args.steps, "runs": args.runs, "rows": rows, "bit_identical": ok,
            "killed_runs": sum(1 for r in rows if r.get("kills")),
            "resumed_runs": sum(1 for r in rows if r.get("resumes"))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("guard", "resume"))
    parser.add_argument("--out", type=Path, default=Path("runs/trainer-faults"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--tasks", nargs="+", default=["copy", "traversal"])
    parser.add_argument("--hidden-size", type=int, default=16)
    parser.add_argument("--num-cells", type=int, default=8)
    parser.add_argument("--cell-width", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--max-kills", type=int, default=3)
    parser.add_argument("--kill-seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = guard(args) if args.mode == "guard" else resume(args)
    path = args.out / f"{args.mode}.json"
    path.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    summary = result.get("summary", {k: result[k] for k in ("bit_identical", "runs",
                                                            "killed_runs", "resumed_runs")
                                     if k in result})
    print(json.dumps(summary, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
