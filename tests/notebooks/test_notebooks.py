"""The notebooks in notebooks/ run top to bottom without errors at tiny scale.

Each runs in a fresh ``python3`` kernel (ipykernel's own kernel spec) with
``DNCQA_NOTEBOOK_TINY=1``, one thread, and its working directory in ``notebooks/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT_S = 120
BUDGET_S = 90  # ~40 s on an idle 2-core machine; the bound leaves room for a busy one


@pytest.fixture(autouse=True)
def tiny_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DNCQA_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path / "home"))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")


def test_notebooks_exist() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["01_ingest_ask_memory.ipynb", "02_train_graph_lesson.ipynb"]


@pytest.mark.parametrize("name", ["01_ingest_ask_memory.ipynb", "02_train_graph_lesson.ipynb"])
def test_notebook_runs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert seconds < BUDGET_S, f"{name} took {seconds:.0f} s"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "no plot was shown"
    if name.startswith("01"):
        assert "exact:" in text and "agrees:" in text
    else:
        assert "train records" in text
