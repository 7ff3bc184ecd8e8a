"""Exact answers (networkx) and the agreement check, on small hand-made graphs."""

from __future__ import annotations

import networkx as nx
import pytest

from dnc_qa.app.exact_answers import (
    Answer,
    NoAnswerError,
    agrees,
    exact_answer,
    is_valid_path,
)
from dnc_qa.app.kinship import parse_relation
from dnc_qa.app.queries import (
    FactQuery,
    NeighboursQuery,
    RelationQuery,
    ShortestPathQuery,
    Step,
    TraversalQuery,
)

CE, CW = Step("Central", "E"), Step("Central", "W")


def test_shortest_path_prefers_fewest_edges(mini_tube: nx.MultiDiGraph) -> None:
    ans = exact_answer(mini_tube, ShortestPathQuery("Holborn", "Liverpool Street"))
    assert ans.kind == "path"
    assert ans.nodes == ("Holborn", "Chancery Lane", "St. Paul's", "Bank", "Liverpool Street")
    assert ans.labels == ("Central E",) * 4
    assert ans.to_json()[0] == ["Holborn", "Central E", "Chancery Lane"]
    assert ans.text().startswith("Holborn -[Central E]-> Chancery Lane")


def test_shortest_path_across_lines(mini_tube: nx.MultiDiGraph) -> None:
    ans = exact_answer(mini_tube, ShortestPathQuery("Victoria", "Tottenham Court Road"))
    assert ans.nodes == ("Victoria", "Green Park", "Oxford Circus", "Tottenham Court Road")
    assert ans.labels == ("Victoria N", "Victoria N", "Central E")


def test_no_route(mini_tube: nx.MultiDiGraph) -> None:
    mini_tube.add_node("Island")
    ans = exact_answer(mini_tube, ShortestPathQuery("Bank", "Island"))
    assert ans.kind == "none" and "no route" in ans.note
    assert ans.to_json() is None


def test_traversal(mini_tube: nx.MultiDiGraph) -> None:
    q = TraversalQuery("Holborn", (CE, CE, Step("Northern", None)))
    with pytest.raises(NoAnswerError, match="no 'Northern' edge from St. Paul's"):
        exact_answer(mini_tube, q)
    ans = exact_answer(mini_tube, TraversalQuery("Holborn", (CE, CE, CE, Step("Northern", "N"))))
    assert ans.nodes == ("Holborn", "Chancery Lane", "St. Paul's", "Bank", "Moorgate")
    assert ans.end == "Moorgate"


def test_traversal_off_the_end_of_a_line(mini_tube: nx.MultiDiGraph) -> None:
    with pytest.raises(NoAnswerError, match=r"Central line does not go E from Liverpool Street "
                                            r"\(step 2 of 2\)"):
        exact_answer(mini_tube, TraversalQuery("Bank", (CE, CE)))


def test_neighbours(mini_tube: nx.MultiDiGraph) -> None:
    ans = exact_answer(mini_tube, NeighboursQuery("Bank"))
    assert ans == Answer("nodes", ("Liverpool Street", "Moorgate", "St. Paul's"))
    assert exact_answer(mini_tube, NeighboursQuery("Oxford Circus")).nodes == (
        "Green Park", "Tottenham Court Road")


@pytest.mark.parametrize(
    ("person", "relation", "expected"),
    [
        ("Freya", "mother", ["Alice"]),
        ("Freya", "father", ["Sam"]),
        ("Freya", "grandmother", ["Fiona"]),
        ("Freya", "maternal grandfather", ["Tom"]),
        ("Freya", "paternal grandfather", []),
        ("Freya", "great grandparent", ["Jack", "Joan"]),
        ("Freya", "maternal great uncle", ["Ben", "Bob"]),
        ("Freya", "aunt", ["Ann"]),
        ("Freya", "brother", ["Finn"]),
        ("Finn", "sister", ["Freya"]),
        ("Alice", "uncle", ["Ben", "Bob"]),
        ("Jack", "grandchild", ["Alice", "Ann", "Carl"]),
        ("Jack", "great grandchild", ["Finn", "Freya"]),
        ("Jack", "grandson", ["Carl"]),
        ("Bob", "grandchild", []),
        ("Carl", "cousin", ["Alice", "Ann"]),
        ("Ann", "niece", ["Freya"]),
        ("Ann", "nephew", ["Finn"]),
        ("Bob", "sibling", ["Ben", "Fiona"]),
        ("Jack", "wife", ["Joan"]),
        ("Fiona", "husband", ["Tom"]),
        ("Sam", "mother in law", ["Fiona"]),
        ("Fiona", "son in law", ["Sam"]),
        ("Fiona", "son-in-law", ["Sam"]),
        ("Fiona", "brother's son", ["Carl"]),
        ("Freya", "great uncle", ["Ben", "Bob"]),
        ("Joan", "child", ["Ben", "Bob", "Fiona"]),
    ],
)
def test_family_relations(
    family: nx.MultiDiGraph, person: str, relation: str, expected: list[str]
) -> None:
    ans = exact_answer(family, RelationQuery(person, relation))
    assert ans.kind == "nodes"
    assert list(ans.nodes) == expected


@pytest.mark.parametrize(
    ("text", "name", "length"),
    [
        ("maternal great-uncles", "maternal great uncle", 4),  # the project's composition
        ("Brother's sons", "brother's son", 3),
        ("son in law", "son-in-law", 2),
        ("paternal great uncles", "paternal great uncle", 4),
        ("great uncle", "great uncle", 3),
        ("grandchildren", "grandchild", 2),
        ("great great grandmother", "great great grandmother", 4),
        ("Grand Mother", "grandmother", 2),
        ("mum", "mother", 1),
        ("first cousins", "cousin", 3),
    ],
)
def test_parse_relation(text: str, name: str, length: int) -> None:
    rel = parse_relation(text)
    assert rel is not None and rel.name == name
    assert len(rel.labels or rel.paths[0]) == length


@pytest.mark.parametrize("text", ["great mother", "maternal brother", "godmother", "capital",
                                  "great cousin", ""])
def test_not_relations(text: str) -> None:
    assert parse_relation(text) is None


def test_facts() -> None:
    g = nx.MultiDiGraph()
    g.add_edge("France", "Paris", key="capital", label="capital")
    g.add_edge("Shakespeare", "Hamlet", key="wrote", label="wrote")
    g.add_edge("Marlowe", "Faustus", key="wrote", label="wrote")
    assert exact_answer(g, FactQuery("France", "capital")).nodes == ("Paris",)
    assert exact_answer(g, FactQuery("Hamlet", "wrote", inverse=True)).nodes == ("Shakespeare",)
    assert exact_answer(g, FactQuery("Paris", "capital")).nodes == ()


def test_agreement_rules(mini_tube: nx.MultiDiGraph) -> None:
    q = ShortestPathQuery("Bank", "Liverpool Street")
    exact = exact_answer(mini_tube, q)
    direct = Answer("path", ("Bank", "Liverpool Street"), ("Central E",))
    detour = Answer("path", ("Bank", "Moorgate", "Liverpool Street"),
                    ("Northern N", "Northern N"))
    fake = Answer("path", ("Bank", "Liverpool Street"), ("Victoria S",))
    assert agrees(mini_tube, q, direct, exact)
    assert not agrees(mini_tube, q, detour, exact)
    assert is_valid_path(mini_tube, detour) and not is_valid_path(mini_tube, fake)
    assert not agrees(mini_tube, q, fake, exact)
    nq = NeighboursQuery("Bank")
    nexact = exact_answer(mini_tube, nq)
    assert agrees(mini_tube, nq, Answer("nodes", ("Moorgate", "Liverpool Street", "St. Paul's")),
                  nexact)
    assert not agrees(mini_tube, nq, Answer("nodes", ("Moorgate",)), nexact)
    assert agrees(mini_tube, nq, Answer("node", ("Moorgate",)), nexact)
    tq = TraversalQuery("Bank", (CW,))
    assert agrees(mini_tube, tq, Answer("path", ("Bank", "St. Paul's"), ("Central W",)),
                  exact_answer(mini_tube, tq))
    assert not agrees(mini_tube, tq, Answer("path", ("Bank", "Moorgate"), ("Central W",)),
                      exact_answer(mini_tube, tq))
