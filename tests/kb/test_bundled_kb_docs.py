"""``docs/data.md`` describes ``data/kb`` as it is: its sentence, question and graph counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dnc_qa.app.questions import Vocabulary, parse_question
from dnc_qa.kb.extract import TripleExtractor
from dnc_qa.kb.textkb import read_qa, read_text_kb

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "data" / "kb"


def _docs() -> str:
    """``docs/data.md`` with its lines joined (sentences wrap across lines)."""
    return " ".join((ROOT / "docs" / "data.md").read_text(encoding="utf-8").split())


def test_data_md_counts_the_bundled_knowledge_base() -> None:
    text = (KB / "facts.txt").read_text(encoding="utf-8")
    found = TripleExtractor().extract(text)
    assert not found.unread
    sentences = len({(t.line, t.sentence) for t in found.triples})
    kb = read_text_kb(KB / "facts.txt")
    graph = kb.graph
    docs = _docs()
    assert f"`data/kb/facts.txt`: {sentences} sentences" in docs
    assert f"{graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges" in docs
    assert f"`data/kb/questions.tsv`: {len(read_qa(KB / 'questions.tsv'))} " in docs


def test_data_md_counts_the_chained_questions() -> None:
    kb = read_text_kb(KB / "facts.txt")
    vocab = Vocabulary.from_graph(kb.graph, "facts")
    pairs = read_qa(KB / "multihop.tsv")
    hops = Counter(len(parse_question(p.question, vocab).relations) for p in pairs)
    assert set(hops) == {2, 3}
    assert (f"`data/kb/multihop.tsv`: {len(pairs)} questions chaining 2 or 3 relations "
            f"({hops[2]} of two, {hops[3]} of three") in _docs()
