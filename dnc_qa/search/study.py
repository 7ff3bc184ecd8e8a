"""Run a recipe search: an Optuna study in SQLite, trials as real training runs.

Each trial is one ``dncqa train`` run in its own process (``<out>/trial-NNNN/``, one thread,
``minutes`` long). While it runs, its ``metrics.jsonl`` gives the progress reported to
Optuna every 30 s of training, ``(paper lesson reached) + (last evaluation's accuracy)``,
with warm-up lessons counting below the paper's first (lesson 1 is 0, the warm-up before it
-1, ...); the median pruner stops trials that fall behind the others at the same time.

A finished trial is scored on ``eval_episodes`` fresh episodes of the lesson it reached:

    score = (paper lesson reached) + (held-out accuracy - best no-memory rule's accuracy)

(:mod:`dnc_qa.baselines.rules`, on the same episodes), so a trial that passes lessons only
as well as a rule would gains nothing from them. The study lives in ``<out>/study.db``: the
same command with the same ``--out`` continues it. ``<out>/trials.csv``, ``table.md`` and
``history.png`` are rewritten after every trial.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from dnc_qa.durable import write_text_atomic
from dnc_qa.errors import DncQaError
from dnc_qa.search.space import check_fixed, choices_for, train_arguments

REPORT_EVERY_S = 30
POLL_S = 5


@dataclass
class SearchConfig:
    """One search: ``trials`` more trials of ``minutes`` each, ``workers`` at a time."""

    task: str
    model: str
    out: Path
    trials: int = 10
    minutes: float = 6.0
    workers: int = 2
    fixed: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    eval_episodes: int = 300


@dataclass
class TrialResult:
    """What a finished trial measured (stored as the trial's user attributes)."""

    lesson: int  # paper lesson reached, 0-based; warm-ups negative
    lesson_name: str
    accuracy: float
    best_rule: str
    best_rule_accuracy: float
    steps: int
    episodes: int
    minutes: float
    by_length: list[dict[str, Any]]

    @property
    def score(self) -> float:
        return self.lesson + self.accuracy - self.best_rule_accuracy


def progress_value(metrics: Path, warmup: int) -> tuple[float, float] | None:
    """``(value, training seconds)`` from a run's ``metrics.jsonl``: the paper lesson of its
    last evaluation plus that evaluation's accuracy; ``None`` before the first one."""
    if not metrics.is_file():
        return None
    value = elapsed = None
    with metrics.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if record.get("event") == "eval":
                value = record["lesson"] - warmup + record["accuracy"]
            if "elapsed_s" in record:
                elapsed = float(record["elapsed_s"])
    if value is None or elapsed is None:
        return None
    return value, elapsed


def evaluate_run(run: Path, episodes: int, seed: int) -> TrialResult:
    """Score a run's latest checkpoint on fresh episodes of the lesson it reached."""
    import torch

    from dnc_qa.tasks.inference import InferenceTask
    from dnc_qa.tasks.registry import make_task
    from dnc_qa.tasks.shortest_path import ShortestPathTask
    from dnc_qa.train.breakdown import inference_breakdown, shortest_path_breakdown
    from dnc_qa.train.curriculum import Curriculum
    from dnc_qa.train.evaluate import load_trained_model

    device = torch.device("cpu")
    model, ckpt = load_trained_model(run, device)
    cfg = ckpt.config
    task = make_task(cfg.task, **cfg.task_options())
    lessons = Curriculum(task, cfg.curriculum).lessons
    index = min(ckpt.trainer.lesson, len(lessons) - 1)
    lesson = lessons[index]
    fit = cfg.model.fit_cells
    generator = torch.Generator().manual_seed(seed)
    if isinstance(lesson, ShortestPathTask):
        split = shortest_path_breakdown(model, replace(lesson, fit_cells=fit), episodes,
                                        generator, device)
    elif isinstance(lesson, InferenceTask):
        split = inference_breakdown(model, lesson, episodes, generator, device,
                                    num_cells=cfg.model.num_cells, fit_cells=fit)
    else:
        raise DncQaError(f"the search scores shortest_path and inference, not {cfg.task}")
    rule, rule_accuracy = split.best_rule
    paper_lesson = index - cfg.curriculum.warmup
    name = (f"paper lesson {paper_lesson + 1}" if paper_lesson >= 0
            else f"warm-up {index + 1} of {cfg.curriculum.warmup}")
    return TrialResult(paper_lesson, name, split.accuracy, rule, rule_accuracy,
                       ckpt.trainer.step, ckpt.trainer.episodes,
                       ckpt.trainer.elapsed_s / 60, split.to_json()["by_length"])


class _Objective:
    def __init__(self, config: SearchConfig, on_trial: Callable[[str], None]) -> None:
        self.config = config
        self.on_trial = on_trial
        self.lock = threading.Lock()

    def __call__(self, trial: Any) -> float:
        import optuna

        cfg = self.config
        params = {}
        for choice in choices_for(cfg.task, cfg.model):
            params[choice.name] = (cfg.fixed[choice.name] if choice.name in cfg.fixed
                                   else choice.suggest(trial))
        run = cfg.out / f"trial-{trial.number:04d}"
        args = train_arguments(cfg.task, cfg.model, params)
        args += ["--minutes", f"{cfg.minutes:g}", "--seed", str(cfg.seed + trial.number),
                 "--out", str(run), "--json"]
        trial.set_user_attr("command", "dncqa train " + " ".join(args))
        trial.set_user_attr("params", params)
        run.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        warmup = int(params.get("warmup", 0))
        with (run / "train.log").open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "dnc_qa", "train", *args],
                                    stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
            reported = -1
            try:
                while proc.poll() is None:
                    time.sleep(POLL_S)
                    got = progress_value(run / "metrics.jsonl", warmup)
                    if got is None:
                        continue
                    value, elapsed = got
                    step = int(elapsed // REPORT_EVERY_S)
                    if step > reported:
                        reported = step
                        trial.report(value, step)
                        if trial.should_prune():
                            _stop(proc)
                            trial.set_user_attr("pruned_at_minutes", round(elapsed / 60, 2))
                            self.on_trial(f"trial {trial.number}: pruned at "
                                          f"{elapsed / 60:.1f} min (progress {value:.3f})")
                            raise optuna.TrialPruned()
            except BaseException:
                _stop(proc)
                raise
        if proc.returncode != 0:
            tail = (run / "train.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise DncQaError(f"trial {trial.number} failed: {' '.join(tail)}")
        with self.lock:  # one held-out evaluation at a time
            result = evaluate_run(run, cfg.eval_episodes, seed=10_007 + trial.number)
        for key, value in asdict(result).items():
            trial.set_user_attr(key, value)
        self.on_trial(f"trial {trial.number}: score {result.score:.3f} ({result.lesson_name}, "
                      f"held-out {result.accuracy:.3f} vs {result.best_rule} "
                      f"{result.best_rule_accuracy:.3f})")
        return result.score


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def open_study(config: SearchConfig) -> Any:
    """The study in ``<out>/study.db`` (created, or loaded to be continued)."""
    try:
        import optuna
    except ImportError as exc:
        raise DncQaError("the recipe search needs Optuna: pip install 'dnc-qa[search]'") from exc
    import warnings

    config.out.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{(config.out / 'study.db').resolve()}",
        heartbeat_interval=60, grace_period=180,
    )
    sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=6,
                                         constant_liar=True)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=6)
    return optuna.create_study(study_name=f"{config.task}-{config.model}", storage=storage,
                               sampler=sampler, pruner=pruner, direction="maximize",
                               load_if_exists=True)


def run_search(config: SearchConfig, on_trial: Callable[[str], None] = print) -> Any:
    """Run ``config.trials`` more trials; return the study. Tables are rewritten after each."""
    import optuna

    check_fixed(config.task, config.model, config.fixed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(config)
    objective = _Objective(config, on_trial)

    def after(study: Any, _trial: Any) -> None:
        with objective.lock:
            write_tables(study, config.out)

    study.optimize(objective, n_trials=config.trials, n_jobs=config.workers,
                   callbacks=[after], catch=(DncQaError,))
    write_tables(study, config.out)
    return study


COLUMNS = ("number", "state", "score", "lesson_name", "accuracy", "best_rule_accuracy",
           "episodes", "minutes")


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial: its state, score, what it reached, and its parameters."""
    rows = []
    for t in study.trials:
        attrs = t.user_attrs
        row = {"number": t.number, "state": t.state.name.lower(),
               "score": t.value if t.state.name == "COMPLETE" else None,
               "lesson_name": attrs.get("lesson_name", ""),
               "accuracy": attrs.get("accuracy"),
               "best_rule_accuracy": attrs.get("best_rule_accuracy"),
               "episodes": attrs.get("episodes"), "minutes": attrs.get("minutes"),
               "last_progress": (max(t.intermediate_values.items())[1]
                                 if t.intermediate_values else None)}
        row.update(attrs.get("params", t.params))
        row["command"] = attrs.get("command", "")
        rows.append(row)
    return rows


def write_tables(study: Any, out: Path) -> None:
    """``trials.csv`` (every field), ``table.md`` (best first) and ``history.png``."""
    rows = trial_rows(study)
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "trials.csv", table.getvalue())
    ranked = sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0)))
    params = [f for f in fields if f not in COLUMNS and f not in ("command", "last_progress")]
    head = ["trial", "state", "score", "reached", "held-out", "best rule", "progress",
            "episodes", *params]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in ranked:
        cells = [r["number"], r["state"], _fmt(r["score"]), r["lesson_name"],
                 _fmt(r["accuracy"]), _fmt(r["best_rule_accuracy"]), _fmt(r["last_progress"]),
                 r["episodes"] if r["episodes"] is not None else "", *[_fmt(r.get(p))
                                                                       for p in params]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    best = next((r for r in ranked if r["score"] is not None), None)
    text = (f"# Recipe search: {study.study_name}\n\nScore = paper lesson reached (lesson 1 = 0,"
            " warm-ups below) + held-out accuracy on it - the best no-memory rule's accuracy on "
            "the same episodes. Progress = lesson + last training evaluation (what the pruner "
            "sees).\n\n" + "\n".join(lines) + "\n")
    if best is not None:
        text += f"\nBest trial {best['number']}:\n\n```bash\n{best['command']}\n```\n"
    write_text_atomic(out / "table.md", text)
    _plot(rows, out / "history.png", study.study_name)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    done = [r for r in rows if r["score"] is not None]
    pruned = [r for r in rows if r["score"] is None and r["last_progress"] is not None]
    ax.scatter([r["number"] for r in done], [r["score"] for r in done], label="finished: score")
    ax.scatter([r["number"] for r in pruned], [r["last_progress"] for r in pruned], marker="x",
               label="pruned: last progress")
    best, line = float("-inf"), []
    for r in sorted(done, key=lambda r: r["number"]):
        best = max(best, r["score"])
        line.append((r["number"], best))
    if line:
        ax.step(*zip(*line, strict=True), where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("paper lesson + accuracy margin")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
