"""A rich progress bar for training: task, lesson, loss, accuracy, episodes/s, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

WIDE = 110
"""Terminals at least this wide get the full line (bar of 30, elapsed time, episodes/s);
narrower ones a short bar and no elapsed time, so one line fits 80 columns."""


class TrainProgress:
    """Shows progress on stderr; ``enabled=False`` makes every method a no-op.

    The bar counts steps when the run is bounded by steps, else seconds of the time budget.
    ``console`` is for tests (default: stderr).
    """

    def __init__(self, enabled: bool, total: float, by_time: bool, description: str,
                 console: Console | None = None) -> None:
        self.enabled = enabled
        self.by_time = by_time
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if not enabled:
            return
        console = console or Console(stderr=True)
        self.wide = console.width >= WIDE
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30 if self.wide else 10),
            TextColumn("{task.percentage:>3.0f}%") if by_time else MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            *([TimeElapsedColumn()] if self.wide else []),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        self._progress = Progress(*columns, console=console, transient=False)
        self._task = self._progress.add_task(description, total=total, stats="")

    def __enter__(self) -> TrainProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(
        self,
        completed: float,
        lesson: str,
        loss: float | None = None,
        accuracy: float | None = None,
        episodes_per_s: float | None = None,
    ) -> None:
        if self._progress is None or self._task is None:
            return
        stats = [lesson]
        if loss is not None:
            stats.append(f"loss {loss:.3f}")
        if accuracy is not None:
            stats.append(f"acc {accuracy:.3f}")
        if episodes_per_s is not None and self.wide:
            stats.append(f"{episodes_per_s:.0f} ep/s")
        self._progress.update(self._task, completed=completed, stats=" ".join(stats))

    def print(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message)
