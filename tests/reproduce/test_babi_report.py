"""``dncqa reproduce babi``: the table-building functions on hand-made numbers, the published
numbers against the spec, tiny runs on miniature bAbI files end to end, and bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from dnc_qa.cli.main import main
from dnc_qa.reproduce import babi_report
from dnc_qa.reproduce.babi_report import RunResult, Segment
from dnc_qa.reproduce.paper import BABI_PAPER
from dnc_qa.tasks.babi import ENV_VAR

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "paper-setups.md"
ROOMS = ["bathroom", "hallway", "kitchen", "office", "garden", "bedroom"]
TINY = ["--hidden-size", "8", "--num-cells", "4", "--cell-width", "4", "--batch-size", "2",
        "--no-progress", "--final-eval-episodes", "2", "--eval-episodes", "2",
        "--eval-every", "1", "--log-every", "1", "--threads", "1"]


def result(folder: str, model: str, task: int, errors: dict[int, float],
           episodes: int = 100) -> RunResult:
    return RunResult(folder=folder, model=model, babi_task=task, checkpoint=f"{folder}/ck",
                     step=episodes // 4, episodes=episodes, elapsed_s=3600.0, threads=1,
                     threads_source="recorded", cpu_hours=1.0, task_errors=errors,
                     questions=dict.fromkeys(errors, 10), curve=[(8, 90.0), (16, 80.0)],
                     continue_command=f"dncqa train --out {folder} --resume --steps 50")


# --------------------------------------------------------------------------- pure functions


def test_summarize_counts_failures_above_five_percent() -> None:
    assert babi_report.summarize({1: 0.0, 2: 10.0, 3: 5.0}) == {"mean_error": 5.0, "failed": 1,
                                                         "tasks": 3}
    assert babi_report.summarize({}) == {"mean_error": None, "failed": None, "tasks": 0}


def test_columns_and_which_run_fills_a_cell() -> None:
    runs = [result("a", "dnc", 1, {1: 30.0}, episodes=100),
            result("b", "dnc", 1, {1: 10.0}, episodes=500),
            result("c", "lstm", 2, {2: 50.0}),
            result("j", "dnc", 0, {t: float(t) for t in range(1, 21)})]
    assert [k for k, _ in babi_report.our_columns(runs)] == [
        "dnc-single", "lstm-single", "dnc-joint", "lstm-joint"]
    with_ntm = babi_report.our_columns([*runs, result("n", "ntm", 3, {3: 1.0})])
    assert [k for k, _ in with_ntm] == ["dnc-single", "ntm-single", "lstm-single",
                                        "dnc-joint", "ntm-joint", "lstm-joint"]
    chosen = babi_report.choose_runs(runs)
    assert chosen["dnc-single"][1].folder == "b"  # more episodes wins
    assert chosen["lstm-single"][2].folder == "c"
    assert {t: r.folder for t, r in chosen["dnc-joint"].items()} == dict.fromkeys(
        range(1, 21), "j")


def test_report_table_from_hand_made_numbers() -> None:
    runs = [result("r/dnc-task1", "dnc", 1, {1: 2.0}), result("r/dnc-task3", "dnc", 3, {3: 40.0}),
            result("r/lstm-task1", "lstm", 1, {1: 60.0}),
            result("r/dnc-joint", "dnc", 0, {t: 4.0 if t % 2 else 8.0 for t in range(1, 21)})]
    report = babi_report.build_report(runs, None, ["a note"])
    assert [r["task"] for r in report["rows"]] == list(range(1, 21))
    row1, row2, row3 = (report["rows"][i]["errors"] for i in range(3))
    assert row1["dnc-single"] == 2.0 and row1["lstm-single"] == 60.0
    assert row1["dnc-joint"] == 4.0 and row2["dnc-joint"] == 8.0 and row1["lstm-joint"] is None
    assert row2["dnc-single"] is None and row3["dnc-single"] == 40.0
    assert all(v is None for r in report["rows"] for k, v in r["errors"].items()
               if k.startswith("paper-"))
    s = report["summary"]
    assert s["dnc-single"] == {"mean_error": 21.0, "failed": 1, "tasks": 2}
    assert s["dnc-joint"] == {"mean_error": 6.0, "failed": 10, "tasks": 20}
    assert s["lstm-joint"] == {"mean_error": None, "failed": None, "tasks": 0}
    assert s["paper-dnc-mean"]["mean_error"] == 16.7 and s["paper-dnc-best"]["failed"] == 2

    lines = babi_report.table_lines(report)
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:5] == ["task", "DNC single-task", "LSTM single-task", "DNC joint",
                          "LSTM joint"]
    assert len(header) == 1 + 4 + len(babi_report.PAPER_COLUMNS) and len(lines) == 2 + 20 + 3
    first = [c.strip() for c in lines[2].strip("|").split("|")]
    assert first[:6] == ["1. single supporting fact", "2.0", "60.0", "4.0", "", ""]
    mean = [c.strip() for c in lines[22].strip("|").split("|")]
    assert mean[1:5] == ["21.0", "60.0", "6.0", ""]
    assert mean[5:] == ["27.3 ± 0.8", "16.7 ± 7.6", "3.8", "9.5 ± 1.6", "3.2 ± 0.5", "2.9"]
    failed = [c.strip() for c in lines[23].strip("|").split("|")]
    assert failed[1:] == ["1", "1", "10", "", "17.1 ± 1.0", "11.2 ± 5.4", "2", "", "1.4", "1"]

    md = babi_report.markdown(report)
    assert "* a note" in md and "dncqa train --out r/dnc-joint --resume --steps 50" in md
    assert [r["in_table"] for r in report["runs"]] == [True, True, True, True]
    json.loads(json.dumps(report, allow_nan=False))


def test_find_runs_follows_links_and_stops_at_runs(tmp_path: Path) -> None:
    for name in ("a/run1", "b", "b/checkpoints/step-1/checkpoints", "elsewhere/run2"):
        (tmp_path / name / "checkpoints").mkdir(parents=True, exist_ok=True)
    (tmp_path / "a" / "linked").symlink_to(tmp_path / "elsewhere" / "run2")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    assert babi_report.find_runs(tmp_path / "a") == [tmp_path / "a" / "linked",
                                                     tmp_path / "a" / "run1"]
    assert babi_report.find_runs(tmp_path / "b") == [tmp_path / "b"]
    with pytest.raises(babi_report.DncQaError, match="is not a folder"):
        babi_report.find_runs(tmp_path / "missing")


def test_cpu_hours_per_segment() -> None:
    records = [
        {"event": "start", "step": 0, "world_size": 1, "threads": 2},
        {"event": "train", "step": 50, "elapsed_s": 1800.0},
        {"event": "train", "step": 100, "elapsed_s": 3600.0},
        {"event": "resume", "step": 100, "threads": 1},
        {"event": "train", "step": 150, "elapsed_s": 5400.0},
        {"event": "train", "step": 300, "elapsed_s": 9999.0},  # after the checkpoint
    ]
    parts = babi_report.segments(records, end_step=200, end_s=7200.0)
    assert parts == [Segment(0.0, 3600.0, 2, 1), Segment(3600.0, 7200.0, 1, 1)]
    assert babi_report.cpu_hours(parts) == pytest.approx(3.0)
    unknown = babi_report.segments([{"event": "start", "step": 0, "world_size": 2}], 10, 1800.0)
    assert babi_report.cpu_hours(unknown) is None
    assert babi_report.cpu_hours(babi_report.segments(
        [{"event": "start", "step": 0, "world_size": 2}], 10, 1800.0, default_threads=3)
    ) == pytest.approx(3.0)
    assert babi_report.segments([], 5, 60.0, 1) == [Segment(0.0, 60.0, 1, 1)]


def test_curve_questions_cap_and_continue_command() -> None:
    records = [{"event": "start", "step": 0, "world_size": 2},
               {"event": "eval", "step": 10, "per_step_accuracy": 0.25},
               {"event": "train", "step": 10, "per_step_accuracy": 0.9},
               {"event": "eval", "step": 20, "per_step_accuracy": 1.0},
               {"event": "eval", "step": 30, "per_step_accuracy": 1.0}]
    assert babi_report.validation_curve(records, batch_size=4, end_step=20) == [(80, 75.0),
                                                                                (160, 0.0)]
    assert babi_report.stories_for_questions([5, 5, 5], None) == 3
    assert babi_report.stories_for_questions([5, 5, 5], 6) == 2
    assert babi_report.stories_for_questions([5, 5, 5], 100) == 3
    assert babi_report.continue_command("r/x", 10, 90.0, True, 1) == (
        "dncqa train --out r/x --resume --minutes 3 --threads 1 --no-progress")
    assert babi_report.continue_command("r/x", 10, 90.0, False, None) == (
        "dncqa train --out r/x --resume --steps 20 --no-progress")
    assert babi_report.continue_command("r/x", 10, 90.0, True, 1, processes=2) == (
        "dncqa train --out r/x --resume --minutes 3 --processes 2 --threads 1 --no-progress")
    assert [babi_report.fmt(x) for x in (None, 2, 2.25, 0.0)] == ["", "2", "2.2", "0.0"]


EXPECTED_PAPER = {  # shared/spec/paper-setups.md, sections 1 (bAbI) and 3
    "DNC1": (20, 4.3, 2, 16.7, 7.6, 11.2, 5.4), "DNC2": (20, 3.8, 2, 20.8, 7.1, 14.0, 5.0),
    "LSTM": (20, 25.2, 15, 27.3, 0.8, 17.1, 1.0), "NTM": (20, 20.1, None, 28.5, 2.9, 17.3, 0.7),
    "MemN2N": (None, 7.5, 6, None, None, None, None),
    "DNC (Csordás & Schmidhuber)": (None, None, None, 16.9, 5.2, None, None),
    "DNC-DS": (None, None, None, 15.3, 3.5, None, None),
    "DNC-MDS": (None, None, None, 11.0, 3.8, None, None),
    "DNC-MS": (None, None, None, 10.5, 1.9, None, None),
    "DNC-MD": (None, None, None, 9.5, 1.6, None, None),
    "rsDNC": (5, None, None, 6.3, 2.7, 3.2, None),
    "rsDNC-bi": (5, None, None, 3.2, 0.5, 1.4, None),
    "rsDNC-bi, task 16 augmented": (5, None, None, 0.4, 0.3, 0, None),
    "SDNC": (15, 2.9, 1, 6.4, 2.5, None, None),
    "DNC (Rae et al.)": (15, 5.2, 4, 12.8, 4.7, None, None),
}


def test_published_numbers_are_the_specs() -> None:
    assert {m: tuple(r)[2:] for m, r in BABI_PAPER.items()} == EXPECTED_PAPER
    if not SPEC.is_file():
        pytest.skip("shared/spec/paper-setups.md is absent")
    spec = SPEC.read_text(encoding="utf-8").replace("**", "")
    rows = {"DNC1": "| DNC1 |", "DNC2": "| DNC2 |", "LSTM": "| LSTM (512 units) |",
            "NTM": "| NTM |", "MemN2N": "| MemN2N", "DNC-DS": "| DNC-DS |",
            "DNC-MDS": "| DNC-MDS |", "DNC-MS": "| DNC-MS |", "DNC-MD": "| DNC-MD |",
            "DNC (Csordás & Schmidhuber)": "| DNC (their runs) | 16.9",
            "rsDNC": "| rsDNC |", "rsDNC-bi": "| Bidirectional rsDNC |",
            "rsDNC-bi, task 16 augmented": "| Bidirectional rsDNC, task 16",
            "SDNC": "| SDNC |", "DNC (Rae et al.)": "| DNC (their runs) | 5.2"}
    for model, start in rows.items():
        line = next(x for x in spec.splitlines() if x.startswith(start))
        r = BABI_PAPER[model]
        for value, sd in ((r.best_error, None), (r.best_failed, None),
                          (r.mean_error, r.mean_error_sd), (r.mean_failed, r.mean_failed_sd)):
            if value is not None:
                text = str(value) if sd is None else f"{value}±{sd}"
                assert re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", line), (model, text)


# --------------------------------------------------------------------------- end to end


def tiny_story(task: int, i: int) -> str:
    room = ROOMS[(i + task) % len(ROOMS)]
    lines = [f"{n} Mary moved to the {room}." for n in range(1, 3)]
    return "\n".join([*lines, f"3 Where is Mary? \t{room}\t2",
                      f"4 Where is Mary? \t{room}\t2"]) + "\n"


def write_data(root: Path) -> Path:
    """A miniature ``en-10k``: 6 training and 3 test stories (2 questions each) per task."""
    folder = root / "en-10k"
    folder.mkdir(parents=True)
    for t in range(1, 21):
        for split, n in (("train", 6), ("test", 3)):
            text = "".join(tiny_story(t, i) for i in range(n))
            (folder / f"qa{t}_mini_{split}.txt").write_text(text, encoding="utf-8")
    return root


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    threads = torch.get_num_threads()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(data folder, results folder)`` with a DNC on task 1, an LSTM on task 2 and a DNC
    on all 20 tasks, two or three steps each."""
    tmp = tmp_path_factory.mktemp("babi")
    data, results = write_data(tmp / "data"), tmp / "results"
    for name, extra in (("dnc-task1", ["--babi-task", "1", "--model", "dnc"]),
                        ("lstm-task2", ["--babi-task", "2", "--model", "lstm"]),
                        ("dnc-joint", ["--model", "dnc", "--steps", "3"])):
        steps = [] if "--steps" in extra else ["--steps", "2"]
        try:
            main(["train", "--task", "babi", "--babi-dir", str(data), "--out",
                  str(results / name), *steps, *extra, *TINY])
        except SystemExit as exc:
            assert not exc.code
    (results / "notes").mkdir()  # a folder without a run is passed over
    return data, results


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_reproduce_babi_end_to_end(runs: tuple[Path, Path], tmp_path: Path, capsys,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data, results = runs
    monkeypatch.delenv(ENV_VAR, raising=False)
    out = tmp_path / "report"
    code, stdout, err = run_main(["reproduce", "babi", "--results", str(results), "--babi-dir",
                                  str(data), "--out", str(out), "--json", "--run-threads", "1"],
                                 capsys)
    assert code == 0, err
    for name in ("report.md", "report.json", "curves.png"):
        assert (out / name).is_file(), name

    def refuse(token: str) -> None:
        raise ValueError(token)

    report = json.loads((out / "report.json").read_text(), parse_constant=refuse)
    assert json.loads(stdout, parse_constant=refuse) == report
    by_folder = {Path(r["folder"]).name: r for r in report["runs"]}
    assert set(by_folder) == {"dnc-task1", "lstm-task2", "dnc-joint"}
    assert list(by_folder["dnc-task1"]["task_errors"]) == ["1"]
    assert list(by_folder["dnc-joint"]["task_errors"]) == [str(t) for t in range(1, 21)]
    assert by_folder["dnc-joint"]["questions"] == {str(t): 6 for t in range(1, 21)}
    joint = by_folder["dnc-joint"]
    assert (joint["step"], joint["episodes"], joint["threads"]) == (3, 6, 1)
    # elapsed_s is rounded to the millisecond: allow that much on a run of a few ms
    assert joint["cpu_hours"] == pytest.approx(joint["elapsed_s"] / 3600, rel=0.01, abs=2e-7)
    assert joint["curve"] and joint["curve"][0][0] == 2  # an eval at step 1, batch 2
    assert "--resume" in joint["continue_command"]

    # the same numbers as `dncqa eval RUN --json`
    code, stdout, err = run_main(["eval", str(results / "dnc-joint"), "--json", "--device",
                                  "cpu", "--babi-dir", str(data)], capsys)
    assert code == 0, err
    expected = json.loads(stdout)["task_errors"]
    assert joint["task_errors"] == pytest.approx({t: 100 * e for t, e in expected.items()})

    # the table has a row per task and the JSON's numbers
    md = (out / "report.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    header = cells(table[0])
    keys = [c["key"] for c in report["columns"]]
    assert header == ["task", *(c["header"] for c in report["columns"])]
    assert keys[:4] == ["dnc-single", "lstm-single", "dnc-joint", "lstm-joint"]
    for t in range(1, 21):
        row = cells(next(x for x in table if x.startswith(f"| {t}. ")))
        values = report["rows"][t - 1]["errors"]
        assert row[1:] == [babi_report.fmt(values[k]) for k in keys]
    mean = cells(next(x for x in table if x.startswith("| **mean error")))
    assert mean[1:] == [babi_report.fmt(report["summary"][k]["mean_error"],
                                 report["summary"][k].get("mean_error_sd")) for k in keys]
    assert report["rows"][0]["errors"]["dnc-single"] == by_folder["dnc-task1"]["task_errors"]["1"]
    assert report["rows"][1]["errors"]["lstm-single"] == (
        by_folder["lstm-task2"]["task_errors"]["2"])
    assert report["rows"][2]["errors"]["dnc-single"] is None

    # the paper columns are the spec's
    for key, _, model, statistic in babi_report.PAPER_COLUMNS:
        s, p = report["summary"][key], BABI_PAPER[model]
        assert s["mean_error"] == (p.best_error if statistic == "best" else p.mean_error)
        assert s["failed"] == (p.best_failed if statistic == "best" else p.mean_failed)

    # --questions caps each task at the stories that reach N questions
    quick = tmp_path / "quick"
    code, _, err = run_main(["reproduce", "babi", "--results", str(results), "--babi-dir",
                             str(data), "--out", str(quick), "--questions", "3"], capsys)
    assert code == 0, err
    small = json.loads((quick / "report.json").read_text())
    assert small["questions_per_task"] == 3
    assert all(n == 4 for r in small["runs"] for n in r["questions"].values())


def test_bad_input_is_one_line_exit_2(runs: tuple[Path, Path], tmp_path: Path, capsys,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data, results = runs
    monkeypatch.delenv(ENV_VAR, raising=False)
    empty = tmp_path / "empty"
    (empty / "something").mkdir(parents=True)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(results / "dnc-task1", corrupt / "dnc-task1")
    latest = babi_report.find_runs(corrupt)[0] / "checkpoints"
    name = (latest / "latest").read_text().strip()
    (latest / name / "model.safetensors").write_bytes(b"not a safetensors file")
    nodata = tmp_path / "nodata"
    nodata.mkdir()
    cases = [
        (["--results", str(tmp_path / "nowhere")], "is not a folder"),
        (["--results", str(empty)], "no bAbI runs under"),
        (["--results", str(corrupt)], "corrupt checkpoint file"),
        (["--results", str(results), "--babi-dir", str(nodata)], "no qa1_*_test.txt"),
        (["--results", str(results), "--babi-dir", str(tmp_path / "gone")], "is not a folder"),
        (["--results", str(results), "--questions", "0"], "--questions must be >= 1"),
    ]
    for args, fragment in cases:
        code, _, err = run_main(["reproduce", "babi", "--out", str(tmp_path / "o"), *args],
                                capsys)
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and fragment in err, err


def test_graph_tasks_is_still_there(capsys) -> None:
    code, out, _ = run_main(["reproduce", "--help"], capsys)
    assert code == 0 and "graph-tasks" in out and "babi" in out
