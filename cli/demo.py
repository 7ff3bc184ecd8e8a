"""``dncqa demo``: ingest the bundled map and family tree, ask fixed questions and compare the
model's answers with the exact ones; ``--copy`` runs the older copy-task training demo."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def demo(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (questions, "
                                 "answers, agreement) instead of text."),
    model: str = typer.Option("auto", "--model", "-m", help="auto (a shipped model), a "
                              "checkpoint folder, untrained or none."),
    keep: bool = typer.Option(False, "--keep", help="Store the graphs in the workspace as "
                              "demo-metro and demo-family (default: a temporary workspace)."),
    copy: bool = typer.Option(False, "--copy", help="Run the copy-task training demo instead."),
    seconds: float = typer.Option(None, help="--copy: training time budget in seconds "
                                  "(default 30)."),
    seed: int = typer.Option(0, help="--copy: seed for weights and data."),
    device: str = typer.Option("auto", help="--copy: auto, cpu, cuda or cuda:N."),
) -> None:
    """Ask the bundled map and family tree fixed questions; model vs exact.

    Ingests the London-style map (45 stations, 7 lines) and the 35-person
    family tree with the models shipped in the package, asks 12 questions
    decided in advance (shortest paths, traversals along a line, neighbours,
    family facts and derived relations) and prints for each the model's
    answer and confidence, the exact answer and whether they agree. Your
    workspace is left alone unless --keep.

    Examples:

      dncqa demo

      dncqa demo --json

      dncqa demo --keep

      dncqa ask "which stations are next to Kelstead" --graph demo-metro

      dncqa demo --copy --seconds 30
    """
    if copy:
        copy_demo(30.0 if seconds is None else seconds, seed, device)
        return
    if seconds is not None:
        raise DncQaError("--seconds applies to the copy-task demo only (add --copy)")
    graph_demo(model, keep, as_json)


def _echo(text: str) -> None:
    typer.echo(printable(text))


def graph_demo(model: str, keep: bool, as_json: bool) -> None:
    """Run :func:`dnc_qa.app.demo.run_demo` and print it as text or JSON."""
    import io

    from dnc_qa.app.demo import DEMO_QUESTIONS, DemoItem, run_demo
    from dnc_qa.app.workspace import Workspace

    def show(i: int, item: DemoItem) -> None:
        r = item.result
        _echo(f"[{i + 1}/{len(DEMO_QUESTIONS)}] {item.question.graph}: {r.question}"
                   f"  ({item.question.shows})")
        if r.answer is None and r.withheld is None:
            _echo(f"    model:  no answer: {r.note}")
        else:
            first, *rest = r.answer_lines()
            _echo(f"    model:  {first}")
            for line in rest:
                _echo(f"            {line}")
        _echo(f"    exact:  {r.exact.text()}")
        if r.agrees is True:
            _echo("    -> the model agrees with the exact answer")
        elif r.agrees is False:
            _echo("    -> the model is WRONG")
        else:
            _echo("    -> no model answer to compare")

    log = io.StringIO() if as_json else None
    if not as_json:
        typer.echo("dncqa demo: the bundled metro map and family tree, written into DNC memory")
    report = run_demo(model, Workspace() if keep else None, None if as_json else show, log)
    if as_json:
        typer.echo(dumps(report.to_json(), ensure_ascii=False))
        return
    typer.echo("")
    typer.echo(report.summary())
    models = ", ".join(f"{k}: {v}" for k, v in report.models.items())
    typer.echo(f"models: {models}; {report.seconds:.1f} s")
    if keep:
        typer.echo('stored as demo-metro and demo-family: dncqa ask "..." --graph demo-metro')


def copy_demo(seconds: float, seed: int, device: str) -> None:
    """Train a small DNC on the copy task for ``seconds`` and print a bit-error table.

    The DNC (LSTM controller 64, memory 32x16, one read head) learns to copy 8-bit vectors
    with a length curriculum 1-5, 1-10, 1-15, 1-20; 30-60 s on one CPU core usually copies
    sequences of 20 almost without errors.
    """
    import torch  # lazily: keeps `dncqa --help` and other commands fast
    from rich.console import Console
    from rich.table import Table

    from dnc_qa.tasks.copy import CopyTask
    from dnc_qa.train.config import CurriculumConfig, TrainConfig
    from dnc_qa.train.evaluate import evaluate_counts
    from dnc_qa.train.trainer import Trainer

    if not 0 < seconds <= 3600:
        raise DncQaError("--seconds must be in (0, 3600]")
    console = Console(stderr=True)
    console.print(f"Training a DNC on the copy task for {seconds:g} s ...")
    config = TrainConfig(
        task="copy",
        steps=None,
        minutes=seconds / 60,
        seed=seed,
        device=device,
        checkpoint_every=10**9,
        final_eval_episodes=200,
        curriculum=CurriculumConfig(eval_every=50, eval_episodes=64),
    )
    with tempfile.TemporaryDirectory(prefix="dncqa-demo-") as tmp:
        trainer = Trainer(config, Path(tmp), show_progress=True)
        result = trainer.run()
        model = trainer.model
        table = Table(title=f"DNC on copy after {result.steps} steps ({result.elapsed_s:.0f} s)")
        for column in ("lengths", "bit error / sequence", "accuracy", "per-step accuracy"):
            table.add_column(column, justify="right")
        for low, high in [(1, 5), (1, 10), (1, 20)]:
            counts = evaluate_counts(
                model,
                CopyTask(min_length=low, max_length=high),
                200,
                torch.Generator().manual_seed(seed + 1),
                trainer.device,
            )
            m = counts.summary()
            table.add_row(
                f"{low}-{high}",
                f"{m.bit_error_per_sequence:.3f}",
                f"{m.accuracy:.3f}",
                f"{m.per_step_accuracy:.3f}",
            )
    Console().print(table)
