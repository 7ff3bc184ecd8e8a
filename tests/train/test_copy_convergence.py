"""The issue's proof that training works: DNC and NTM learn the copy task on one CPU thread.

Slow (about 1-3 minutes per model on an idle core, at most 15): run with ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_copy.py"


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("model", ["dnc", "ntm"])
def test_copy_reaches_target_bit_error(tmp_path: Path, model: str) -> None:
    out = tmp_path / model
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", model, "--out", str(out), "--no-progress",
         "--max-minutes", "15"],
        env=env, capture_output=True, text=True, timeout=1150,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads((out / "result.json").read_text())
    assert report["converged"]
    assert report["lengths_1_20"]["bit_error_per_sequence"] < 0.01
    assert report["lengths_1_20"]["episodes"] == 2000
    assert report["minutes"] <= 15
