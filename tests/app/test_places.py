"""Places inside places: the containment hop a question leaves out ("the capital of the
country where Ava was born", when the facts say Ava was born in a town)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.ask import ask
from dnc_qa.app.exact_answers import exact_answer
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.places import asks_for_area, with_containment
from dnc_qa.app.queries import FactQuery, MultiFactQuery
from dnc_qa.app.workspace import Workspace

M = MultiFactQuery


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for a, r, b in [("Ava", "born in", "Ashford"), ("Ashford", "in", "Veland"),
                    ("Veland", "capital", "Dunmere"), ("Veland", "in", "Eloria"),
                    ("Dunmere", "mayor", "Bo"), ("Cy", "live in", "Dunmere"),
                    ("Hollin", "located in", "Ashford"), ("Di", "born in", "Veland")]:
        g.add_edge(a, b, key=r)
    return g


@pytest.mark.parametrize(("question", "query", "completed", "answer"), [
    # a gap: a town has no capital, the country it is in has
    ("what is the capital of the country where Ava was born", M("Ava", ("born in", "capital")),
     M("Ava", ("born in", "in", "capital")), ("Dunmere",)),
    ("who is the mayor of the capital of the country Ava was born in",
     M("Ava", ("born in", "capital", "mayor")),
     M("Ava", ("born in", "in", "capital", "mayor")), ("Bo",)),
    # a country asked for: climb from the town
    ("In which country was Ava born?", FactQuery("Ava", "born in"),
     M("Ava", ("born in", "in")), ("Veland",)),
    ("what country was Ava born in", FactQuery("Ava", "born in"),
     M("Ava", ("born in", "in")), ("Veland",)),
    # a capital is in the country whose capital it is (a backward hop)
    ("which country is Dunmere in", FactQuery("Dunmere", "in"),
     FactQuery("Dunmere", "capital", inverse=True), ("Veland",)),
    ("what is the capital of the country where Cy lives", M("Cy", ("live in", "capital")),
     M("Cy", ("live in", "capital", "capital"), (False, True, False)), ("Dunmere",)),
])
def test_missing_containment_hops_are_added(graph, question, query, completed, answer) -> None:
    assert exact_answer(graph, query).nodes != answer
    got, added = with_containment(query, graph, question)
    assert got == completed and added
    assert exact_answer(graph, got).nodes == answer


@pytest.mark.parametrize(("question", "query"), [
    ("where was Ava born", FactQuery("Ava", "born in")),  # a town asked for: a town given
    ("which country is Ashford in", FactQuery("Ashford", "in")),  # no climb past the answer
    ("In which country was Di born?", FactQuery("Di", "born in")),  # born in a country
    ("who is the mayor of the capital of Veland", M("Veland", ("capital", "mayor"))),
    ("who lives in Dunmere", FactQuery("Dunmere", "live in", inverse=True)),
    ("what is the capital of Ava", FactQuery("Ava", "capital")),  # no container to try
])
def test_complete_or_unrelated_chains_are_left_alone(graph, question, query) -> None:
    assert with_containment(query, graph, question) == (query, ())


def test_area_questions() -> None:
    assert asks_for_area("In which country was Ava born?")
    assert asks_for_area("what  nation is Ashford in")
    assert not asks_for_area("what is the capital of the country where Ava was born")
    assert not asks_for_area("which city was Ava born in")


def test_ask_reads_the_question_with_the_hop_added(tmp_path: Path) -> None:
    kb = tmp_path / "places.txt"
    kb.write_text("Ava Lind was born in Ashford.\nAshford is a town in Veland.\n"
                  "The capital of Veland is Dunmere.\nThe mayor of Dunmere is Bo Kell.\n",
                  encoding="utf-8")
    ws = Workspace(tmp_path / "home")
    ingest(kb, IngestOptions(name="places", model="traversal-dnc"), ws)
    result = ask("Who is the mayor of the capital of the country where Ava Lind was born?",
                 "places", ws)
    assert result.query == M("Ava Lind", ("born in", "in", "capital", "mayor"))
    assert result.exact.nodes == ("Bo Kell",)
    assert result.note.startswith("read with 'in' added")
    assert result.to_json()["query"]["relations"] == ["born in", "in", "capital", "mayor"]


def test_a_region_question_stops_below_the_country() -> None:
    g = nx.MultiDiGraph()
    for a, r, b in [("Bart", "born in", "Odenby"), ("Odenby", "in", "Corrowdale"),
                    ("Corrowdale", "in", "Essmark"), ("Museum", "in", "Corsano"),
                    ("Corsano", "in", "Bellacosta")]:
        g.add_edge(a, b, key=r)
    got, _ = with_containment(FactQuery("Bart", "born in"), g, "In which region was Bart born?")
    assert exact_answer(g, got).nodes == ("Corrowdale",)
    got, _ = with_containment(FactQuery("Bart", "born in"), g, "In which country was Bart born?")
    assert exact_answer(g, got).nodes == ("Essmark",)
    got, _ = with_containment(FactQuery("Museum", "in"), g, "Which country is Museum in?")
    assert exact_answer(g, got).nodes == ("Bellacosta",)
