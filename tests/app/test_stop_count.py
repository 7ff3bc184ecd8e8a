""""How many stops from A to B": the number of stops of the shortest path, model vs exact."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dnc_qa.app.ask import ask
from dnc_qa.app.exact_answers import Answer, agrees, as_count, exact_answer
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.queries import ShortestPathQuery
from dnc_qa.app.questions import Vocabulary, parse_question
from dnc_qa.app.workspace import Workspace

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("question", [
    "how many stops from Bank to Holborn", "How many stations between Bank and Holborn?",
    "how many stops is it from Bank to Holborn", "how far is it from Bank to Holborn in stops",
])
def test_parses_as_a_count(question: str, london_vocab: Vocabulary) -> None:
    query = parse_question(question, london_vocab)
    assert query == ShortestPathQuery("Bank", "Holborn", count=True)
    assert query.to_json() == {"type": "shortest_path", "source": "Bank", "target": "Holborn",
                               "count": True}
    assert query.describe() == "number of stops from Bank to Holborn"
    plain = parse_question("shortest path from Bank to Holborn", london_vocab)
    assert plain == ShortestPathQuery("Bank", "Holborn") and "count" not in plain.to_json()


def test_exact_count_and_agreement(mini_tube: nx.MultiDiGraph) -> None:
    query = ShortestPathQuery("Holborn", "Bank", count=True)
    exact = exact_answer(mini_tube, query)
    assert exact.kind == "count" and exact.to_json() == 3
    assert exact.text() == ("3 stops (Holborn -[Central E]-> Chancery Lane -[Central E]-> "
                            "St. Paul's -[Central E]-> Bank)")
    assert exact.note.startswith("Holborn -[Central E]->")
    same = as_count(Answer("path", ("Holborn", "x", "y", "Bank"), ("a", "b", "c")), "Bank")
    assert agrees(mini_tube, query, same, exact)
    longer = as_count(Answer("path", ("Holborn", "w", "x", "y", "Bank"), ("a",) * 4), "Bank")
    assert longer.text().startswith("4 stops (") and not agrees(mini_tube, query, longer, exact)
    lost = as_count(Answer("path", ("Holborn", "x"), ("a",), note="stuck at x"), "Bank")
    assert lost == Answer("none", ("Holborn", "x"), ("a",), note="stuck at x")  # keeps the path
    assert not agrees(mini_tube, query, lost, exact)
    one = exact_answer(mini_tube, ShortestPathQuery("Holborn", "Chancery Lane", count=True))
    assert one.text().startswith("1 stop (")
    mini_tube.add_node("Nowhere")
    none = exact_answer(mini_tube, ShortestPathQuery("Holborn", "Nowhere", count=True))
    assert none.kind == "none" and "no route" in none.note


def test_model_answer_is_a_count(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "home")
    ingest(DATA / "transit", IngestOptions(name="metro", model="traversal-dnc"), ws)
    result = ask("how many stops from Kelstead to Marley Square", "metro", ws,
                 min_confidence=0.0)
    assert result.query == ShortestPathQuery("Kelstead", "Marley Square", count=True)
    assert result.exact.kind == "count" and result.to_json()["exact"] == 2
    path = ask("shortest path from Kelstead to Marley Square", "metro", ws, min_confidence=0.0)
    assert result.confidence == path.confidence  # the same shortest-path run
    assert path.answer is not None and result.answer is not None
    if path.answer.nodes[-1] == "Marley Square":
        assert result.answer.kind == "count"
        assert result.answer.to_json() == len(path.answer.labels)
        assert result.agrees == (len(path.answer.labels) == 2)
    else:
        assert result.answer.kind == "none" and result.agrees is False
