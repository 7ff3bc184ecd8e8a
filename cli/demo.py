"""``dncqa demo``: a short copy-task run that shows the DNC learning (placeholder until the graph demo)."""

from __future__ import annotations

import typer


def demo(
    seconds: float = typer.Option(30.0, help="Training time budget in seconds."),
) -> None:
    """Train a small DNC on the copy task for a few seconds and report the bit error.

    Examples:

      dncqa demo

      dncqa demo --seconds 10
    """
    raise NotImplementedError
