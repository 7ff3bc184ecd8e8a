"""``dncqa eval`` on the graph tasks: accuracy by length next to the no-memory rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_train_cli import TINY, run_main


def _strict(text: str) -> dict:
    def refuse(value: str) -> float:
        raise ValueError(f"non-standard JSON number {value}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("task", ["shortest_path", "inference"])
def test_eval_breakdown_json(task: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / task
    code, _, err = run_main(["train", "--task", task, "--steps", "2", "--out", str(out),
                             "--fit-cells", "--planning-per-edge", "0.5", "--warmup", "1",
                             "--bridge", *TINY], capsys)
    assert code == 0, err
    code, stdout, err = run_main(["eval", str(out), "--episodes", "12", "--lesson", "2",
                                  "--json", "--seed", "3"], capsys)
    assert code == 0, err
    report = _strict(stdout)
    assert report["unit"] == ("path" if task == "shortest_path" else "query")
    rows = report["by_length"]
    assert sum(r["answers"] for r in rows) == report["answers"]
    assert report["answers"] == (12 if task == "shortest_path" else 36)
    lengths = {r["length"] for r in rows}
    assert lengths <= ({2} if task == "shortest_path" else {2, 3})
    assert report["best_rule_accuracy"] == max(report["rules"].values())
    assert report["beats_rules"] == (report["answer_accuracy"] > report["best_rule_accuracy"])
    # the same seed gives the same episodes and the same numbers
    code, again, _ = run_main(["eval", str(out), "--episodes", "12", "--lesson", "2",
                               "--json", "--seed", "3"], capsys)
    assert _strict(again)["by_length"] == rows
    code, text, _ = run_main(["eval", str(out), "--episodes", "6", "--lesson", "1"], capsys)
    assert code == 0 and "best rule that needs no memory" in text


def test_eval_traversal_by_walk_length_and_shipped_model(capsys) -> None:
    """A shipped model folder (weights and config, no trainer state) is accepted by name."""
    code, stdout, err = run_main(["eval", "traversal-dnc", "--lesson", "3", "--episodes", "20",
                                  "--json", "--seed", "5"], capsys)
    assert code == 0, err
    report = _strict(stdout)
    assert report["unit"] == "walk" and report["beats_rules"] is None
    rows = report["by_length"]
    assert {r["length"] for r in rows} <= {1, 2, 3, 4}
    walks = sum(r["answers"] for r in rows)
    assert walks == report["answers"] >= 20
    right = sum(round(r["accuracy"] * r["answers"]) for r in rows)
    assert right == round(report["answer_accuracy"] * walks)


def test_eval_refuses_a_damaged_shipped_folder(tmp_path: Path, capsys) -> None:
    from dnc_qa.app.engine import PRETRAINED_DIR

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text((PRETRAINED_DIR / "traversal-dnc" / "config.json")
                                        .read_text())
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    code, _, err = run_main(["eval", str(folder), "--episodes", "2"], capsys)
    assert code == 2 and "corrupt model file" in err and "Traceback" not in err


def test_eval_planning_per_edge_sets_the_test_budget(tmp_path: Path, capsys,
                                                      monkeypatch) -> None:
    """``--planning-per-edge`` scores with that budget instead of the trained one; it is
    refused for a task without planning steps and outside 0..10."""
    import dnc_qa.train.breakdown as breakdown

    out = tmp_path / "sp"
    code, _, err = run_main(["train", "--task", "shortest_path", "--steps", "2", "--out",
                             str(out), "--fit-cells", "--planning-per-edge", "0.5",
                             "--warmup", "1", "--bridge", *TINY], capsys)
    assert code == 0, err
    seen = []
    original = breakdown.shortest_path_breakdown

    def spy(model, task, *args, **kwargs):
        seen.append(task.planning_per_edge)
        return original(model, task, *args, **kwargs)

    monkeypatch.setattr(breakdown, "shortest_path_breakdown", spy)
    code, stdout, err = run_main(["eval", str(out), "--episodes", "4", "--lesson", "2",
                                  "--json", "--planning-per-edge", "2"], capsys)
    assert code == 0, err
    assert _strict(stdout)["planning_per_edge"] == 2.0 and seen == [2.0]
    code, stdout, _ = run_main(["eval", str(out), "--episodes", "4", "--lesson", "2",
                                "--json"], capsys)
    assert "planning_per_edge" not in _strict(stdout) and seen == [2.0, 0.5]
    for bad in ("-1", "11", "nan"):
        code, _, err = run_main(["eval", str(out), "--episodes", "4",
                                 "--planning-per-edge", bad], capsys)
        assert code == 2 and "--planning-per-edge must be in 0..10" in err
    code, _, err = run_main(["eval", "traversal-dnc", "--episodes", "4",
                             "--planning-per-edge", "1"], capsys)
    assert code == 2 and "applies to shortest_path and inference" in err
