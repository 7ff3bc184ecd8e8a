"""Relations a knowledge base words two ways ("capital" / "capital city", "works for" /
"works at", "wife" / "married to"): the synonym groups the parser reads, the per-hop swap
from the graph's shape, and the question forms that ask for a place."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.label_fit import alternatives, with_fitted_labels
from dnc_qa.app.places import with_containment
from dnc_qa.app.queries import FactQuery, MultiFactQuery
from dnc_qa.app.questions import Vocabulary, parse_question, synonym
from dnc_qa.app.workspace import Workspace

M = MultiFactQuery


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for a, r, b in [("Ava", "work for", "Corvid"), ("Bo", "work at", "Lark"),
                    ("Corvid", "based in", "Ashford"), ("Lark", "headquartered in", "Dunmere"),
                    ("Ashford", "lie in", "Veland"), ("Dunmere", "in", "Pell"),
                    ("Veland", "capital city", "Ostra"), ("Pell", "capital", "Dunmere"),
                    ("Bo", "married to", "Cy"), ("Di", "wife", "Ed")]:
        g.add_edge(a, b, key=r)
    return g


def test_alternatives_are_the_stored_words_of_the_group() -> None:
    assert alternatives("capital", {"capital city", "mayor"}) == ["capital city"]
    assert alternatives("wife", {"married to", "husband", "marry"}) == ["married to", "marry"]
    assert alternatives("father", {"mother", "parent"}) == ["parent"]
    assert alternatives("parent", {"mother", "father"}) == ["father", "mother"]
    assert alternatives("mayor", {"capital"}) == []


@pytest.mark.parametrize(("query", "fitted", "swapped"), [
    (FactQuery("Bo", "work for"), FactQuery("Bo", "work at"), (("work for", "work at"),)),
    (M("Bo", ("work for", "based in")), M("Bo", ("work at", "headquartered in")),
     (("work for", "work at"), ("based in", "headquartered in"))),
    (FactQuery("Bo", "wife"), FactQuery("Bo", "married to"), (("wife", "married to"),)),
    (FactQuery("Veland", "capital"), FactQuery("Veland", "capital city"),
     (("capital", "capital city"),)),
])
def test_a_hop_takes_the_word_its_nodes_have(graph, query, fitted, swapped) -> None:
    assert with_fitted_labels(query, graph) == (fitted, swapped)


def test_a_hop_may_be_read_the_other_way_by_its_inverse_word() -> None:
    g = nx.MultiDiGraph()
    g.add_edge("Tamsin", "Glass Foxes", key="form")
    g.add_edge("Tamsin", "Ewan", key="brother")
    g.add_edge("Ada", "Corvid", key="found")
    got = with_fitted_labels(M("Glass Foxes", ("founder", "brother")), g)
    assert got == (M("Glass Foxes", ("form", "brother"), (True, False)),
                   (("founder", "form"),))


def test_a_synonym_verb_with_its_own_preposition_ends_a_chain() -> None:
    vocab = Vocabulary.from_names(["Delphine", "Keshwin Philharmonic", "Tarrow"],
                                  ["conduct", "conductor", "born in"], graph="kb")
    assert parse_question("Where does the conductor of the Keshwin Philharmonic come from?",
                          vocab) == M("Keshwin Philharmonic", ("conductor", "born in"))


def test_a_gendered_word_never_stands_for_the_other_sex() -> None:
    vocab = Vocabulary.from_names(["Tom", "Ann"], ["mother", "husband"], graph="kb")
    assert parse_question("who is Tom's father", vocab) != FactQuery("Tom", "mother")
    assert synonym("wife", vocab.labels) == "wife"


def test_the_work_by_a_maker_is_what_they_made() -> None:
    vocab = Vocabulary.from_names(["Cassius", "Dawn", "Harlan Museum"],
                                  ["paint", "painter", "hang in", "by"], graph="kb")
    assert parse_question("Which museum does the painting by Cassius hang in?", vocab) == M(
        "Cassius", ("paint", "hang in"))
    assert parse_question("Where does the sculpture by Cassius hang?", vocab) == M(
        "Cassius", ("by", "hang in"), (True, False))


def test_an_adverb_before_a_past_verb_is_dropped() -> None:
    vocab = Vocabulary.from_names(["Mount Ulvar", "Petra"], ["climb"], graph="kb")
    assert parse_question("Who first climbed Mount Ulvar?", vocab) == FactQuery(
        "Mount Ulvar", "climb", inverse=True)
    vocab = Vocabulary.from_names(["First United Bank", "Ann"], ["found"], graph="kb")
    assert parse_question("Who founded First United Bank?", vocab) == FactQuery(
        "First United Bank", "found", inverse=True)


@pytest.mark.parametrize("query", [
    FactQuery("Ava", "work for"),  # the word asked is there
    FactQuery("Di", "wife"),
    FactQuery("Ava", "mayor"),  # no synonym of "mayor" anywhere
])
def test_hops_the_graph_words_as_asked_are_left_alone(graph, query) -> None:
    assert with_fitted_labels(query, graph) == (query, ())


def test_a_containment_hop_is_added_before_a_synonym(graph) -> None:
    query = M("Ava", ("work for", "based in", "capital"))
    completed, added = with_containment(query, graph, "what is the capital of the country "
                                        "where the company Ava works for is based")
    assert added == ("lie in",)
    assert with_fitted_labels(completed, graph)[0] == M(
        "Ava", ("work for", "based in", "lie in", "capital city"))


@pytest.fixture(scope="module")
def vocab(graph) -> Vocabulary:
    return Vocabulary.from_graph(graph, "kb")


@pytest.mark.parametrize(("question", "query"), [
    ("Where is Corvid?", FactQuery("Corvid", "in")),
    ("Where is Dunmere?", FactQuery("Dunmere", "in")),
    ("What is the capital of the country in which Corvid is based?",
     M("Corvid", ("based in", "capital"))),
    ("Who is the employer of Ava?", FactQuery("Ava", "work for")),
])
def test_place_and_synonym_questions(vocab: Vocabulary, question: str, query) -> None:
    assert parse_question(question, vocab) == query


def test_where_is_x_from_asks_the_birthplace() -> None:
    vocab = Vocabulary.from_names(["Ava", "Ashford"], ["born in", "live in"], graph="kb")
    assert parse_question("Where is Ava from?", vocab) == FactQuery("Ava", "born in")


def test_a_synonym_is_the_first_stored_word_of_its_group() -> None:
    stored = Vocabulary.from_names([], ["headquartered in", "work at"]).labels
    assert synonym("based in", stored) == "headquartered in"
    assert synonym("work for", stored) == "work at"
    assert synonym("mayor", stored) == "mayor"
    assert synonym("birthplace") == "born in"


def test_ask_answers_through_the_words_the_text_uses(tmp_path: Path) -> None:
    kb = tmp_path / "firms.txt"
    kb.write_text("Tobiah Fenn works at Brightwell Dynamics.\n"
                  "Brightwell Dynamics is headquartered in Corvath.\n"
                  "Corvath is the capital city of Pellucia.\n"
                  "Mara Voss works for Halden Press.\nHalden Press is based in Ostra.\n"
                  "Ostra is in Lormandy.\nThe capital of Lormandy is Velport.\n",
                  encoding="utf-8")
    ws = Workspace(tmp_path / "home")
    ingest(kb, IngestOptions(name="firms", model="traversal-dnc"), ws)
    result = ask("Where is the company Tobiah Fenn works for based?", "firms", ws,
                 with_model=False)
    assert result.query == M("Tobiah Fenn", ("work at", "headquartered in"))
    assert result.exact.nodes == ("Corvath",)
    result = ask("Where is Brightwell Dynamics?", "firms", ws, with_model=False)
    assert result.exact.nodes == ("Corvath",)
    result = ask("What is the capital of Pellucia?", "firms", ws, with_model=False)
    assert result.exact.nodes == ("Corvath",)
