"""benchmarks.train_throughput's bookkeeping (the timed runs themselves are run by hand)."""

from __future__ import annotations

from benchmarks.train_throughput import medians, table


def _run(code: str, task: str, mode: str, rate: float) -> dict:
    share = dict.fromkeys(("generation", "encoding", "forward", "backward", "optimiser",
                           "curriculum", "evaluation", "checkpoint", "other"), 0.0)
    return {"code": code, "task": task, "mode": mode, "episodes_per_s": rate,
            "share": share, "path": "fused C++ sequence"}


def test_each_row_is_its_median_run_with_the_spread():
    runs = [_run("baseline", "traversal", "1t", 30.0), _run("this", "traversal", "1t", 50.0),
            _run("baseline", "traversal", "1t", 24.0), _run("this", "traversal", "1t", 41.0),
            _run("baseline", "traversal", "1t", 33.0), _run("this", "traversal", "1t", 45.0)]
    rows = medians(runs)
    assert [(r["code"], r["episodes_per_s"], r["runs"], r["spread"]) for r in rows] == [
        ("baseline", 30.0, 3, [24.0, 33.0]), ("this", 45.0, 3, [41.0, 50.0])]
    assert "| this | traversal | 1t | 45.0 | 1.50 |" in table(rows)


def test_an_even_count_takes_the_lower_middle_and_failures_are_kept():
    runs = [_run("this", "inference", "1t", 10.0), _run("this", "inference", "1t", 20.0),
            {"code": "this", "task": "inference", "mode": "1t", "error": "boom"},
            {"code": "this", "task": "inference", "mode": "ddp2", "error": "no gloo"}]
    rows = medians(runs)
    assert rows[0]["episodes_per_s"] == 10.0 and rows[0]["runs"] == 2
    assert rows[1] == runs[-1]
    assert "failed: no gloo" in table(rows)


def test_the_ratio_is_against_the_baselines_fastest_mode_of_the_same_task():
    rows = [_run("baseline", "inference", "1t", 60.0), _run("baseline", "inference", "2t", 80.0),
            _run("baseline", "traversal", "1t", 30.0), _run("this", "inference", "ddp2", 200.0),
            _run("this", "traversal", "ddp2", 90.0)]
    text = table(rows)
    assert "| this | inference | ddp2 | 200.0 | 2.50 |" in text
    assert "| this | traversal | ddp2 | 90.0 | 3.00 |" in text
    assert "| baseline | inference | 1t | 60.0 |  |" in text
