"""Readers are linear: positions inside JSON (found by rescanning the text) are computed only
for the error that is raised, never for every node and edge.  Counted, not timed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.formats import jsonpos
from dnc_qa.graphs.io import read_graph


@pytest.fixture()
def scans(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []
    real = jsonpos.offset_of

    def counting(text: str, path: tuple) -> int | None:
        calls.append(tuple(path))
        return real(text, path)

    monkeypatch.setattr(jsonpos, "offset_of", counting)
    return calls


def _node_link(n: int) -> dict:
    nodes = [{"id": f"n{i}"} for i in range(n)]
    links = [{"source": f"n{i}", "target": f"n{i + 1}", "label": "next"} for i in range(n - 1)]
    return {"nodes": nodes, "links": links}


def _transit(n: int) -> dict:
    return {"stations": [{"id": i, "name": f"S{i}"} for i in range(n)],
            "lines": [{"line": 1, "name": "Red"}],
            "connections": [{"station1": i, "station2": i + 1, "line": 1}
                            for i in range(n - 1)]}


@pytest.mark.parametrize("make", [_node_link, _transit])
def test_valid_json_is_never_rescanned(tmp_path: Path, scans: list, make) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(make(2000), indent=1))
    graph = read_graph(path)
    assert graph.number_of_nodes() == 2000
    assert scans == []


def test_an_error_still_names_its_line_and_column(tmp_path: Path, scans: list) -> None:
    data = _node_link(500)
    data["links"][300]["target"] = "nowhere"
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data, indent=1))
    with pytest.raises(GraphFormatError) as err:
        read_graph(path)
    message = str(err.value)
    assert "links[300]" in message and "line " in message and "'nowhere'" in message
    assert 0 < len(scans) <= 4  # only the failing edge's place was looked up


def test_duplicate_station_names_point_at_both_records(tmp_path: Path, scans: list) -> None:
    data = _transit(50)
    data["stations"][40]["name"] = "S3"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data, indent=1))
    with pytest.raises(GraphFormatError, match=r"duplicate station name 'S3' \(first at "
                                               r"stations\[3\] \(line \d+"):
        read_graph(path)
    assert len(scans) <= 6
