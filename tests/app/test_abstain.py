"""Abstention: a model answer below ``--min-confidence`` is reported as no answer, kept in
JSON under ``withheld``, with the exact answer still beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dnc_qa
from dnc_qa.app.ask import (
    DEFAULT_MIN_CONFIDENCE,
    AskResult,
    check_min_confidence,
    default_min_confidence,
    withhold_below,
)
from dnc_qa.app.demo import PACKAGE_DATA
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import RelationQuery
from dnc_qa.errors import DncQaError
from tests.cli.test_train_cli import run_main as run_cli

FAMILY = PACKAGE_DATA / "family-tree.json"
QUESTION = "who is Bryn's father"  # one edge: the shipped model answers it


def result(confidence: float | None, answer: Answer | None = Answer("node", ("Zed",))
           ) -> AskResult:
    out = AskResult("who is Bryn's father", RelationQuery("Bryn", "father"), "family",
                    "traversal-dnc", Answer("node", ("Zed",)), answer, confidence,
                    agrees=answer is not None, note="answered as the walk father")
    return out


def test_an_answer_below_the_threshold_is_withheld_with_its_note() -> None:
    low = withhold_below(result(0.123), 0.3)
    assert low.answer is None and low.agrees is None and low.confidence == 0.123
    assert low.withheld is not None and low.withheld.confidence == 0.123
    assert low.note == "no answer (confidence 0.12 below 0.30); answered as the walk father"
    assert low.answer_lines() == ["no answer (confidence 0.12 below 0.30)",
                                  "note: answered as the walk father"]
    data = low.to_json()
    assert data["answer"] is None and data["exact"] == "Zed" and data["min_confidence"] == 0.3
    assert data["confidence"] == 0.123 and data["agrees"] is None
    assert data["withheld"] == {"answer": "Zed", "answer_text": "Zed",
                                "agrees": True, "min_confidence": 0.3,
                                "text": "no answer (confidence 0.12 below 0.30)"}


def test_answers_at_or_above_the_threshold_and_missing_answers_are_kept() -> None:
    kept = withhold_below(result(0.3), 0.3)
    assert kept.answer is not None and kept.withheld is None and kept.to_json()["withheld"] is None
    none = withhold_below(result(None, answer=None), 0.9)
    assert none.withheld is None and none.note == "answered as the walk father"


def test_threshold_checks_and_defaults() -> None:
    assert check_min_confidence(0.0) == 0.0 and check_min_confidence(None) is None
    with pytest.raises(DncQaError, match="between 0 and 1, not 1.5"):
        check_min_confidence(1.5)
    assert default_min_confidence("traversal-dnc") == DEFAULT_MIN_CONFIDENCE
    assert default_min_confidence("shortest-path-dnc", "shortest_path") == 0.1
    assert default_min_confidence("traversal-dnc", "relation") == DEFAULT_MIN_CONFIDENCE
    assert default_min_confidence("/some/checkpoint", "shortest_path") == 0.0
    assert default_min_confidence("untrained") == 0.0
    assert default_min_confidence("/some/checkpoint") == 0.0




@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the bundled family tree, written by the shipped model."""
    path = tmp_path_factory.mktemp("home")
    dnc_qa.ingest(FAMILY, "family", home=path)
    return path


def test_cli_min_confidence_text_and_json(home: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(home))
    code, out, err = run_cli(["ask", QUESTION, "--min-confidence", "0", "--json"], capsys)
    assert code == 0, err
    answered = json.loads(out)
    assert answered["answer"] == "Zed" and answered["withheld"] is None
    code, out, err = run_cli(["ask", QUESTION, "--min-confidence", "1"], capsys)
    assert code == 0, err
    assert f"no answer (confidence {answered['confidence']:.2f} below 1.00)" in out
    assert "exact:      Zed" in out and "agrees:" not in out
    code, out, err = run_cli(["ask", QUESTION, "--min-confidence", "1", "--json"], capsys)
    withheld = json.loads(out)
    assert withheld["answer"] is None and withheld["exact"] == ["Zed"]
    assert withheld["withheld"]["answer"] == "Zed"
    assert withheld["confidence"] == answered["confidence"]
    code, _, err = run_cli(["ask", QUESTION, "--min-confidence", "-0.1"], capsys)
    assert code == 2 and err.strip() == "error: --min-confidence must be between 0 and 1, not -0.1"


def test_api_min_confidence(home: Path) -> None:
    family = dnc_qa.open_graph("family", home=home)
    kept = family.ask(QUESTION, min_confidence=0.0)
    assert kept.answer == "Zed" and kept.withheld is None
    held = family.ask(QUESTION, min_confidence=1.0)
    assert held.answer is None and held.agrees is None and held.exact == ["Zed"]
    assert held.confidence == kept.confidence
    assert held.withheld["answer"] == "Zed" and held.min_confidence == 1.0
    assert str(held).splitlines()[1].startswith("model: no answer (confidence ")
    default = family.ask(QUESTION)
    assert default.min_confidence == DEFAULT_MIN_CONFIDENCE


def test_untrained_noise_is_never_printed_as_a_label(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path))
    code, _, err = run_cli(["ingest", str(FAMILY), "--model", "untrained"], capsys)
    assert code == 0, err
    for question in ("who is Bryn's father", "who are Eli's grandchildren",
                     "start at Ivo and follow father then wife"):
        code, out, err = run_cli(["ask", question], capsys)
        assert code == 0, err
        assert "unknown label" not in out and "<" not in out
        assert "min_confidence" in run_cli(["ask", question, "--json"], capsys)[1]
