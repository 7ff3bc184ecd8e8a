"""Transit and family generators, PyG interop, and the bundled examples in data/."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.graphs import read_graph
from dnc_qa.graphs.family import (
    BASE_RELATIONS,
    DERIVED_RELATIONS,
    FamilySpec,
    derived,
    family_tree,
)
from dnc_qa.graphs.formats.transit import write_transit
from dnc_qa.graphs.pyg import from_pyg, to_pyg
from dnc_qa.graphs.stats import graph_stats
from dnc_qa.graphs.transit_generator import TransitSpec, transit_map

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


@pytest.mark.parametrize("seed", range(6))
def test_transit_generator(seed: int, tmp_path: Path) -> None:
    g = transit_map(TransitSpec(lines=6), seed)
    stats = graph_stats(g)
    assert stats.connected and stats.strong_components == 1
    assert stats.ambiguous_out_labels == 0
    lines = {d["line"] for *_, d in g.edges(data=True)}
    assert len(lines) == 6
    interchanges = [n for n in g if len({d["line"] for *_, d in g.out_edges(n, data=True)}) > 1]
    assert interchanges
    for u, v, d in g.edges(data=True):
        assert d["label"] == f"{d['line']} {d['direction']}" and d["direction"] in "NESW"
        back = g.edges[v, u, next(k for k in g[v][u] if g[v][u][k]["line"] == d["line"])]
        assert {d["direction"], back["direction"]} in ({"N", "S"}, {"E", "W"})
    write_transit(g, tmp_path, prefix="gen")
    assert nx.utils.graphs_equal(g, read_graph(tmp_path))
    assert nx.utils.graphs_equal(g, transit_map(TransitSpec(lines=6), seed))


def test_family_generator_shape() -> None:
    for seed in range(5):
        g = family_tree(FamilySpec(generations=4), seed)
        assert {d["generation"] for _, d in g.nodes(data=True)} <= set(range(4))
        assert {k for *_, k in g.edges(keys=True)} <= set(BASE_RELATIONS)
        for n in g:
            mothers = derived(g, n, "mother")
            fathers = derived(g, n, "father")
            assert len(mothers) == len(fathers) <= 1
            for m in mothers:
                assert g.nodes[m]["sex"] == "F" and n in derived(g, m, "son") | derived(
                    g, m, "daughter")
            for w in derived(g, n, "wife"):
                assert derived(g, w, "husband") == {n}
    assert nx.utils.graphs_equal(family_tree(seed=3), family_tree(seed=3))


def test_pyg_round_trip_keeps_names_and_labels() -> None:
    g = transit_map(seed=0)
    data = to_pyg(g)
    assert data.edge_index.shape == (2, g.number_of_edges())
    assert data.node_names == list(g.nodes) and data.pos.shape == (g.number_of_nodes(), 2)
    back = from_pyg(data)
    assert list(back.nodes) == list(g.nodes)
    assert list(back.edges(keys=True)) == list(g.edges(keys=True))


def test_bundled_transit_example() -> None:
    g = read_graph(DATA / "transit")
    stats = graph_stats(g)
    assert 30 <= stats.nodes <= 60 and stats.connected
    assert len({d["line"] for *_, d in g.edges(data=True)}) >= 6
    assert stats.ambiguous_out_labels == 0
    assert stats.nodes == len(list((DATA / "transit").glob("*.stations.csv"))[0]
                              .read_text().splitlines()) - 1


def test_bundled_examples_match_their_generator(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", DATA / "make_examples.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    assert module.main(["--check"]) == 0


# Hand-checked facts of the packaged family tree (read off the file, not the generator).
FAMILY_FACTS = {
    ("Eli", "wife"): {"Greta"},
    ("Iris", "mother"): {"Wynn"},
    ("Hana", "father"): {"Cai"},
    ("Bea", "brother"): {"Bo"},
    ("Mira", "maternal grandmother"): {"Edie"},
    ("Rosa", "son-in-law"): {"Ivo"},
    ("Lev", "daughter-in-law"): {"Xena"},
    ("Gus", "brother's son"): {"Cai", "Dov", "Tam", "Vik"},
    ("Hana", "paternal uncle"): {"Dov"},
    ("Hana", "maternal uncle"): {"Tam", "Vik"},
    ("Hana", "paternal great grandfather"): {"Eli"},
    ("Hana", "paternal great uncle"): {"Gus", "Quin"},
    ("Hana", "paternal great uncle's son"): {"Tam", "Vik"},
    ("Pia", "maternal aunt"): {"Alba"},
    ("Pia", "maternal aunt's daughter"): {"Mira"},
    ("Xan", "paternal aunt"): {"Alba", "Lena"},
    ("Xan", "paternal great uncle"): {"Pip"},
    ("Hana", "maternal great uncle"): set(),  # her maternal grandmother Zoe married in
}


def test_bundled_family_tree() -> None:
    g = read_graph(REPO / "dnc_qa" / "app" / "demo_data" / "family-tree.json")
    assert g.number_of_nodes() >= 30
    assert len({d["generation"] for _, d in g.nodes(data=True)}) >= 4
    for (person, relation), expected in FAMILY_FACTS.items():
        assert derived(g, person, relation) == expected, (person, relation)
    names = {str(r.label) for r in DERIVED_RELATIONS}
    assert {"maternal great uncle", "paternal grandfather", "brother"} <= names
