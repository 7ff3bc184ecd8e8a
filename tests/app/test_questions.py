"""The question parser: a table of phrasings -> the exact typed query each must parse to."""

from __future__ import annotations

import pytest

from dnc_qa.app.name_lookup import AmbiguousNameError, UnknownNameError
from dnc_qa.app.queries import (
    FactQuery,
    NeighboursQuery,
    RelationQuery,
    ShortestPathQuery,
    Step,
    TraversalQuery,
)
from dnc_qa.app.questions import UnparsedQuestionError, Vocabulary, parse_question
from dnc_qa.errors import DncQaError

SP = ShortestPathQuery
NB = NeighboursQuery
REL = RelationQuery
FACT = FactQuery


def T(start: str, *legs: tuple[str, str | None, int]) -> TraversalQuery:
    steps: list[Step] = []
    for line, direction, n in legs:
        steps += [Step(line, direction)] * n
    return TraversalQuery(start, tuple(steps))


KX = "King's Cross St. Pancras"
EC = "Elephant & Castle"
OC = "Oxford Circus"
LS = "Liverpool Street"
HC = "Hammersmith & City"

LONDON = [
    # shortest path
    ("shortest path from Bank to Oxford Circus", SP("Bank", OC)),
    ("What is the shortest path from Bank to Oxford Circus?", SP("Bank", OC)),
    ("what's the quickest route from bank to oxford circus", SP("Bank", OC)),
    ("Find the fastest way from Victoria to Holborn.", SP("Victoria", "Holborn")),
    ("how do I get from Elephant and Castle to King's Cross?", SP(EC, KX)),
    ("How can I get from Elephant & Castle to Kings Cross St Pancras", SP(EC, KX)),
    ("how should we travel from St Pauls to Earls Court", SP("St. Paul's", "Earl's Court")),
    ("how to get from Green Park to Bank", SP("Green Park", "Bank")),
    ("what's the best way to get from Warren Street to Bank?", SP("Warren Street", "Bank")),
    ("How do I get to Holborn from Victoria?", SP("Victoria", "Holborn")),
    ("shortest route between Bank and Victoria", SP("Bank", "Victoria")),
    ("path between Holborn and Green Park", SP("Holborn", "Green Park")),
    ("route from Oxford Circus to Liverpool Street", SP(OC, LS)),
    ("directions from Oxford Circus station to Liverpool Street station", SP(OC, LS)),
    ("take me from Chancery Lane to Tottenham Court Road", SP("Chancery Lane",
                                                              "Tottenham Court Road")),
    ("navigate from Bank to Victoria please", SP("Bank", "Victoria")),
    ("how many stops from Bank to Victoria", SP("Bank", "Victoria", count=True)),
    ("How many stations are there between Bank and Holborn?", SP("Bank", "Holborn", count=True)),
    ("from Bank to Victoria", SP("Bank", "Victoria")),
    ("shortest path Bank to Holborn", SP("Bank", "Holborn")),
    ("plan a journey from the Elephant and Castle to Bank", SP(EC, "Bank")),
    ("SHORTEST PATH FROM BANK TO HOLBORN", SP("Bank", "Holborn")),
    ("shortest path from st. paul’s to elephant + castle", SP("St. Paul's", EC)),
    ("how do i go from bank tube station to holborn", SP("Bank", "Holborn")),
    # traversal
    ("from Bank take the Central line east for 2 stops", T("Bank", ("Central", "E", 2))),
    ("From Bank, take the Central line eastbound for two stops.",
     T("Bank", ("Central", "E", 2))),
    ("from holborn take the central line west", T("Holborn", ("Central", "W", 1))),
    ("from Oxford Circus ride the Victoria line south for 3 stations",
     T(OC, ("Victoria", "S", 3))),
    ("start at Bank and follow Central E then Central W", T("Bank", ("Central", "E", 1),
                                                            ("Central", "W", 1))),
    ("start at Bank and follow Central E, Central E and Victoria N",
     T("Bank", ("Central", "E", 2), ("Victoria", "N", 1))),
    ("starting at Victoria, take the Victoria line north for 2 stops then the Central line east",
     T("Victoria", ("Victoria", "N", 2), ("Central", "E", 1))),
    ("from Bank, take the hammersmith and city line eastbound for three stops then the "
     "victoria line north", T("Bank", (HC, "E", 3), ("Victoria", "N", 1))),
    ("go 2 stops east on the Central line from Bank", T("Bank", ("Central", "E", 2))),
    ("where do I end up if I take the Central line east for 3 stops from Bank",
     T("Bank", ("Central", "E", 3))),
    ("from Green Park take the Victoria line, northbound, for 1 stop",
     T("Green Park", ("Victoria", "N", 1))),
    ("start at Holborn and follow the Central line west for 2 stops then the Victoria line south",
     T("Holborn", ("Central", "W", 2), ("Victoria", "S", 1))),
    ("from Victoria take the Victoria line north", T("Victoria", ("Victoria", "N", 1))),
    ("starting from Bank, 2 stops west on the Central line", T("Bank", ("Central", "W", 2))),
    ("from Bank travel west on the Central line for 4 stops", T("Bank", ("Central", "W", 4))),
    ("from St Pauls take the Central line 2 stops east", T("St. Paul's", ("Central", "E", 2))),
    # neighbours
    ("which stations are next to Bank", NB("Bank")),
    ("Which stations are adjacent to Oxford Circus?", NB(OC)),
    ("what stops are connected to holborn", NB("Holborn")),
    ("what is next to Green Park", NB("Green Park")),
    ("neighbours of Bank", NB("Bank")),
    ("list the neighbors of Elephant and Castle", NB(EC)),
    ("show me all neighbours of Victoria", NB("Victoria")),
    ("what are Bank's neighbours", NB("Bank")),
    ("Bank neighbours", NB("Bank")),
    ("where can I go directly from Holborn", NB("Holborn")),
    ("stations next to King's Cross", NB(KX)),
    ("which stations are one stop from Liverpool Street?", NB(LS)),
]

FAMILY = [
    ("who is Alice's maternal great uncle", REL("Alice", "maternal great uncle")),
    ("Who is Alice's maternal great-uncle?", REL("Alice", "maternal great uncle")),
    ("who are Bob's grandchildren", REL("Bob", "grandchild")),
    ("who are the grandchildren of Bob", REL("Bob", "grandchild")),
    ("who is Freya's mother", FACT("Freya", "mother")),
    ("who's Freya's mum", REL("Freya", "mother")),
    ("Who is the father of Jack?", FACT("Jack", "father")),
    ("list Mary Ann's cousins", REL("Mary Ann", "cousin")),
    ("name all of Fiona's great grandchildren", REL("Fiona", "great grandchild")),
    ("who are Jack's paternal grandparents", REL("Jack", "paternal grandparent")),
    ("who is alice's great great grandmother", REL("Alice", "great great grandmother")),
    ("Freya's aunts", REL("Freya", "aunt")),
    ("who are the nieces of Bob", REL("Bob", "niece")),
    ("who is Freya's mother-in-law", REL("Freya", "mother in law")),
    ("who is Bob's wife", FACT("Bob", "wife")),
    ("who are Fiona's siblings", REL("Fiona", "sibling")),
    ("start at Alice and follow mother then father", T("Alice", ("mother", None, 1),
                                                       ("father", None, 1))),
]

KB = [
    ("what is the capital of France", FACT("France", "capital")),
    ("What's France's capital?", FACT("France", "capital")),
    ("who wrote Hamlet", FACT("Hamlet", "wrote", inverse=True)),
    ("where was Einstein born", FACT("Einstein", "born in")),
    ("what does Alice Smith like", FACT("Alice Smith", "likes")),
    ("who is the author of Hamlet", FACT("Hamlet", "author")),
    ("capital of France", FACT("France", "capital")),
]


@pytest.mark.parametrize(("question", "expected"), LONDON, ids=[q for q, _ in LONDON])
def test_london_phrasings(question: str, expected: object, london_vocab: Vocabulary) -> None:
    assert parse_question(question, london_vocab) == expected


@pytest.mark.parametrize(("question", "expected"), FAMILY, ids=[q for q, _ in FAMILY])
def test_family_phrasings(question: str, expected: object, family_vocab: Vocabulary) -> None:
    assert parse_question(question, family_vocab) == expected


@pytest.mark.parametrize(("question", "expected"), KB, ids=[q for q, _ in KB])
def test_kb_phrasings(question: str, expected: object, kb_vocab: Vocabulary) -> None:
    assert parse_question(question, kb_vocab) == expected


def test_table_is_large_enough() -> None:
    assert len(LONDON) + len(FAMILY) + len(KB) >= 60


UNRESOLVED = [
    ("shortest path from Bank to Oxford Circus", SP("Bank", "Oxford Circus")),
    ("how do I get from Elephant and Castle to Bank", SP("Elephant and Castle", "Bank")),
    ("from Bank take the Central line east for 2 stops", T("Bank", ("Central", "E", 2))),
    ("start at Bank and follow Central E then Victoria N", T("Bank", ("Central", "E", 1),
                                                             ("Victoria", "N", 1))),
    ("start at Alice and follow mother then brother", T("Alice", ("mother", None, 1),
                                                        ("brother", None, 1))),
    ("which stations are next to Bank", NB("Bank")),
    ("who is Alice's maternal great uncle", REL("Alice", "maternal great uncle")),
    ("what is the capital of France", FACT("France", "capital")),
]


@pytest.mark.parametrize(("question", "expected"), UNRESOLVED, ids=[q for q, _ in UNRESOLVED])
def test_without_vocabulary_names_are_kept_as_typed(question: str, expected: object) -> None:
    assert parse_question(question) == expected


def test_unknown_station_suggests(london_vocab: Vocabulary) -> None:
    with pytest.raises(UnknownNameError) as info:
        parse_question("shortest path from Oxfrd Circus to Bank", london_vocab)
    assert str(info.value) == (
        "no station 'Oxfrd Circus' in 'london'; did you mean 'Oxford Circus'?"
    )


def test_ambiguous_station_lists_candidates(london_vocab: Vocabulary) -> None:
    with pytest.raises(AmbiguousNameError) as info:
        parse_question("how do I get from Edgware Road to Bank", london_vocab)
    assert info.value.candidates == ["Edgware Road (Circle)", "Edgware Road (Bakerloo)"]
    assert "Edgware Road (Circle)" in str(info.value)


def test_unknown_line_suggests(london_vocab: Vocabulary) -> None:
    with pytest.raises(UnknownNameError, match="no line 'Centrl'.*'Central'"):
        parse_question("from Bank take the Centrl line east", london_vocab)


def test_missing_direction_is_explained(london_vocab: Vocabulary) -> None:
    with pytest.raises(DncQaError, match="which way to go on the Central line: E or W"):
        parse_question("from Bank take the Central line for 2 stops", london_vocab)


def test_wrong_direction_is_explained(london_vocab: Vocabulary) -> None:
    with pytest.raises(DncQaError, match="Central line has no direction 'N'"):
        parse_question("from Bank take the Central line north", london_vocab)


@pytest.mark.parametrize(
    "question", ["", "   ", "what time is it", "banana", "tell me a joke about trains"]
)
def test_unparseable_lists_forms(question: str, london_vocab: Vocabulary) -> None:
    with pytest.raises(UnparsedQuestionError) as info:
        parse_question(question, london_vocab)
    message = str(info.value)
    assert "shortest path from A to B" in message and "maternal great uncle" in message
    assert "\n" not in message


def test_too_many_steps() -> None:
    with pytest.raises(DncQaError, match="at most 50 steps"):
        parse_question("from Bank take the Central line east for 60 stops")


def test_query_json_forms() -> None:
    q = T("Bank", ("Central", "E", 2))
    assert q.to_json() == {"type": "traversal", "start": "Bank",
                           "steps": [["Central", "E"], ["Central", "E"]],
                           "labels": ["Central E", "Central E"]}
    assert q.describe() == "traversal from Bank: Central E x2"
    assert SP("A", "B").to_json() == {"type": "shortest_path", "source": "A", "target": "B"}
    assert FACT("Hamlet", "wrote", True).describe() == "(?, wrote, Hamlet)"


@pytest.mark.parametrize("question", ["what is Paris's favourite colour",
                                      "what is the favourite colour of Paris"])
def test_unknown_relation_of_a_known_name_lists_the_relations(
        question: str, kb_vocab: Vocabulary) -> None:
    with pytest.raises(DncQaError) as info:
        parse_question(question, kb_vocab)
    message = str(info.value)
    assert not isinstance(info.value, UnparsedQuestionError)
    assert message.startswith("no relation 'favourite colour' in 'facts'; its relations: ")
    assert "capital" in message and "did you mean" not in message


def test_misspelt_relation_suggests_the_label(kb_vocab: Vocabulary) -> None:
    with pytest.raises(DncQaError, match="no relation 'capitol' in 'facts'; did you mean "
                                         "'capital'\\?"):
        parse_question("what is the capitol of France", kb_vocab)


def test_unknown_relation_of_an_unknown_name_is_unparsed(kb_vocab: Vocabulary) -> None:
    with pytest.raises(UnparsedQuestionError):
        parse_question("what is Zorblat's favourite colour", kb_vocab)
