"""spaCy (blank English) triple extraction: the documented forms, unread sentences, questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.graphs import GraphFormatError, read_graph
from dnc_qa.graphs.model import Triple
from dnc_qa.kb.babi_reader import KbFormatError
from dnc_qa.kb.extract import TripleExtractor, UnreadSentence
from dnc_qa.kb.patterns import SentencePattern
from dnc_qa.kb.textkb import answer, describe_unread, read_qa, read_text_kb, unread_message

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
    # read_graph returns only the graph, so it refuses what it cannot read (never drops it)
    with pytest.raises(GraphFormatError, match=r"line 2: 2 of 3 sentences cannot be read "
                                               r"\(line 2: 'Bob is tall.'; line 3: 'So do I.'\)"
                                               r"; rephrase them; `dncqa ingest` stores the rest"):
        read_graph(bad)


def test_text_kb_skips_unread_sentences_unless_strict(tmp_path: Path) -> None:
    kb_file = tmp_path / "kb.txt"
    kb_file.write_text("Alice is the mother of Bob.\nBob is tall.\n# a comment\n"
                       "Bob likes apples. So do I.\n")
    kb = read_text_kb(kb_file)
    assert [(u.line, u.sentence) for u in kb.unread] == [(2, "Bob is tall."), (4, "So do I.")]
    assert kb.graph.edges["Bob", "apples", "like"]
    with pytest.raises(KbFormatError, match=r"line 2: 2 of 4 sentences cannot be read "
                                            r"\(line 2: 'Bob is tall.'; line 4: 'So do I.'\); "
                                            r"rephrase them, or leave out --strict"):
        read_text_kb(kb_file, strict=True)


def test_text_kb_with_no_readable_sentence_is_an_error(tmp_path: Path) -> None:
    kb_file = tmp_path / "kb.txt"
    kb_file.write_text("Bob is tall.\nSo do I.\nWho is Bob?\nA.\nB.\n")
    for strict in (False, True):
        with pytest.raises(KbFormatError) as err:
            read_text_kb(kb_file, strict=strict)
        message = str(err.value)
        assert "\n" not in message
        assert ("none of the 5 sentence(s) can be read (line 1: 'Bob is tall.'; line 2: "
                "'So do I.'; line 3: 'Who is Bob?'; and 2 more)") in message
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(KbFormatError, match="no sentences to read"):
        read_text_kb(empty)


def test_unread_sentences_are_escaped_and_cut_in_messages() -> None:
    long = UnreadSentence("Bob is \x1b[31mred " + "x" * 300 + ".", 7, "no sentence form matches")
    shown = describe_unread(long, limit=40)
    assert shown.startswith("line 7: 'Bob is \\x1b[31mred ")
    assert "\x1b" not in shown and shown.endswith("... (277 more characters)")
    assert describe_unread(UnreadSentence("So do I.", 2, "")) == "line 2: 'So do I.'"
    message = unread_message([long], read=3)
    assert "\x1b" not in message and len(message) < 250
