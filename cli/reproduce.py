"""``dncqa reproduce graph-tasks``: the DNC paper's graph tasks, our numbers beside theirs."""

from __future__ import annotations

from pathlib import Path

import typer

from dnc_qa.errors import DncQaError

app = typer.Typer(help="Reproduce published results.", no_args_is_help=True)


@app.command("graph-tasks")
def graph_tasks(
    out: Path = typer.Option(..., "--out", "-o", help="Report folder (report.md/json, PNGs)."),
    budget: str = typer.Option("ci", "--budget", help="ci (~5 min), small (~35 min) or paper."),
    london: Path | None = typer.Option(
        None, "--london", help="Transit-CSV folder of the London Underground (Zone 1 is used)."
    ),
    from_run: list[Path] = typer.Option(
        [], "--from-run", "--checkpoints",
        help="Reuse a trained run folder for its task and model (repeatable).",
    ),
    tasks: str = typer.Option("traversal,shortest_path,inference", "--tasks", help="Tasks."),
    models: str = typer.Option("dnc,ntm,lstm", "--models", help="Models."),
    steps: int | None = typer.Option(None, "--steps", hidden=True, help="Steps per run."),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads."),
) -> None:
    """Train DNC, NTM and LSTM on traversal, shortest path and inference; report.

    Examples:

      dncqa reproduce graph-tasks --budget ci --out runs/repro-ci

      dncqa reproduce graph-tasks --budget small --london PATH/TO/london --out r

      dncqa reproduce graph-tasks --from-run runs/traversal-dnc --tasks traversal --out r
    """
    from dnc_qa.reproduce.budgets import MODELS, TASKS, get_budget, with_steps

    chosen = get_budget(budget)
    if steps is not None:
        chosen = with_steps(chosen, steps)
    task_list = [t.strip().replace("-", "_") for t in tasks.split(",") if t.strip()]
    model_list = [m.strip().lower() for m in models.split(",") if m.strip()]
    for t in task_list:
        if t not in TASKS:
            raise DncQaError(f"unknown graph task {t!r}; choose from {', '.join(TASKS)}")
    for m in model_list:
        if m not in MODELS:
            raise DncQaError(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    if not task_list or not model_list:
        raise DncQaError("--tasks and --models need at least one name")
    if threads < 1:
        raise DncQaError("--threads must be >= 1")
    if out.exists() and not out.is_dir():
        raise DncQaError(f"--out {out} exists and is not a folder")
    if london is not None and not london.is_dir():
        raise DncQaError(f"--london {london} is not a folder")
    import torch

    from dnc_qa.reproduce.pipeline import reproduce

    torch.set_num_threads(threads)
    report = reproduce(chosen, out, london, from_run, task_list, model_list,
                       log=lambda s: typer.echo(s, err=True))
    typer.echo(f"wrote {out / 'report.md'} ({report.wall_s / 60:.1f} min)")
