"""Shared fixtures for the graph tests: paths to the public data beside the clone."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared" / "data"
LONDON = SHARED / "london"


@pytest.fixture
def london() -> Path:
    """The public London Underground transit folder (skips when absent)."""
    if not (LONDON / "london.stations.csv").exists():
        pytest.skip("shared/data/london is not present beside the repository")
    return LONDON
