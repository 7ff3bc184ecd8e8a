"""spaCy (blank English) triple extraction: the documented forms, unread sentences, questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.graphs import GraphFormatError, read_graph
from dnc_qa.graphs.model import Triple
from dnc_qa.kb.extract import TripleExtractor
from dnc_qa.kb.patterns import SentencePattern
from dnc_qa.kb.textkb import answer, read_qa, read_text_kb

DATA = Path(__file__).resolve().parents[2] / "data" / "kb"


@pytest.fixture(scope="module")
def extractor() -> TripleExtractor:
    return TripleExtractor()


@pytest.mark.parametrize(("sentence", "triple"), [
    ("Alice is the mother of Bob.", ("Bob", "mother", "Alice")),
    ("Bob's wife is Carol.", ("Bob", "wife", "Carol")),
    ("Carol is Bob's wife.", ("Bob", "wife", "Carol")),
    ("Paris is the capital of France.", ("France", "capital", "Paris")),
    ("The capital of France is Paris.", ("France", "capital", "Paris")),
    ("The kitchen is north of the hallway.", ("hallway", "north", "kitchen")),
    ("Dan is the maternal great uncle of Eve.", ("Eve", "maternal great uncle", "Dan")),
    ("New Paris is the capital of the Far Isles.", ("Far Isles", "capital", "New Paris")),
])
def test_forms(extractor: TripleExtractor, sentence: str, triple: tuple[str, str, str]) -> None:
    result = extractor.extract(sentence)
    assert result.complete
    assert [t.triple for t in result.triples] == [Triple(*triple)]


def test_unread_sentences_are_reported(extractor: TripleExtractor) -> None:
    result = extractor.extract("Alice is the mother of Bob. Bob is tall.\n# note\n\nHello")
    assert [t.line for t in result.triples] == [1]
    assert [(u.sentence, u.line) for u in result.unread] == [("Bob is tall.", 1), ("Hello", 4)]


def test_extensible_patterns_and_entities() -> None:
    x = TripleExtractor(entities=["Bank of Larks"])
    x.add_pattern(SentencePattern("married", "X is married to Y .", relation="spouse"))
    result = x.extract("Ann is married to Ben. The Bank of Larks is the bank of Dunmere.")
    assert [t.triple for t in result.triples] == [Triple("Ben", "spouse", "Ann"),
                                                  Triple("Dunmere", "bank", "Bank of Larks")]
    with pytest.raises(DncQaError, match="lacks slot"):
        x.add_pattern(SentencePattern("bad", "X is here ."))


def test_questions(extractor: TripleExtractor) -> None:
    assert extractor.question("Who is the mother of Bob?")[:2] == ("Bob", "mother")
    assert extractor.question("Who is Bob's wife?")[:2] == ("Bob", "wife")
    assert extractor.question("What is north of the hallway?")[:2] == ("hallway", "north")
    assert extractor.question("Why is the sky blue?") is None


def test_bundled_text_kb_answers_its_questions(extractor: TripleExtractor) -> None:
    kb = read_text_kb(DATA / "facts.txt", extractor)
    assert len(kb.triples) >= 40 and not kb.unread
    pairs = read_qa(DATA / "questions.tsv")
    assert len(pairs) >= 20
    for pair in pairs:
        query = extractor.question(pair.question)
        assert query is not None, pair
        assert answer(kb.graph, query) == set(pair.answers), pair


def test_text_kb_through_read_graph(tmp_path: Path) -> None:
    g = read_graph(DATA / "facts.txt")
    assert g.edges["Tobin", "Orla", "mother"]
    bad = tmp_path / "kb.txt"
    bad.write_text("Alice is the mother of Bob.\nBob is tall.\nSo do I.\n")
    with pytest.raises(GraphFormatError, match=r"line 2: 2 of 3 sentences cannot be read "
                                               r"\(line 2: 'Bob is tall.'; line 3: 'So do I.'\)"
                                               r"; rephrase them, or pass --allow-unread"):
        read_graph(bad)
