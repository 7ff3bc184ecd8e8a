"""``dncqa reproduce graph-tasks``: a tiny end-to-end run (hidden ``--steps``), reuse of a run
folder, bad input; the ci budget end to end is ``slow``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnc_qa.cli.main import main

ROW_KEYS = {"task", "model", "source", "checkpoint", "steps", "episodes", "wall_s",
            "lessons_passed", "lessons_total", "last_lesson", "heldout_accuracy",
            "per_lesson", "test_accuracy", "test_queries", "curve", "warmup_lessons"}


def run(args: list[str], capsys) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def check_report(out: Path, tasks: list[str], models: list[str]) -> dict:
    for name in ("report.md", "report.json", *(f"curve-{t}.png" for t in tasks)):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert {(r["task"], r["model"]) for r in report["rows"]} == {
        (t, m) for t in tasks for m in models}
    for r in report["rows"]:
        assert set(r) >= ROW_KEYS
        assert 0.0 <= r["heldout_accuracy"] <= 1.0 and 0.0 <= r["test_accuracy"] <= 1.0
        assert r["test_queries"] > 0 and Path(r["checkpoint"]).is_dir()
    exact = [b for b in report["baselines"] if b["model"] == "exact solver"]
    assert {b["task"] for b in exact} == set(tasks)
    assert all(b["test_accuracy"] == 1.0 for b in exact)
    assert {b["task"] for b in report["baselines"] if b["model"] == "GNN"} == set(tasks)
    md = (out / "report.md").read_text()
    assert "98.8%" in md or "traversal" not in tasks
    return report


def test_tiny_reproduction_writes_the_report(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rep"
    tasks, models = ["traversal", "shortest_path", "inference"], ["dnc", "lstm"]
    code, err = run(["reproduce", "graph-tasks", "--steps", "2", "--out", str(out),
                     "--models", ",".join(models)], capsys)
    assert code == 0, err
    report = check_report(out, tasks, models)
    assert report["budget"]["steps"] == 2
    for r in report["rows"]:
        assert r["steps"] == 2 and r["source"] == "trained"
        assert r["lessons_passed"] == 0
    trav = next(r for r in report["rows"] if r["task"] == "traversal")
    assert trav["warmup_lessons"] == 2 and trav["episodes"] == 16
    # the lesson reached, by length, beside the no-memory rules (none for traversal)
    units = {r["task"]: r["by_length"]["unit"] for r in report["rows"]}
    assert units == {"traversal": "walk", "shortest_path": "path", "inference": "query"}
    for r in report["rows"]:
        split = r["by_length"]
        assert sum(row["answers"] for row in split["by_length"]) == split["answers"] > 0
        assert (split["beats_rules"] is None) == (r["task"] == "traversal")
    assert "On the lesson each reached, by length" in (out / "report.md").read_text()

    # reuse the trained traversal DNC without training it again
    again = tmp_path / "again"
    run_dir = out / "runs" / "traversal-dnc"
    code, err = run(["reproduce", "graph-tasks", "--steps", "2", "--out", str(again),
                     "--tasks", "traversal", "--models", "dnc", "--from-run", str(run_dir)],
                    capsys)
    assert code == 0, err
    reused = check_report(again, ["traversal"], ["dnc"])
    assert reused["rows"][0]["source"] == str(run_dir)
    assert not (again / "runs").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--budget", "huge"], "unknown budget"),
    (["--tasks", "copy"], "unknown graph task"),
    (["--models", "gpt"], "unknown model"),
    (["--london", "/nonexistent"], "is not a folder"),
    (["--from-run", "/nonexistent"], "holds no checkpoint"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys, args, fragment) -> None:
    code, err = run(["reproduce", "graph-tasks", "--out", str(tmp_path / "o"), *args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


@pytest.mark.slow
def test_ci_budget_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ci"
    code, err = run(["reproduce", "graph-tasks", "--budget", "ci", "--out", str(out)], capsys)
    assert code == 0, err
    report = check_report(out, ["traversal", "shortest_path", "inference"], ["dnc", "ntm", "lstm"])
    assert report["wall_s"] < 330
