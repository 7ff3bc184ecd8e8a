"""Exact answers on the bundled example data (data/transit, the packaged family tree), asked in
English."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.exact_answers import Answer, exact_answer, is_valid_path
from dnc_qa.app.kinship import derived_relations
from dnc_qa.app.queries import NeighboursQuery, Query, RelationQuery, ShortestPathQuery
from dnc_qa.app.questions import Vocabulary, parse_question
from dnc_qa.graphs.io import read_graph
from dnc_qa.graphs.relations import follow

DATA = Path(__file__).resolve().parents[2] / "data"
PACKAGE_DATA = Path(__file__).resolve().parents[2] / "dnc_qa" / "app" / "demo_data"


@pytest.fixture(scope="module")
def transit() -> nx.MultiDiGraph:
    return read_graph(DATA / "transit")


@pytest.fixture(scope="module")
def tree() -> nx.MultiDiGraph:
    return read_graph(PACKAGE_DATA / "family-tree.json")


def ask(graph: nx.MultiDiGraph, name: str, question: str) -> tuple[Query, Answer]:
    query = parse_question(question, Vocabulary.from_graph(graph, name))
    return query, exact_answer(graph, query)


def test_transit_is_recognised(transit: nx.MultiDiGraph) -> None:
    vocab = Vocabulary.from_graph(transit, "meridian")
    assert vocab.nodes.kind == "station"
    assert vocab.lines is not None and "Amber" in vocab.lines.names


def test_transit_traversal_pinned(transit: nx.MultiDiGraph) -> None:
    # meridian.connections.csv: stations 1-2-3-4 in order on line 1 (Amber), heading north.
    query, ans = ask(transit, "meridian",
                     "from fenford square take the amber line northbound for three stops")
    assert ans.nodes == ("Fenford Square", "Silwick Hill", "Kelstead", "Quillgate Hill")
    _, back = ask(transit, "meridian", "start at Quillgate Hill and follow Amber S, Amber S")
    assert back.nodes == ("Quillgate Hill", "Kelstead", "Silwick Hill")


def test_transit_shortest_paths_are_shortest(transit: nx.MultiDiGraph) -> None:
    stations = sorted(transit.nodes)[:12]
    checked = 0
    for a, b in itertools.permutations(stations, 2):
        query, ans = ask(transit, "meridian", f"how do I get from {a} to {b}?")
        assert query == ShortestPathQuery(a, b)
        assert is_valid_path(transit, ans)
        assert ans.nodes[0] == a and ans.nodes[-1] == b
        assert len(ans.labels) == nx.shortest_path_length(transit, a, b)
        checked += 1
    assert checked == 12 * 11


def test_transit_neighbours(transit: nx.MultiDiGraph) -> None:
    for station in transit.nodes:
        query, ans = ask(transit, "meridian", f"which stations are next to {station.upper()}")
        assert query == NeighboursQuery(station)
        expected = set(transit.successors(station)) | set(transit.predecessors(station))
        assert set(ans.nodes) == expected and expected


def test_family_is_recognised(tree: nx.MultiDiGraph) -> None:
    assert Vocabulary.from_graph(tree, "family").nodes.kind == "person"


def test_family_derived_relations_match_their_definition(tree: nx.MultiDiGraph) -> None:
    """Every person x every derived relation, asked in English, equals the composition."""
    nonempty = 0
    for person in tree.nodes:
        for key, relation in derived_relations().items():
            query, ans = ask(tree, "family", f"who is {person}'s {key}?")
            assert query == RelationQuery(person, relation.name)
            expected = follow(tree, person, relation.labels) - {person}
            assert set(ans.nodes) == expected
            nonempty += bool(expected)
    assert nonempty > 50  # the check is not vacuous


def _targets(graph: nx.MultiDiGraph, node: str, *labels: str) -> set[str]:
    return {v for _, v, k in graph.out_edges(node, keys=True) if k in labels}


def test_family_base_relations_and_cousins_from_raw_edges(tree: nx.MultiDiGraph) -> None:
    """Answers recomputed from the raw edges, independently of the kinship code."""
    cousins_seen = 0
    for person in tree.nodes:
        _, mother = ask(tree, "family", f"who is {person}'s mother")
        assert set(mother.nodes) == _targets(tree, person, "mother")
        parents = _targets(tree, person, "mother", "father")
        siblings = {c for p in parents for c in _targets(tree, p, "son", "daughter")} - {person}
        _, sibs = ask(tree, "family", f"who are {person}'s siblings")
        assert set(sibs.nodes) == siblings
        aunts_uncles = {s for p in parents for gp in _targets(tree, p, "mother", "father")
                        for s in _targets(tree, gp, "son", "daughter")} - parents
        cousins = {c for au in aunts_uncles for c in _targets(tree, au, "son", "daughter")}
        _, found = ask(tree, "family", f"who are the cousins of {person}?")
        assert set(found.nodes) == cousins
        cousins_seen += len(cousins)
    assert cousins_seen > 0


def test_text_kb_answers_its_own_questions() -> None:
    """Every question of data/kb/questions.tsv, parsed and answered exactly."""
    from dnc_qa.kb.textkb import read_qa

    kb = read_graph(DATA / "kb" / "facts.txt")
    vocab = Vocabulary.from_graph(kb, "facts")
    pairs = read_qa(DATA / "kb" / "questions.tsv")
    assert len(pairs) >= 20
    for pair in pairs:
        ans = exact_answer(kb, parse_question(pair.question, vocab))
        assert set(ans.nodes) & set(pair.answers), (pair.question, ans.nodes, pair.answers)


def test_family_grandchildren_are_childrens_children(tree: nx.MultiDiGraph) -> None:
    def children(p: str) -> set[str]:
        return {v for _, v, k in tree.out_edges(p, keys=True) if k in ("son", "daughter")}

    for person in tree.nodes:
        _, ans = ask(tree, "family", f"who are {person}'s grandchildren")
        assert set(ans.nodes) == {g for c in children(person) for g in children(c)}
