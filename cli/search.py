"""``dncqa search``: a recipe search (Optuna) for the graph tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps


def _parse_fixed(items: list[str]) -> dict[str, Any]:
    fixed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise DncQaError(f"--fix takes NAME=VALUE, not {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        fixed[key.strip().replace("-", "_")] = value
    return fixed


def search(
    task: str = typer.Option(..., "--task", "-t", help="shortest_path or inference."),
    model: str = typer.Option("dnc", "--model", "-m", help="dnc, ntm or lstm."),
    trials: int = typer.Option(10, "--trials", help="Trials to run now (added to the study)."),
    minutes: float = typer.Option(6.0, "--minutes", help="Training minutes per trial."),
    workers: int = typer.Option(2, "--workers", help="Trials run side by side (1 thread each)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Study folder (default results/search/TASK-MODEL)."
    ),
    fix: list[str] = typer.Option(
        [], "--fix", metavar="NAME=VALUE", help="Pin a searched option (repeatable)."
    ),
    eval_episodes: int = typer.Option(
        300, "--eval-episodes", help="Fresh episodes that score a finished trial."
    ),
    seed: int = typer.Option(0, "--seed", help="Sampler seed; trial k trains with seed+k."),
    as_json: bool = typer.Option(False, "--json", help="Print the best trial as JSON."),
) -> None:
    """Search training recipes for the graph tasks with Optuna.

    Each trial is a real `dncqa train` run, pruned early when it falls
    behind, and scored on fresh episodes against rules that need no memory.
    The study is kept in OUT/study.db: the same command with the same --out
    continues it. OUT/table.md, trials.csv and history.png list every trial
    (best first) with the command that reproduces it; each trial's run is
    OUT/trial-NNNN and continues with dncqa train --out OUT/trial-NNNN
    --resume --minutes M.

    Examples:

      dncqa search --task shortest_path --trials 12 --minutes 6

      dncqa search --task inference --trials 8 \\
        --fix controller=feedforward --fix bridge=true

      dncqa search -t shortest_path -m ntm --trials 4 --minutes 3 --workers 1
    """
    from dnc_qa.search.study import SearchConfig, run_search
    from dnc_qa.tasks.registry import check_task_name
    from dnc_qa.train.model_factory import check_model_name

    task_name = check_task_name(task)
    if task_name not in ("shortest_path", "inference"):
        raise DncQaError(f"the recipe search covers shortest_path and inference, not {task_name}")
    kind = check_model_name(model)
    if trials < 0 or workers < 1 or minutes <= 0 or eval_episodes < 1:
        raise DncQaError("--trials >= 0, --workers >= 1, --minutes > 0 and --eval-episodes >= 1")
    folder = out if out is not None else Path("results") / "search" / f"{task_name}-{kind}"
    config = SearchConfig(task=task_name, model=kind, out=folder, trials=trials,
                          minutes=minutes, workers=workers, fixed=_parse_fixed(fix), seed=seed,
                          eval_episodes=eval_episodes)

    def say(line: str) -> None:
        if not as_json:
            typer.echo(line)

    study = run_search(config, say)
    finished = [t for t in study.trials if t.value is not None]
    best = max(finished, key=lambda t: t.value) if finished else None
    summary = {
        "study": str(folder / "study.db"),
        "trials": len(study.trials),
        "finished": len(finished),
        "best": None if best is None else {
            "number": best.number, "score": best.value, **best.user_attrs},
    }
    if as_json:
        typer.echo(dumps(summary))
    elif best is not None:
        typer.echo(f"best of {len(finished)} finished trials: trial {best.number}, score "
                   f"{best.value:.3f}; table: {folder / 'table.md'}")
    else:
        typer.echo(f"no finished trial yet; table: {folder / 'table.md'}")
