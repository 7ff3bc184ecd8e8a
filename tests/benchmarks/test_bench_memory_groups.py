"""benchmarks.memory_groups's bookkeeping on a tiny run (the timed runs are run by hand)."""

from __future__ import annotations

import json

from benchmarks import memory_groups
from dnc_qa.models import trimmed


def test_a_tiny_run_writes_every_case_and_restores_the_group_cost(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_groups, "CELLS", ((6, 6), (6, 9)))
    monkeypatch.setattr(memory_groups, "BATCHES", (2, 8))
    cost = trimmed.GROUP_COST
    assert memory_groups.main(["--batches", "1", "--reps", "1", "--tasks", "traversal",
                               "--out", str(tmp_path)]) == 0
    restored = trimmed.GROUP_COST
    assert restored == cost
    record = json.loads((tmp_path / "memory_groups.json").read_text())
    assert [(r["B"], r["T"], r["N"]) for r in record["row_step_costs"]] == [
        (8, 6, 6), (8, 6, 9), (2, 120, 120)]
    (step,) = record["training_steps"]
    assert step["task"] == "traversal" and step["batches"] == 1
    assert step["groups_per_batch"] >= 1
    assert {"one_memory_ms", "groups_ms", "speedup"} <= step.keys()
