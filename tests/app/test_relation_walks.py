"""A traversal model answers a named family relation as its walk of edge labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace

FAMILY = Path(__file__).resolve().parents[2] / "data" / "family" / "family-tree.json"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("relation-walks") / "home")
    ingest(FAMILY, IngestOptions(name="family", model="traversal-dnc"), ws)
    return ws


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_labelled_relation_runs_as_a_walk(ws: Workspace, backend: str) -> None:
    result = ask("who is Cai's maternal grandmother", "family", ws, backend=backend)
    assert result.answer is not None and result.answer.kind == "node"
    assert "answered as the walk mother then mother" in result.note
    answer_steps = [stop - start for kind, start, stop in result.phases if kind == "answer"]
    assert answer_steps == [2]  # one answer step per edge of the walk
    assert result.exact is not None and result.exact.nodes == ("Rosa",)


def test_relation_without_a_fixed_walk_is_not_answered(ws: Workspace) -> None:
    result = ask("who are Eli's grandchildren", "family", ws)
    assert result.answer is None
    assert "one fixed walk of edge labels" in result.note
    assert set(result.exact.nodes) == {"Cai", "Dov", "Tam", "Tess", "Vik"}
