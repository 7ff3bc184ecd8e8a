"""Long and contrived questions are parsed or refused in one line, without overflowing the
stack: the question's length, a traversal's steps and legs, and a chain's words and relations
are bounded (how fast that is belongs in benchmarks, not here)."""

from __future__ import annotations

import pytest

from dnc_qa.app.queries import MultiFactQuery
from dnc_qa.app.questions import (
    MAX_QUESTION_CHARS,
    MAX_STEPS,
    UnparsedQuestionError,
    Vocabulary,
    parse_question,
)
from dnc_qa.errors import DncQaError

NODES = ["Eastmarch", "Larkhaven", "Orla", "Pell", "Tobin", "Hamlet", "Tom", "Westmarch"]
LABELS = ["capital", "mayor", "father", "mother", "wife", "author", "write", "born in",
          "live in", "like", "twin town"]
"""Each question's budget; all of them take well under 0.3 s on the 2-core machine, and
several took 3-7 s, or recursed without end, before the parse was bounded."""


@pytest.fixture(scope="module")
def kb() -> Vocabulary:
    vocab = Vocabulary.from_names(NODES, LABELS, graph="facts")
    parse_question("who is Pell's mother", vocab)  # loads spaCy and the name matcher
    return vocab


@pytest.fixture(scope="module")
def tube() -> Vocabulary:
    labels = [f"{line} {d}" for line in ("Central", "Hammersmith & City") for d in "EW"]
    vocab = Vocabulary.from_names(["Bank", "Holborn", "Oxford Circus"], labels, graph="london",
                                  node_kind="station")
    parse_question("from Bank take the Central line east", vocab)
    return vocab


def _fill(unit: str, chars: int = MAX_QUESTION_CHARS) -> str:
    """``unit`` repeated to ``chars`` characters at most (whole units)."""
    return unit * (chars // len(unit))


LONG = {
    "words": "why " + _fill("very ", 1990) + "long",
    "unknown relations": "who is " + _fill("the blah of ", 1970) + "Pell",
    "one relation word": "who is " + _fill("like ", 1980) + "Tom",
    "possessives": _fill("Pell's "),
    "unknown possessives": "who is Pell's" + _fill(" blah's", 1960) + " mother",
    "relative clauses": "who is " + "the book that " * 38 + "Tom likes" + " likes" * 37,
    "legs with then": "start at Pell and follow " + _fill("father then ", 1950) + "mother",
    "legs with and": "start at Pell and follow " + _fill("father and ", 1950) + "zzz",
    "legs with commas": "start at Pell and follow " + _fill("father, ", 1950) + "zzz",
    "line legs": "from Bank take " + _fill("the Central line east then ", 1950) + "Central W",
    "a line of ands": "from Bank take " + _fill("Hammersmith and ", 1960) + "City E",
    "routes": "shortest path from " + _fill("a to ", 1950) + "b",
}


@pytest.mark.parametrize("shape", sorted(LONG))
def test_questions_of_2000_characters_are_quick(shape: str, kb: Vocabulary,
                                                tube: Vocabulary) -> None:
    question = LONG[shape]
    assert len(question) <= MAX_QUESTION_CHARS
    for vocab in (kb, tube, None):
        try:
            parse_question(question, vocab)
        except DncQaError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1500


def test_a_longer_question_is_refused_before_parsing(kb: Vocabulary) -> None:
    question = "why " + "very " * 20_000 + "long"
    with pytest.raises(UnparsedQuestionError) as info:
        parse_question(question, kb)
    message = str(info.value)
    assert "\n" not in message and len(message) < 1500
    assert "(99,808 more characters)" in message
    assert f"a question may have at most {MAX_QUESTION_CHARS:,}" in message


def test_fifty_nested_relations_are_one_chain(kb: Vocabulary) -> None:
    question = "who is " + "the mother of " * MAX_STEPS + "Pell"
    query = parse_question(question, kb)
    assert query == MultiFactQuery("Pell", ("mother",) * MAX_STEPS)
    possessive = parse_question("who is Pell's" + " father's" * 49 + " mother", kb)
    assert possessive == MultiFactQuery("Pell", ("father",) * 49 + ("mother",))


def test_longer_chains_are_refused_in_one_line(kb: Vocabulary) -> None:
    with pytest.raises(DncQaError, match="at most 50 relations, this one has 51"):
        parse_question("who is " + "the mother of " * 51 + "Pell", kb)
    with pytest.raises(DncQaError, match="at most 50 relations, this one has 150"):
        parse_question("who is Pell's" + " father's" * 149 + " mother", kb)


def test_a_huge_stop_count_is_refused_without_walking(tube: Vocabulary) -> None:
    with pytest.raises(DncQaError, match="at most 50 steps, this one has 100,000,000,000"):
        parse_question("from Bank take the Central line east for 100000000000 stops", tube)
    with pytest.raises(DncQaError, match="at most 50 steps, this one has 60"):
        parse_question("from Bank take the Central line east for 30 stops then "
                       "the Central line west for 30 stops", tube)


def test_more_legs_than_steps_are_refused(kb: Vocabulary) -> None:
    legs = " then ".join(["father"] * (MAX_STEPS + 1))
    with pytest.raises(DncQaError, match="at most 50 steps"):
        parse_question(f"start at Pell and follow {legs}", kb)
    fifty = " then ".join(["father"] * MAX_STEPS)
    assert len(parse_question(f"start at Pell and follow {fifty}", kb).steps) == MAX_STEPS
