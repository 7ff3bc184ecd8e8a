"""``dncqa models``: shipped models from their cards, trained runs from their files."""

from __future__ import annotations

import json
from pathlib import Path

from dnc_qa.app.engine import shipped_models
from tests.cli.test_train_cli import TINY, run_main


def test_models_lists_shipped_cards_and_runs(tmp_path: Path, capsys) -> None:
    run = tmp_path / "runs" / "copy"
    code, _, err = run_main(["train", "--task", "copy", "--steps", "2", "--out", str(run),
                             *TINY], capsys)
    assert code == 0, err
    code, out, err = run_main(["models", "--runs", str(tmp_path / "runs"), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert [m["name"] for m in report["shipped"]] == shipped_models()
    for m in report["shipped"]:
        assert m["task"] in ("traversal", "shortest_path", "inference", "kb_qa")
        assert 0 <= m["heldout_lesson_accuracy"] <= 1 and Path(m["card"]).is_file()
    assert [r["run"] for r in report["runs"]] == [str(run)]
    assert report["runs"][0]["task"] == "copy" and report["runs"][0]["step"] == 2
    code, out, _ = run_main(["models"], capsys)
    assert code == 0 and all(name in out for name in shipped_models())
    code, _, err = run_main(["models", "--runs", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "is not a folder" in err
