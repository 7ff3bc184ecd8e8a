"""``dncqa eval`` on a ``kb_qa`` run splits accuracy by chain length (relations per
question), as it splits traversal by walk length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_train_cli import TINY, run_main


def test_eval_kb_qa_by_chain_length(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    out = tmp_path / "kb"
    code, _, err = run_main(["train", "--task", "kb_qa", "--steps", "3", "--out", str(out),
                             *TINY], capsys)
    assert code == 0, err
    code, stdout, err = run_main(["eval", str(out), "--episodes", "24", "--json",
                                  "--seed", "2"], capsys)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["task"] == "kb_qa" and report["unit"] == "chain"
    rows = report["by_length"]
    assert {r["length"] for r in rows} == {1, 2, 3}  # the final lesson chains 1-3 relations
    assert sum(r["answers"] for r in rows) == report["answers"] == 24
    assert report["beats_rules"] is None and report["rules"] == {}
    code, text, err = run_main(["eval", str(out), "--episodes", "24", "--seed", "2"], capsys)
    assert code == 0, err
    lines = text.splitlines()
    assert lines[1].split() == ["relations", "questions", "model"]
    assert [line.split()[:2] for line in lines[2:5]] == [
        [str(r["length"]), str(r["answers"])] for r in rows]
