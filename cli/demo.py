"""``dncqa demo``: a short copy-task run that shows the DNC learning (placeholder until the
graph demo)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from dnc_qa.errors import DncQaError


def demo(
    seconds: float = typer.Option(30.0, help="Training time budget in seconds."),
    seed: int = typer.Option(0, help="Seed for weights and data."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
) -> None:
    """Train a small DNC on the copy task for a few seconds and report the bit error.

    The DNC (LSTM controller 64, memory 32x16, one read head) learns to copy 8-bit vectors
    with a length curriculum 1-5, 1-10, 1-15, 1-20. About 30-60 seconds on one CPU core is
    usually enough to copy sequences of 20 almost without errors.

    Examples:

      dncqa demo

      dncqa demo --seconds 10
    """
    import torch  # lazily: keeps `dncqa --help` and other commands fast

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
