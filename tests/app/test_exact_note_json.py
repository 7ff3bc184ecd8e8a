"""``dncqa ask --json`` says why the exact answer is none (``exact_note``), as the text output
does: the hop of a chain of relations that has no stored edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphs.test_nodelink_transit import run_cli

FACTS = Path(__file__).resolve().parents[2] / "data" / "kb" / "facts.txt"
MISSING = "there is no 'mayor' edge from Harrowgate (hop 2 of 2)"


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path / "home"))
    code, _, err = run_cli(["ingest", str(FACTS), "--name", "facts", "--model", "none"], capsys)
    assert code == 0, err
    return tmp_path / "home"


def test_a_missing_hop_is_named_in_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = "who is the mayor of the capital of the Northern Reach"
    code, out, err = run_cli(["ask", question, "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["exact"] is None and result["exact_note"] == MISSING
    code, text, err = run_cli(["ask", question], capsys)
    assert code == 0 and MISSING in text, err


def test_an_exact_answer_has_no_note(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["ask", "who is the mayor of the capital of Eastmarch", "--json"],
                             capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["exact"] == ["Orla"] and result["exact_note"] is None
