"""``dncqa reproduce``: the DNC paper's results, our numbers beside theirs.

``graph-tasks`` trains (or reuses) and scores the graph-task runs; ``babi`` re-measures trained
bAbI runs on the test split (:mod:`dnc_qa.reproduce.babi_report`).
"""

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
    tasks: str = typer.Option(
        "traversal,shortest_path,inference", "--tasks", show_default=False,
        help="Comma-separated tasks (default: all three)."),
    models: str = typer.Option("dnc,ntm,lstm", "--models", help="Models."),
    steps: int | None = typer.Option(None, "--steps", hidden=True, help="Steps per run."),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads."),
) -> None:
    """Train DNC, NTM and LSTM on the paper's graph tasks and report them.

    Each task and model is trained for the budget's time (or a trained run
    is reused with --from-run), then scored on held-out episodes, by paper
    lesson and by length, beside the paper's numbers, an exact solver and a
    GNN. Writes report.md, report.json and one learning-curve PNG per task.
    Without --london the bundled data/transit map stands in for the London
    Underground.

    Examples:

      dncqa reproduce graph-tasks --budget ci --out runs/repro-ci

      dncqa reproduce graph-tasks --from-run results/traversal-dnc \\
        --tasks traversal --models dnc --out runs/repro-traversal
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


@app.command("babi")
def babi(
    results: Path = typer.Option(
        Path("results/babi"), "--results", help="Folder holding the bAbI run folders."),
    babi_dir: Path | None = typer.Option(
        None, "--babi-dir", help="bAbI data folder (default: $DNCQA_BABI, else each run's)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Report folder (default: RESULTS/report)."),
    as_json: bool = typer.Option(False, "--json", help="Also print the report as one JSON object."),
    questions: int | None = typer.Option(
        None, "--questions", help="Score about N test questions per task (default: all)."),
    device: str = typer.Option("cpu", "--device", help="auto, cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(64, "--batch-size", help="Stories per forward pass."),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads for scoring."),
    run_threads: int | None = typer.Option(
        None, "--run-threads",
        help="Threads the runs trained with, for CPU-hours where metrics.jsonl records none."),
) -> None:
    """Re-measure trained bAbI runs on the test split, in the paper's layout.

    Every run folder under --results (single-task and joint runs, DNC and
    LSTM) is scored from its latest checkpoint on the bAbI test files, as
    `dncqa eval RUN --json` scores it. Writes report.md (one row per task
    beside the published LSTM, DNC, DNC-MD, rsDNC and SDNC numbers; mean
    error and failed tasks; per run its episodes, CPU-hours and the command
    that continues it), report.json (the same numbers) and curves.png.
    The data folder is --babi-dir, else $DNCQA_BABI, else the run's own.

    Examples:

      dncqa reproduce babi --results results/babi --run-threads 1 \\
        --out runs/babi-report

      dncqa reproduce babi --questions 100 --out runs/babi-quick --json
    """
    if questions is not None and questions < 1:
        raise DncQaError("--questions must be >= 1")
    if batch_size < 1 or threads < 1 or (run_threads is not None and run_threads < 1):
        raise DncQaError("--batch-size, --threads and --run-threads must be >= 1")
    if not results.is_dir():
        raise DncQaError(f"--results {results} is not a folder")
    if babi_dir is not None and not babi_dir.is_dir():
        raise DncQaError(f"--babi-dir {babi_dir} is not a folder")
    out = out if out is not None else results / "report"
    if out.exists() and not out.is_dir():
        raise DncQaError(f"--out {out} exists and is not a folder")
    import torch

    from dnc_qa.jsonout import dumps
    from dnc_qa.reproduce.babi_report import reproduce_babi

    torch.set_num_threads(threads)
    report = reproduce_babi(results, out, babi_dir, questions, device, batch_size, run_threads,
                            log=lambda s: typer.echo(s, err=True))
    if as_json:
        typer.echo(dumps(report))
    else:
        typer.echo(f"wrote {out / 'report.md'} ({len(report['runs'])} runs)")
