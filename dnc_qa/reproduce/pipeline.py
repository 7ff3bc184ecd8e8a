"""``dncqa reproduce graph-tasks``: train (or reuse), score and report DNC, NTM and LSTM.

For each task and model: train with the budget (or reuse a run folder given with
``--from-run``), then score the newest checkpoint on held-out graphs of the last lesson it
reached (and of every lesson up to one past it) and on the test graph's queries. The exact
solver and the GNN baseline are scored on the same test queries and on held-out graphs of the
final lesson. Everything lands in ``report.json``, ``report.md`` and PNG learning curves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from dnc_qa.baselines import exact
from dnc_qa.baselines.gnn_train import GraphQuery, accuracy, generated_query, train_gnn
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import load_curriculum
from dnc_qa.reproduce import scoring, testmaps
from dnc_qa.reproduce.budgets import MODELS, TASKS, Budget, train_config
from dnc_qa.reproduce.report import write_report
from dnc_qa.reproduce.report_data import BaselineRow, ModelRow, Report
from dnc_qa.tasks.base import Task
from dnc_qa.tasks.registry import make_task
from dnc_qa.train.checkpoint import latest_checkpoint, load_checkpoint
from dnc_qa.train.curriculum import Curriculum
from dnc_qa.train.evaluate import load_trained_model

TEST_SEED = 20161012


def read_curve(run_dir: Path) -> list[dict[str, float]]:
    """``train`` records of ``metrics.jsonl`` with cumulative episodes."""
    path = run_dir / "metrics.jsonl"
    out, total = [], 0
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("event") == "train":
            total += int(rec["episodes"])
            out.append({"step": rec["step"], "episodes": total, "lesson": rec["lesson"],
                        "accuracy": rec["accuracy"], "loss": rec["loss"],
                        "elapsed_s": rec.get("elapsed_s", 0.0)})
    return out


def run_dirs(from_runs: Sequence[Path]) -> dict[tuple[str, str], Path]:
    """``(task, model) -> run folder`` for every ``--from-run`` folder."""
    found: dict[tuple[str, str], Path] = {}
    for folder in from_runs:
        ckpt = latest_checkpoint(Path(folder))
        if ckpt is None:
            raise DncQaError(f"--from-run {folder} holds no checkpoint")
        config = load_checkpoint(ckpt).config
        if config.task not in TASKS:
            raise DncQaError(f"--from-run {folder} is a {config.task} run, not a graph task")
        found[(config.task, config.model.kind)] = Path(folder)
    return found


class Tests:
    """The test queries of every task, built once."""

    def __init__(self, london: Path | None, count: int) -> None:
        self.map = testmaps.load_map(london)
        self.family, relations = testmaps.load_family()
        g = self.map.graph
        self.traversal = testmaps.traversal_tests(g, count, TEST_SEED)
        self.paths = testmaps.path_tests(g, count, TEST_SEED)
        self.inference = testmaps.inference_tests(self.family, relations, count, TEST_SEED,
                                                  steps=None)

    def graph_for(self, task: str):
        return self.family.graph if task == "inference" else self.map.graph

    def queries(self, task: str) -> list:
        return {"traversal": self.traversal, "shortest_path": self.paths,
                "inference": self.inference}[task]


def score_model(model: torch.nn.Module, task: str, tests: Tests,
                run_task: Task | None = None) -> float:
    """The model's accuracy on the task's test graph; ``run_task``: the task as the run
    trained it (its planning budget is used on the test graph too)."""
    graph, queries = tests.graph_for(task), tests.queries(task)
    if task == "traversal":
        return scoring.traversal_accuracy(model, graph, queries, TEST_SEED)
    if task == "shortest_path":
        return scoring.path_accuracy(model, graph, queries, TEST_SEED, run_task)
    return scoring.inference_accuracy(model, graph, queries, TEST_SEED, run_task)


def model_row(task: str, kind: str, run_dir: Path, source: str, budget: Budget,
              tests: Tests) -> ModelRow:
    ckpt_path = latest_checkpoint(run_dir)
    if ckpt_path is None:
        raise DncQaError(f"{run_dir} holds no checkpoint")
    model, ckpt = load_trained_model(ckpt_path, torch.device("cpu"))
    config, state = ckpt.config, ckpt.trainer
    run_task = make_task(task, **config.task_options())
    lessons = Curriculum(run_task, config.curriculum).lessons
    warm = config.curriculum.warmup if config.curriculum.enabled else 0
    per_lesson: dict[str, float] = {}
    top = min(len(lessons) - 1, state.lesson + 1)
    for i in range(top + 1):
        name = f"warm-up {i + 1}" if i < warm else f"lesson {i - warm + 1}"
        per_lesson[name] = scoring.heldout_accuracy(model, lessons[i], budget.heldout_episodes,
                                                    seed=i)
    current = list(per_lesson)[state.lesson]
    split = split_by_length(model, lessons[min(state.lesson, len(lessons) - 1)],
                            budget.heldout_episodes, config.model.num_cells)
    return ModelRow(
        task=task, model=kind, source=source, run_dir=str(run_dir), checkpoint=str(ckpt_path),
        steps=state.step, episodes=state.episodes, wall_s=round(state.elapsed_s, 1),
        warmup_lessons=warm, lessons_total=len(lessons) - warm,
        lessons_passed=max(0, state.lesson - warm), last_lesson=max(0, state.lesson - warm + 1),
        heldout_accuracy=per_lesson[current], heldout_episodes=budget.heldout_episodes,
        per_lesson=per_lesson, test_accuracy=score_model(model, task, tests, run_task),
        test_queries=len(tests.queries(task)), curve=read_curve(run_dir),
        by_length={"lesson": current, **split},
    )


def split_by_length(model: torch.nn.Module, lesson: Task, episodes: int,
                    num_cells: int) -> dict:
    """The lesson's held-out accuracy by length beside the no-memory rules (JSON form)."""
    from dnc_qa.tasks.inference import InferenceTask
    from dnc_qa.tasks.shortest_path import ShortestPathTask
    from dnc_qa.tasks.traversal import TraversalTask
    from dnc_qa.train import breakdown

    if episodes < 1:
        return {}
    generator = torch.Generator().manual_seed(20_000_003)
    cpu = torch.device("cpu")
    if isinstance(lesson, ShortestPathTask):
        split = breakdown.shortest_path_breakdown(model, replace(lesson, fit_cells=True),
                                                  episodes, generator, cpu)
    elif isinstance(lesson, InferenceTask):
        split = breakdown.inference_breakdown(model, lesson, episodes, generator, cpu,
                                              num_cells=num_cells, fit_cells=True)
    elif isinstance(lesson, TraversalTask):
        split = breakdown.traversal_breakdown(model, lesson, episodes, generator, cpu,
                                              num_cells=num_cells, fit_cells=True)
    else:
        return {}
    return split.to_json()


def baseline_rows(task: str, budget: Budget, tests: Tests) -> list[BaselineRow]:
    graph, queries = tests.graph_for(task), tests.queries(task)
    solve = {"traversal": exact.solve_traversal, "shortest_path": exact.solve_paths,
             "inference": exact.solve_inference}[task]
    rows = [BaselineRow(task, "exact solver", None, solve(graph, queries).accuracy,
                        len(queries))]
    gnn = train_gnn(task, budget.gnn_seconds, budget.gnn_steps, seed=0)
    rng = np.random.default_rng(TEST_SEED)
    final = load_curriculum(task).final
    heldout = [generated_query(task, final, rng) for _ in range(budget.heldout_episodes)]
    test_items = [GraphQuery(graph, q) for q in queries]
    rows.append(BaselineRow(task, "GNN", accuracy(gnn.model, heldout),
                            accuracy(gnn.model, test_items), len(queries), gnn.steps,
                            round(gnn.elapsed_s, 1), [list(p) for p in gnn.curve]))
    return rows


def reproduce(budget: Budget, out: Path, london: Path | None = None,
              from_runs: Sequence[Path] = (), tasks: Sequence[str] = TASKS,
              models: Sequence[str] = MODELS,
              log: Callable[[str], None] = lambda s: None) -> Report:
    """Train or reuse every (task, model), score everything, write the report to ``out``."""
    from dnc_qa.train.trainer import train

    start = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reuse = run_dirs(from_runs)
    tests = Tests(london, budget.test_queries)
    rows: list[ModelRow] = []
    baselines: list[BaselineRow] = []
    for task in tasks:
        for kind in models:
            if (task, kind) in reuse:
                run_dir, source = reuse[(task, kind)], str(reuse[(task, kind)])
                log(f"{task} {kind}: reusing {run_dir}")
            else:
                run_dir, source = out / "runs" / f"{task}-{kind}", "trained"
                if latest_checkpoint(run_dir) is not None:
                    raise DncQaError(f"{run_dir} already holds a run; choose another --out")
                log(f"{task} {kind}: training ({budget.name} budget)")
                train(train_config(budget, task, kind), run_dir, show_progress=False)
            rows.append(model_row(task, kind, run_dir, source, budget, tests))
        log(f"{task}: exact solver and GNN")
        baselines.extend(baseline_rows(task, budget, tests))
    notes = [f"{r.task} {r.model.upper()}: reused from {r.source} ({r.episodes:,} episodes, "
             f"{r.wall_s / 60:.1f} min of training), not trained with this budget; the budget "
             "sets only its evaluation sizes" for r in rows if r.source != "trained"]
    report = Report(budget=asdict(budget), test_map=tests.map.name,
                    family="invented family tree (data/family)", rows=rows, baselines=baselines,
                    wall_s=round(time.monotonic() - start, 1), notes=notes)
    write_report(report, out)
    return report
