"""benchmarks.balance: one batch through both ways, and its table."""

from __future__ import annotations

from benchmarks.balance import measure, table


def test_balance_benchmark_on_one_batch() -> None:
    row = measure("traversal", batches=1, processes=2)
    assert row["task"] == "traversal" and row["batches"] == 1
    # the balanced split is the cheapest by the cost model, so never costlier than the
    # processes' own batches
    assert row["balanced_slowest_cost"] <= row["own_slowest_cost"]
    assert row["own_slowest_ms"] > 0 and row["balanced_slowest_ms"] > 0
    assert 0 < row["mean_share_ms"] <= max(row["own_slowest_ms"], row["balanced_slowest_ms"])
    assert "| traversal |" in table([row])
