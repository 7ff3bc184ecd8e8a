"""Training throughput of the graph-task recipes, end to end, through the real trainer.

    python -m benchmarks.train_throughput [--tasks traversal,shortest_path,inference]
        [--steps 100] [--eval-every 100] [--modes 1t,2t,ddp2] [--baseline-commit REV]
        [--baseline-modes 1t,2t] [--repeats 1] [--out benchmarks/results]

Each row trains the recipe of ``docs/reproduction.md`` (feed-forward DNC, hidden 128, W 64,
R 3, masking, memory sized to each episode, batch 8, an evaluation of 128 episodes every
100 steps) on the paper's **final** lesson (``--no-curriculum``) for ``--steps`` steps, in a
fresh process, and reports episodes per second with the share of wall time in episode
generation, encoding, balancing (under DDP, pooling the processes' batches into shares of
equal cost), forward, backward, optimiser (with gradient clipping), curriculum, evaluation,
checkpoints and the rest. Modes: ``1t`` one thread, ``2t`` two threads, ``ddp2``
two processes of one thread (DDP on gloo, ``torch.distributed.run``). A calibration row (a
fixed matrix-product loop) is timed in the same run so numbers from different machines or
loads can be compared.

``--baseline-commit REV`` adds rows for the code at ``REV`` (a git worktree made for the
run; the same recipe, in each of ``--baseline-modes``: one and two threads by default, two
threads being what that code's ``dncqa train`` ran on a two-core machine unless told
otherwise), so the speed-up is measured in the same run. The table's "x baseline" divides
each row by the baseline's fastest row of the same task.
``--repeats K`` runs every row K times, interleaved (baseline, then this code's modes, per
task, K rounds), and reports each row's median run: on a shared or noisy machine one run of
a row can be 20 % off. The table is printed and written, with the JSON (every run, and the
medians) and a PNG, to ``--out`` (``train_throughput.*``). Timings are for reading, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("traversal", "shortest_path", "inference")
MODES = {"1t": (1, 1), "2t": (2, 1), "ddp2": (1, 2), "cuda": (1, 1), "cuda-eager": (1, 1)}
"""Each mode's (threads per process, processes); ``cuda`` trains on the GPU with the step
captured as CUDA graphs, ``cuda-eager`` on the GPU without (rows are skipped with no GPU)."""
CATEGORIES = ("generation", "encoding", "balance", "forward", "backward", "optimiser",
              "curriculum", "evaluation", "checkpoint", "other")
RECIPE = ["--model", "dnc", "--controller", "feedforward", "--masking", "--hidden-size", "128",
          "--num-cells", "16", "--cell-width", "64", "--num-reads", "3", "--fit-cells",
          "--batch-size", "8", "--lr", "1e-3", "--no-curriculum", "--eval-every", "100",
          "--eval-episodes", "128", "--no-deterministic"]
"""The recipe as ``dncqa train`` options (what :func:`recipe_config` builds)."""


class Clock:
    """Exclusive wall time per category: a timed call inside another is subtracted from
    its caller; everything inside an evaluation counts as evaluation."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []
        self.fused_calls = 0
        self.forward_calls = 0

    def wrap(self, owner: object, attr: str, category: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:  # not in this version of the code
            return
        clock = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if clock.stack and clock.stack[-1][0] == "evaluation":
                return original(*args, **kwargs)
            start = time.perf_counter()
            clock.stack.append([category, 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                _, child = clock.stack.pop()
                elapsed = time.perf_counter() - start
                clock.totals[category] += elapsed - child
                if clock.stack:
                    clock.stack[-1][1] += elapsed

        setattr(owner, attr, timed)


def instrument(clock: Clock, trainer: object) -> None:
    """Time the trainer's parts (whatever of them this version of the code has)."""
    import torch

    import dnc_qa.tasks.graph_base as graph_base
    import dnc_qa.tasks.inference as inference
    import dnc_qa.tasks.shortest_path as shortest_path
    import dnc_qa.tasks.traversal as traversal
    try:  # the C++ sequence (its module moved; a baseline commit may have the old one)
        from dnc_qa.memory.backends import cpp_sequence as fused_sequence
    except ImportError:
        from dnc_qa.models import fused_sequence
    from dnc_qa.models.memory_net import MemoryNet
    from dnc_qa.train import trainer as trainer_module
    from dnc_qa.train.curriculum import Curriculum

    clock.wrap(traversal.TraversalTask, "build", "generation")
    clock.wrap(inference.InferenceTask, "build", "generation")
    clock.wrap(inference.InferenceTask, "problem", "generation")  # (task_episode calls it)
    clock.wrap(shortest_path.ShortestPathTask, "problem", "generation")
    for module, name in ((traversal, "traversal_episode"), (inference, "inference_episode"),
                         (shortest_path, "shortest_path_episode"),
                         (graph_base, "pad_episodes"), (graph_base, "as_task_episode")):
        clock.wrap(module, name, "encoding")
    clock.wrap(MemoryNet, "forward", "forward")
    clock.wrap(torch.Tensor, "backward", "backward")
    clock.wrap(torch.nn.utils, "clip_grad_norm_", "optimiser")
    clock.wrap(trainer.optimizer, "step", "optimiser")
    clock.wrap(Curriculum, "plan", "curriculum")
    clock.wrap(Curriculum, "update", "curriculum")
    clock.wrap(trainer_module.Trainer, "evaluate", "evaluation")
    if hasattr(trainer_module, "PendingPool"):  # (a baseline commit may not balance)
        clock.wrap(trainer_module.PendingPool, "send", "balance")
        clock.wrap(trainer_module.PendingPool, "wait", "balance")
        clock.wrap(trainer_module, "share_of", "balance")
    clock.wrap(trainer_module.Trainer, "save", "checkpoint")
    original_run = fused_sequence.run
    original_forward = MemoryNet.forward

    def counted_run(*args, **kwargs):
        clock.fused_calls += 1
        return original_run(*args, **kwargs)

    def counted_forward(self, *args, **kwargs):
        clock.forward_calls += 1
        return original_forward(self, *args, **kwargs)

    fused_sequence.run = counted_run
    MemoryNet.forward = counted_forward


def recipe_config(task: str, steps: int, eval_every: int = 100, mode: str = "1t") -> object:
    """The recipe as a :class:`~dnc_qa.train.config.TrainConfig` (the fields every version
    of the trainer has, so a baseline commit runs the same thing; the CUDA modes set
    ``cuda_graph`` too)."""
    from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig

    device = {"device": "cuda", "cuda_graph": mode == "cuda"} if mode.startswith("cuda") \
        else {"device": "cpu"}
    return TrainConfig(
        **device,
        task=task,
        model=ModelConfig(kind="dnc", controller="feedforward", masking=True, hidden_size=128,
                          num_cells=16, cell_width=64, num_reads=3, fit_cells=True),
        optim=OptimConfig(lr=1e-3),
        curriculum=CurriculumConfig(enabled=False, eval_every=eval_every, eval_episodes=128),
        batch_size=8, steps=steps, deterministic=False, log_every=50,
        checkpoint_every=100_000, final_eval_episodes=1,
    )


def child(args: argparse.Namespace) -> None:
    """One timed training run in this process (rank 0 prints a JSON line)."""
    import torch

    torch.set_num_threads(args.threads)
    from dnc_qa.train import trainer as trainer_module

    out = Path(tempfile.mkdtemp(prefix="throughput-"))
    try:  # any first-use build of the C++ kernels happens here, not in the timed run
        from dnc_qa.memory import native

        native.kernels()
    except Exception:  # noqa: BLE001 - an old or kernel-less version: nothing to build
        pass
    clock = Clock()
    start = time.perf_counter()
    trainer = trainer_module.Trainer(recipe_config(args.task, args.steps, args.eval_every,
                                                   args.mode),
                                     out / "run",
                                     show_progress=False)
    instrument(clock, trainer)
    try:
        trainer.run()
    finally:  # leave the process group (an older trainer has no close: shutdown only)
        close = getattr(trainer, "close", None)
        if close is not None:
            close()
        else:
            trainer_module.D.shutdown()
    wall = time.perf_counter() - start
    if trainer.dist.rank != 0:
        return
    world = trainer.dist.world_size
    # replays of a captured step run no Python forward: their time is under "other"
    captured = getattr(getattr(trainer, "captured", None), "captures", None)
    train_s = trainer.state.elapsed_s
    totals = dict(clock.totals)
    totals["other"] = max(train_s - sum(totals.values()), 0.0)
    record = {
        "task": args.task, "threads": args.threads, "processes": world,
        "steps": trainer.state.step, "episodes": trainer.state.episodes,
        "train_s": train_s, "wall_s": wall,
        "episodes_per_s": trainer.state.episodes / max(train_s, 1e-9),
        "share": {k: totals.get(k, 0.0) / max(train_s, 1e-9) for k in CATEGORIES},
        "path": (f"CUDA graphs ({len(captured.captures)} shapes)" if captured else
                 "fused C++ sequence" if clock.fused_calls and
                 clock.fused_calls == clock.forward_calls else
                 "per-step" if not clock.fused_calls else
                 f"fused C++ sequence on {clock.fused_calls}/{clock.forward_calls} calls"),
    }
    print("RESULT " + json.dumps(record), flush=True)


def calibration(seconds: float = 3.0) -> float:
    """A fixed workload (64x64 float32 matrix products, one thread): products per second."""
    import torch

    torch.set_num_threads(1)
    a = torch.randn(64, 64)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            a = torch.tanh(a @ a)
        n += 100
    return n / (time.perf_counter() - start)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def run_row(task: str, mode: str, steps: int, eval_every: int, pythonpath: str | None
            ) -> dict:
    threads, procs = MODES[mode]
    me = str(Path(__file__).resolve())
    head = [sys.executable]
    if procs > 1:
        head += ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs)]
    cmd = [*head, me, "--child", "--task", task, "--threads", str(threads), "--steps",
           str(steps), "--eval-every", str(eval_every), "--mode", mode]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=pythonpath or ROOT)
    line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT ")), None)
    if run.returncode != 0 or line is None:
        tail = run.stderr.strip().splitlines()[-3:]
        return {"task": task, "mode": mode, "error": " | ".join(tail)}
    return {"mode": mode, **json.loads(line[len("RESULT "):])}


def worktree(rev: str) -> tuple[str, str]:
    commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    path = tempfile.mkdtemp(prefix="baseline-")
    subprocess.run(["git", "worktree", "add", "--detach", path, commit], cwd=ROOT,
                   capture_output=True, check=True)
    return path, commit


def remove_worktree(path: str | Path) -> None:
    """Remove a worktree :func:`worktree` made (what it holds is thrown away)."""
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                   capture_output=True)


def median_run(runs: list[dict], key: str) -> tuple[dict, list[float]]:
    """The run of median ``key`` (the lower middle one of an even count), and the lowest and
    highest ``key`` of ``runs``."""
    ordered = sorted(runs, key=lambda r: r[key])
    return ordered[(len(ordered) - 1) // 2], [ordered[0][key], ordered[-1][key]]


def medians(runs: list[dict]) -> list[dict]:
    """One row per (code, task, mode): its median run by episodes per second (the lower
    middle one of an even count), with ``"runs"`` (how many) and ``"spread"`` (the lowest and
    highest episodes per second); a row whose every run failed keeps its last error."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["code"], r["task"], r["mode"]), []).append(r)
    rows = []
    for group in groups.values():
        good = [r for r in group if "episodes_per_s" in r]
        if not good:
            rows.append(group[-1])
            continue
        middle, spread = median_run(good, "episodes_per_s")
        rows.append({**middle, "runs": len(good), "spread": spread})
    return rows


def table(rows: list[dict]) -> str:
    head = ["code", "task", "mode", "episodes/s", "x baseline", *CATEGORIES, "path"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base: dict[str, float] = {}
    for r in rows:  # the baseline's fastest row of each task
        if r.get("code") == "baseline" and "episodes_per_s" in r:
            base[r["task"]] = max(base.get(r["task"], 0.0), r["episodes_per_s"])
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['code']} | {r['task']} | {r['mode']} | failed: {r['error']} |")
            continue
        ratio = (f"{r['episodes_per_s'] / base[r['task']]:.2f}" if r["task"] in base
                 and r["code"] != "baseline" else "")
        shares = [f"{100 * r['share'].get(k, 0.0):.0f}%" for k in CATEGORIES]
        lines.append("| " + " | ".join([r["code"], r["task"], r["mode"],
                                         f"{r['episodes_per_s']:.1f}", ratio, *shares,
                                         r["path"]]) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [r for r in rows if "episodes_per_s" in r]
    labels = [f"{r['task']}\n{r['mode']} {r['code']}" for r in good]
    fig, ax = plt.subplots(figsize=(max(6, len(good) * 0.9), 4))
    ax.bar(range(len(good)), [r["episodes_per_s"] for r in good],
           color=["#999" if r["code"] == "baseline" else "#37c" for r in good])
    ax.set_xticks(range(len(good)), labels, fontsize=7)
    ax.set_ylabel("training episodes / s (final lesson)")
    ax.set_title("graph-task training throughput (grey: baseline)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--modes", default="1t,2t,ddp2")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=100,
                        help="an evaluation of 128 episodes every this many steps")
    parser.add_argument("--baseline-commit", default=None)
    parser.add_argument("--baseline-modes", default="1t,2t",
                        help="the modes the baseline commit runs in (1t, 2t, ddp2)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per row, interleaved; the table shows each row's median")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="1t", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    base_modes = [m.strip() for m in args.baseline_modes.split(",") if m.strip()]
    unknown = [t for t in tasks if t not in TASKS] + [m for m in modes if m not in MODES]
    unknown += [m for m in base_modes if m not in ("1t", "2t", "ddp2")]
    if unknown:
        parser.error(f"unknown task or mode: {', '.join(unknown)}")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    runs: list[dict] = []
    base_path = base_commit = None
    if args.baseline_commit:
        base_path, base_commit = worktree(args.baseline_commit)
    calib_before = calibration()
    try:
        for _ in range(args.repeats):
            for task in tasks:
                for mode in base_modes if base_path else []:
                    runs.append({"code": "baseline", **run_row(task, mode, args.steps,
                                                               args.eval_every, base_path)})
                    print(table(runs[-1:]).splitlines()[-1], flush=True)
                for mode in modes:
                    if mode.startswith("cuda") and not cuda_available():
                        continue
                    runs.append({"code": "this", **run_row(task, mode, args.steps,
                                                           args.eval_every, None)})
                    print(table(runs[-1:]).splitlines()[-1], flush=True)
    finally:
        if base_path:
            remove_worktree(base_path)
    calib_after = calibration()
    rows = medians(runs)
    text = table(rows)
    print(text)
    print(f"calibration (64x64 products/s, 1 thread): {calib_before:.0f} before, "
          f"{calib_after:.0f} after")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"commit": head, "baseline_commit": base_commit, "steps": args.steps,
              "eval_every": args.eval_every, "repeats": args.repeats, "runs": runs,
              "recipe": RECIPE, "machine": platform.platform(), "cpus": os.cpu_count(),
              "calibration_products_per_s": [calib_before, calib_after], "rows": rows}
    (out / "train_throughput.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "train_throughput.md").write_text(text + "\n")
    plot(rows, out / "train_throughput.png")
    return 0


if __name__ == "__main__":
    # A child runs as a script, so that a baseline's PYTHONPATH decides which dnc_qa it
    # imports; its own folder must not shadow the standard library (benchmarks/profile.py).
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(here)]
    raise SystemExit(main())
