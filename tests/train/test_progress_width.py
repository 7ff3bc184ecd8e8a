"""The training progress line fits the terminal: one line at 80 columns, more on wide ones."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dnc_qa.train.progress import TrainProgress


@pytest.mark.parametrize("by_time", [True, False])
@pytest.mark.parametrize("width", [80, 120])
def test_progress_line_fits(width: int, by_time: bool) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False)
    with TrainProgress(True, 600_000.0, by_time, "shortest_path dnc", console=console) as bar:
        bar.update(300_000.0, "lesson 12/15", 0.5452, 0.7119, 1207.3)
    lines = [line for line in buf.getvalue().splitlines() if line.strip()]
    assert lines and all(len(line) <= width for line in lines), lines
    last = lines[-1]
    assert "shortest_path dnc" in last and "lesson 12/15" in last and "acc 0.712" in last
    assert ("ep/s" in last) == (width >= 110)


def test_disabled_progress_prints_nothing() -> None:
    buf = io.StringIO()
    with TrainProgress(False, 10.0, False, "copy dnc",
                       console=Console(file=buf, width=80)) as bar:
        bar.update(5.0, "lesson 1/1", 0.1, 0.9, 10.0)
        bar.print("hello")
    assert buf.getvalue() == ""
