"""Reading every format into the canonical graph, and round trips through node-link JSON."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.graphs import GraphFormatError, ReadOptions, read_graph, write_graph
from dnc_qa.graphs.formats.transit import write_transit
from dnc_qa.graphs.io import detect_format
from dnc_qa.graphs.model import LABEL, Triple, graph_from_triples
from dnc_qa.graphs.stats import adjacent_pairs, graph_stats


def _small() -> nx.MultiDiGraph:
    g = graph_from_triples([Triple("a", "x", "b"), Triple("b", "y", "c"), Triple("a", "y", "b"),
                            Triple("c", "x", "a")])
    g.add_node("lonely", colour="red")
    g.nodes["a"]["size"] = 3
    g.edges["a", "b", "x"]["weight"] = 2.5
    return g


def _same(g: nx.MultiDiGraph, h: nx.MultiDiGraph) -> None:
    assert set(g.nodes) == set(h.nodes)
    assert sorted(g.edges(keys=True)) == sorted(h.edges(keys=True))
    for u, v, k, d in g.edges(keys=True, data=True):
        assert h.edges[u, v, k] == d
    assert all(isinstance(n, str) for n in h.nodes)
    assert all(isinstance(d[LABEL], str) and d[LABEL] == k for *_, k, d in
               h.edges(keys=True, data=True))


def test_london_counts(london: Path) -> None:
    g = read_graph(london)
    stats = graph_stats(g)
    assert stats.nodes == 302
    assert adjacent_pairs(g) == 349
    assert stats.edges == 2 * 406  # one row per line serving a pair, both directions
    assert stats.connected and stats.diameter == 38
    assert g.edges["Oxford Circus", "Tottenham Court Road", "Central E"]["line"] == "Central"
    assert g.edges["Tottenham Court Road", "Oxford Circus", "Central W"]["direction"] == "W"
    assert "Victoria N" in {k for *_, k in g.out_edges("Oxford Circus", keys=True)}
    assert nx.shortest_path_length(g, "Oxford Circus", "Bank") == 4


def test_london_json_matches_folder(london: Path) -> None:
    assert detect_format(london) == "transit"
    assert nx.utils.graphs_equal(read_graph(london), read_graph(london / "london.json"))


@pytest.mark.parametrize("ext", ["json", "graphml", "gml", "csv"])
def test_every_format_round_trips_through_node_link(tmp_path: Path, ext: str) -> None:
    g = _small()
    write_graph(g, tmp_path / f"g.{ext}")
    read = read_graph(tmp_path / f"g.{ext}")
    if ext == "csv":  # CSV cannot hold isolated nodes or node attributes
        g.remove_node("lonely")
    write_graph(read, tmp_path / "again.json")
    back = read_graph(tmp_path / "again.json")
    _same(read, back)
    assert nx.utils.graphs_equal(read, back)
    if ext != "csv":
        assert nx.utils.graphs_equal(g, read)
    else:
        _same(g, read)


def test_london_round_trips_through_every_format(london: Path, tmp_path: Path) -> None:
    g = read_graph(london)
    for ext in ("json", "graphml", "gml"):
        write_graph(g, tmp_path / f"l.{ext}")
        assert nx.utils.graphs_equal(g, read_graph(tmp_path / f"l.{ext}")), ext
    write_graph(g, tmp_path / "l.csv")
    _same(g, read_graph(tmp_path / "l.csv"))
    write_transit(g, tmp_path / "folder", prefix="tube")
    again = read_graph(tmp_path / "folder")
    assert sorted(again.edges(keys=True)) == sorted(g.edges(keys=True))


def test_node_link_undirected_and_edges_key(tmp_path: Path) -> None:
    data = {"directed": False, "nodes": [{"id": 1}, {"id": 2}],
            "edges": [{"source": 1, "target": 2, "relation": "r", "key": 0}]}
    (tmp_path / "u.json").write_text(json.dumps(data))
    g = read_graph(tmp_path / "u.json")
    assert sorted(g.edges(keys=True)) == [("1", "2", "r"), ("2", "1", "r")]


def test_label_key_and_default_label(tmp_path: Path) -> None:
    data = {"nodes": [{"id": "a"}, {"id": "b"}],
            "links": [{"source": "a", "target": "b", "kind": "k", "label": "L"},
                      {"source": "b", "target": "a"}]}
    (tmp_path / "g.json").write_text(json.dumps(data))
    with pytest.raises(GraphFormatError, match="no label"):
        read_graph(tmp_path / "g.json")
    g = read_graph(tmp_path / "g.json", options=ReadOptions(label_keys=("kind",),
                                                             default_label="?"))
    assert sorted(g.edges(keys=True)) == [("a", "b", "k"), ("b", "a", "?")]
    assert g.edges["a", "b", "k"]["label"] == "k"


def test_networkx_written_node_link_reads(tmp_path: Path) -> None:
    g = nx.MultiDiGraph()
    g.add_edge("p", "q", line="Red")
    (tmp_path / "nx.json").write_text(json.dumps(nx.node_link_data(g, edges="links")))
    assert list(read_graph(tmp_path / "nx.json").edges(keys=True)) == [("p", "q", "Red")]


def test_csv_undirected_and_weights(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("Source,Target,Label,Weight,colour\na,b,x,1.5,red\n\nb,c,y,,\n")
    g = read_graph(tmp_path / "e.csv", options=ReadOptions(undirected=True))
    assert g.number_of_edges() == 4
    assert g.edges["b", "a", "x"] == {"label": "x", "weight": 1.5, "colour": "red"}
    assert "weight" not in g.edges["b", "c", "y"]


def test_transit_fallback_directions_without_coordinates(tmp_path: Path) -> None:
    (tmp_path / "stations.csv").write_text("id,name\n1,A\n2,B\n3,C\n4,D\n")
    (tmp_path / "lines.csv").write_text("line,name\n1,Red Line\n2,Blue\n")
    (tmp_path / "connections.csv").write_text(
        "station1,station2,line\n2,3,1\n1,2,1\n3,4,2\n")
    g = read_graph(tmp_path)
    assert g.edges["A", "B", "Red out"] and g.edges["B", "C", "Red out"]
    assert g.edges["C", "B", "Red in"]["direction"] == "in"
    assert g.edges["C", "D", "Blue out"]["line"] == "Blue"


def test_transit_compass_modes(tmp_path: Path) -> None:
    (tmp_path / "x.stations.csv").write_text(
        "id,name,latitude,longitude\n1,W,51.5,-0.2\n2,M,51.51,-0.1\n3,E,51.5,0.0\n")
    (tmp_path / "x.lines.csv").write_text("line,name\n1,Green Line\n")
    (tmp_path / "x.connections.csv").write_text("station1,station2,line,time\n1,2,1,2\n2,3,1,3\n")
    g = read_graph(tmp_path)
    assert {k for *_, k in g.edges(keys=True)} == {"Green E", "Green W"}
    assert g.edges["W", "M", "Green E"]["time"] == 2.0
    h = read_graph(tmp_path, options=ReadOptions(directions="edge"))
    assert {k for *_, k in h.edges(keys=True)} == {"Green E", "Green W"}
