"""A cold ``dncqa ask`` served by the NumPy path never imports torch (torch's import
alone is most of a cold answer), and the CLI registers its commands without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "from Fenford Square take the Amber line north for 3 stops"


def run_python(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if home is not None:
        env["DNCQA_HOME"] = str(home)
    return subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                          text=True, env=env, timeout=300, cwd=ROOT)


def imported_modules(stderr: str) -> set[str]:
    """The modules ``-X importtime`` reports as loaded.

    An import that only *tried* torch and was refused (spaCy's thinc, see
    ``dnc_qa.app.ask.import_spacy_without_torch``) is listed as ``torch`` with a few
    microseconds and no submodules; a real import of torch loads ``torch._C`` and more, so
    ``torch`` counts only when some ``torch.*`` module was loaded too.
    """
    names = {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    if not any(name.startswith("torch.") for name in names):
        names.discard("torch")
    return names


def test_the_torch_check_sees_torch() -> None:
    """The check below can fail: a process that imports torch is caught."""
    proc = run_python("-c", "import torch")
    assert proc.returncode == 0 and "torch" in imported_modules(proc.stderr)
    blocked = run_python("-c", "from dnc_qa.app.ask import import_spacy_without_torch as f; "
                               "f(); import sys; print('torch' in sys.modules)")
    assert blocked.returncode == 0 and blocked.stdout.strip() == "False", blocked.stderr
    assert "torch" not in imported_modules(blocked.stderr)


def test_cli_registers_its_commands_without_torch() -> None:
    proc = run_python("-c", "import sys, dnc_qa.cli.main as m; "
                            "print('torch' in sys.modules, len(m.app.registered_commands))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "False" and int(proc.stdout.split()[1]) >= 8
    assert "torch" not in imported_modules(proc.stderr)
    help_proc = run_python("-m", "dnc_qa.cli.main", "--help")
    assert help_proc.returncode == 0 and "ask" in help_proc.stdout
    assert "torch" not in imported_modules(help_proc.stderr)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cold-home")
    ingest(ROOT / "data" / "transit", IngestOptions(name="metro", model="traversal-dnc"),
           Workspace(home))
    return home


def test_cold_ask_json_and_plot_do_not_import_torch(home: Path, tmp_path: Path) -> None:
    png = tmp_path / "memory.png"
    proc = run_python("-m", "dnc_qa.cli.main", "ask", QUESTION, "--graph", "metro", "--json",
                      "--plot", str(png), home=home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported_modules(proc.stderr)
    assert "spacy" in modules and "dnc_qa.inference" in modules  # it did parse and run
    assert "torch" not in modules, "dncqa ask imported torch"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    got = json.loads(proc.stdout)
    want = ask(QUESTION, "metro", Workspace(home), backend="torch").to_json()
    assert got["confidence"] == pytest.approx(want["confidence"], rel=1e-4)
    assert {**got, "confidence": None} == {**want, "confidence": None}
    assert got["answer"] is not None


def test_untrained_model_still_answers_through_torch(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "home")
    ingest(ROOT / "data" / "kb" / "facts.txt", IngestOptions(name="facts", model="untrained"), ws)
    proc = run_python("-m", "dnc_qa.cli.main", "ask", "What is the capital of Eastmarch?",
                      "--json", home=ws.home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "torch" in imported_modules(proc.stderr)  # the fallback
    assert "untrained" in json.loads(proc.stdout)["note"]
