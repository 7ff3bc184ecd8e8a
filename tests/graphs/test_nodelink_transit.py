"""Transit maps written as plain node-link JSON (undirected edges named by ``line``): directions
from coordinates, or from the line's terminals without them; the readers' options on ingest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dnc_qa.graphs.directions import LineShapeError, terminal_directions
from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.io import ReadOptions, read_graph
from tests.cli.test_train_cli import run_main as run_cli


def write_map(path: Path, nodes: list[dict[str, Any]], lines: dict[str, list[str]],
              directed: bool = False, **extra: Any) -> Path:
    """A node-link file whose ``lines`` are station sequences (one edge per neighbour pair)."""
    links = [{"source": a, "target": b, "line": line, **extra}
             for line, stops in lines.items() for a, b in zip(stops, stops[1:], strict=False)]
    path.write_text(json.dumps({"directed": directed, "nodes": nodes, "links": links}))
    return path


def labels(graph) -> set[str]:
    return {k for *_, k in graph.edges(keys=True)}


# Red runs north from Alder to Dale, Blue east from Elm through Birch to Fir.
XY = {"Alder": (0, 0), "Birch": (0, 1), "Cedar": (0, 2), "Dale": (0, 3), "Elm": (-1, 1),
      "Fir": (1, 1)}
LINES = {"Red": ["Alder", "Birch", "Cedar", "Dale"], "Blue": ["Elm", "Birch", "Fir"]}


@pytest.fixture
def planar(tmp_path: Path) -> Path:
    nodes = [{"id": n, "x": x, "y": y} for n, (x, y) in XY.items()]
    return write_map(tmp_path / "planar.json", nodes, LINES, time=2)


def test_coordinates_give_compass_directions(planar: Path) -> None:
    g = read_graph(planar)
    assert labels(g) == {"Red N", "Red S", "Blue E", "Blue W"}
    assert g.graph["kind"] == "transit"
    assert g.edges["Alder", "Birch", "Red N"] == {"label": "Red N", "line": "Red",
                                                  "direction": "N", "time": 2}
    assert g.has_edge("Birch", "Alder", "Red S") and g.has_edge("Birch", "Elm", "Blue W")
    assert g.nodes["Alder"] == {"x": 0, "y": 0}
    assert g.number_of_edges() == 10


def test_edge_mode_and_geographic_and_pos_coordinates(tmp_path: Path, planar: Path) -> None:
    bent = write_map(tmp_path / "bent.json",
                     [{"id": "A", "pos": [0, 0]}, {"id": "B", "pos": [1, 0.2]},
                      {"id": "C", "pos": [1.2, 1]}], {"Red": ["A", "B", "C"]})
    assert labels(read_graph(bent)) == {"Red E", "Red W"}
    each = read_graph(bent, options=ReadOptions(directions="edge"))
    assert each.has_edge("A", "B", "Red E") and each.has_edge("B", "C", "Red N")
    geo = write_map(tmp_path / "geo.json",
                    [{"id": "A", "lat": 51.50, "lon": -0.10}, {"id": "B", "lat": 51.51,
                                                               "lon": -0.10}],
                    {"Green Line": ["A", "B"]})
    g = read_graph(geo)
    assert g.has_edge("A", "B", "Green N") and g.has_edge("B", "A", "Green S")


def test_lines_without_coordinates_are_named_by_their_terminals(tmp_path: Path) -> None:
    path = write_map(tmp_path / "plain.json", [{"id": n} for n in XY],
                     {"Red Line": LINES["Red"], "Blue": LINES["Blue"]})
    g = read_graph(path)
    assert labels(g) == {"Red towards Alder", "Red towards Dale", "Blue towards Elm",
                         "Blue towards Fir"}
    assert g.has_edge("Birch", "Cedar", "Red towards Dale")
    assert g.has_edge("Cedar", "Birch", "Red towards Alder")
    assert g.edges["Fir", "Birch", "Blue towards Elm"]["direction"] == "towards Elm"


def test_mixed_map_uses_coordinates_only_where_a_line_has_them_all(tmp_path: Path) -> None:
    nodes = [{"id": n, "x": x, "y": y} for n, (x, y) in XY.items() if n != "Fir"]
    path = write_map(tmp_path / "mixed.json", nodes + [{"id": "Fir"}], LINES)
    assert labels(read_graph(path)) == {"Red N", "Red S", "Blue towards Elm",
                                        "Blue towards Fir"}


def test_branching_or_looping_line_without_coordinates_is_refused(tmp_path: Path) -> None:
    nodes = [{"id": n} for n in "ABCD"]
    branch = write_map(tmp_path / "branch.json", nodes, {"Red": ["A", "B", "C"]})
    data = json.loads(branch.read_text())
    data["links"].append({"source": "B", "target": "D", "line": "Red"})
    branch.write_text(json.dumps(data))
    with pytest.raises(GraphFormatError, match="line 'Red' branches at 'B'") as exc:
        read_graph(branch)
    assert "\n" not in str(exc.value) and "its own line name" in str(exc.value)
    loop = write_map(tmp_path / "loop.json", nodes, {"Ring": ["A", "B", "C", "A"]})
    with pytest.raises(GraphFormatError, match="line 'Ring' is a loop"):
        read_graph(loop)
    # with coordinates a branching line has compass directions
    placed = [{"id": n, "x": x, "y": y} for n, (x, y) in zip("ABCD", [(0, 0), (1, 0), (2, 0.1),
                                                                     (2, -0.1)], strict=True)]
    data["nodes"] = placed
    branch.write_text(json.dumps(data))
    g = read_graph(branch)
    assert g.has_edge("B", "C", "Red E") and g.has_edge("B", "D", "Red E")


def test_terminal_directions_of_two_stretches() -> None:
    order = {n: i for i, n in enumerate("ABCDE")}
    dirs = terminal_directions([("A", "B"), ("B", "C"), ("D", "E")], order)
    assert dirs[("A", "B")] == "C" and dirs[("B", "A")] == "A" and dirs[("E", "D")] == "D"
    with pytest.raises(LineShapeError) as exc:
        terminal_directions([("A", "B"), ("B", "C"), ("C", "A")], order)
    assert exc.value.loop


def test_directed_files_and_other_label_keys_are_kept_as_written(tmp_path: Path) -> None:
    nodes = [{"id": n} for n in XY]
    directed = write_map(tmp_path / "d.json", nodes, LINES, directed=True)
    assert labels(read_graph(directed)) == {"Red", "Blue"}
    data = json.loads(write_map(tmp_path / "u.json", nodes, LINES).read_text())
    for link in data["links"]:
        link["colour"] = link.pop("line")
    (tmp_path / "u.json").write_text(json.dumps(data))
    g = read_graph(tmp_path / "u.json", options=ReadOptions(label_keys=("colour",)))
    assert labels(g) == {"Red", "Blue"}


@pytest.mark.parametrize(("node", "fragment"), [
    ({"id": "Fir", "lat": 51.5, "lon": 0.1}, "use one kind of coordinates"),
    ({"id": "Fir", "x": 1}, "node 'Fir' has 'x' without 'y'"),
    ({"id": "Fir", "x": "east", "y": 1}, "must be finite numbers"),
    ({"id": "Fir", "pos": [1]}, "'pos' must be a list of two finite numbers"),
    ({"id": "Fir", "lat": 123, "lon": 1}, "latitude 123.0 is outside"),
])
def test_bad_coordinates_are_one_line_errors(tmp_path: Path, node: dict[str, Any],
                                             fragment: str) -> None:
    nodes = [{"id": n, "x": x, "y": y} for n, (x, y) in XY.items() if n != "Fir"] + [node]
    with pytest.raises(GraphFormatError, match=fragment):
        read_graph(write_map(tmp_path / "bad.json", nodes, LINES))




def test_ingest_and_ask_a_line_map(planar: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path / "home"))
    code, out, err = run_cli(["graph", "info", str(planar), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["labels"] == ["Blue E", "Blue W", "Red N", "Red S"]
    code, _, err = run_cli(["ingest", str(planar), "--name", "m", "--model", "none"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["ask", "from Alder take the Red line north for 2 stops",
                              "--graph", "m", "--json"], capsys)
    assert code == 0, err
    path = json.loads(out)["exact"]
    assert "Cedar" in json.dumps(path) and "Red N" in json.dumps(path)
    code, out, err = run_cli(["ask", "which stations are next to Birch", "--graph", "m",
                              "--json"], capsys)
    assert code == 0, err
    assert sorted(json.loads(out)["exact"]) == ["Alder", "Cedar", "Elm", "Fir"]


def test_ingest_takes_the_readers_label_options(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(tmp_path / "home"))
    path = tmp_path / "roads.json"
    path.write_text(json.dumps({"nodes": [{"id": "A"}, {"id": "B"}, {"id": "C"}], "links": [
        {"source": "A", "target": "B", "road": "high street"}, {"source": "B", "target": "C"}]}))
    code, _, err = run_cli(["ingest", str(path), "--model", "none"], capsys)
    assert code == 2 and "pass --label-key or --default-label" in err
    code, out, err = run_cli(["ingest", str(path), "--model", "none", "--label-key", "road",
                              "--default-label", "lane", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["edges"] == 2
    code, out, err = run_cli(["ask", "start at A and follow high street then lane",
                              "--graph", "roads", "--json"], capsys)
    assert code == 0, err
    assert "C" in json.dumps(json.loads(out)["exact"])
    code, _, err = run_cli(["ingest", str(path), "--directions", "diagonal"], capsys)
    assert code == 2 and "--directions must be 'line' or 'edge'" in err
