"""benchmarks.auto_processes's bookkeeping (the timed runs themselves are run by hand)."""

from __future__ import annotations

import json
import subprocess

from benchmarks import auto_processes


def test_a_run_reads_the_commands_json_and_times_it(monkeypatch):
    seen = []

    def fake_run(command, **kwargs):
        seen.append(command)
        summary = {"episodes": 800, "elapsed_s": 4.0}
        return subprocess.CompletedProcess(command, 0, "progress\n" + json.dumps(summary), "")

    monkeypatch.setattr(auto_processes.subprocess, "run", fake_run)
    row = auto_processes.run("inference", 50, 2)
    command = seen[0]
    assert command[command.index("--steps") + 1] == "50"
    assert command[command.index("--processes") + 1] == "2"
    assert command[command.index("--task") + 1] == "inference"
    assert row["episodes"] == 800 and row["train_episodes_per_s"] == 200.0
    assert row["wall_s"] > 0 and row["wall_episodes_per_s"] == 800 / row["wall_s"]
    assert row["code"] == "now" and row["other_s"] == row["wall_s"] - 4.0
    assert "| now | inference | 50 | 2 | 800 | 200.0 |" in auto_processes.table([row])


def test_a_baseline_run_uses_its_checkout(monkeypatch, tmp_path):
    seen = []

    def fake_run(command, **kwargs):
        seen.append(kwargs)
        return subprocess.CompletedProcess(command, 0, json.dumps({"episodes": 8,
                                                                   "elapsed_s": 1.0}), "")

    monkeypatch.setattr(auto_processes.subprocess, "run", fake_run)
    row = auto_processes.run("traversal", 3, 1, tmp_path, "baseline")
    assert seen[0]["cwd"] == tmp_path and seen[0]["env"]["PYTHONPATH"] == str(tmp_path)
    assert row["code"] == "baseline"
    auto_processes.run("traversal", 3, 1)
    assert seen[1]["cwd"] is None and seen[1]["env"] is None  # this checkout, as installed


def test_the_median_run_by_wall_time():
    runs = [{"wall_s": w, "episodes": 8} for w in (3.0, 1.0, 2.0, 9.0)]
    row = auto_processes.median_row(runs)
    assert row["wall_s"] == 2.0  # the lower middle one
    assert row["runs"] == 4 and row["wall_spread"] == [1.0, 9.0]
