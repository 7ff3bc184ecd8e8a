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
    assert "| inference | 50 | 2 | 800 | 200.0 |" in auto_processes.table([row])
