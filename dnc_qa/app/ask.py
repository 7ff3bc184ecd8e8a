"""``ask``: parse a question against a stored graph, answer it exactly and with the model.

The model runs on NumPy (:mod:`dnc_qa.inference`) when it can, and ``dncqa ask`` imports spaCy
without torch (:func:`import_spacy_without_torch`), so that a cold ``dncqa ask`` does not import
torch (about 1.8 s of a 3.3 s answer); torch remains the fallback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from dnc_qa.app.exact import Answer, agrees, exact_answer
from dnc_qa.app.queries import Query
from dnc_qa.app.workspace import Entry, Workspace


@dataclass
class AskResult:
    """Everything ``dncqa ask`` reports.

    Attributes:
        question: the question as asked.
        query: the parsed query.
        graph: the workspace entry name.
        model: the model reference the memory was written by (``none`` without one).
        exact: the exact answer (networkx).
        answer: the model's answer, ``None`` when it is unavailable.
        confidence: the model's probability for its answer.
        agrees: whether the model's answer is right (``None`` without one).
        note: why the model answer is missing, or a warning about it.
        trace, phases: memory activity for plots (see :class:`~dnc_qa.app.engine.ModelAnswer`).
    """

    question: str
    query: Query
    graph: str
    model: str
    exact: Answer
    answer: Answer | None = None
    confidence: float | None = None
    agrees: bool | None = None
    note: str = ""
    trace: dict[str, Any] = field(default_factory=dict)
    phases: list[tuple[str, int, int]] = field(default_factory=list)

    def answer_lines(self) -> list[str]:
        """The model's answer and confidence, then its note, for text output (``ask``,
        ``demo``); empty without an answer."""
        if self.answer is None:
            return []
        conf = "" if self.confidence is None else f"  (confidence {self.confidence:.3g})"
        return [self.answer.text() + conf] + ([f"note: {self.note}"] if self.note else [])

    def to_json(self) -> dict[str, Any]:
        """The one object ``dncqa ask --json`` prints."""
        return {
            "question": self.question,
            "query": self.query.to_json(),
            "answer": None if self.answer is None else self.answer.to_json(),
            "confidence": self.confidence,
            "exact": self.exact.to_json(),
            "agrees": self.agrees,
            "graph": self.graph,
            "model": self.model,
            "note": self.note or None,
        }


def import_spacy_without_torch() -> None:
    """Import spaCy without letting it import torch.

    spaCy's thinc imports torch when it is installed (``thinc.compat``), which costs more than
    the rest of ``ask``. The parser only needs spaCy's tokenizer and ``PhraseMatcher``, which
    never use torch, so while spaCy is first imported ``import torch`` is made to fail
    (``sys.modules["torch"] = None``, Python's documented way to block an import); thinc then
    records that torch is absent. Afterwards torch imports normally (for the torch fallback).
    Does nothing when spaCy or torch is already imported.

    ``dncqa ask`` calls this first; library callers of :func:`ask` may too. In that process
    spaCy's own torch features (``thinc``'s PyTorch wrappers) then stay off.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy  # noqa: F401
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]


def parse_for(entry: Entry, question: str) -> Query:
    """Parse ``question`` with ``entry``'s names and labels."""
    from dnc_qa.app.questions import Vocabulary, parse_question

    vocab = Vocabulary.from_graph(entry.graph, entry.meta.name, entry.meta.node_kind)
    return parse_question(question, vocab)


def ask(question: str, graph: str | None = None, workspace: Workspace | None = None,
        with_model: bool = True, backend: str = "auto") -> AskResult:
    """Answer ``question`` about the stored graph ``graph`` (the only one, when ``None``).

    ``backend``: how the model runs (see :func:`dnc_qa.app.engine.load_model`): ``auto``
    (NumPy when it supports the model, else torch), ``numpy`` or ``torch``.
    """
    ws = workspace or Workspace()
    name = graph or ws.default_name()
    entry = ws.load(name)
    query = parse_for(entry, question)
    exact = exact_answer(entry.graph, query)
    result = AskResult(question, query, name, entry.meta.model, exact)
    if not with_model:
        result.note = "model not run (--exact-only)"
        return result
    if entry.memory_file is None:
        result.note = ("no model answer: the graph was stored without a model "
                       "(ingest it with --model untrained or a checkpoint)")
        return result
    from dnc_qa.app import engine

    model = engine.load_model(entry.meta.model, backend=backend)
    routed = engine.routed_model(model, query)
    other = engine.load_model(routed, backend=backend) if routed is not None else None
    if other is not None and engine.fits_labels(other, entry.labels):
        # the question is for another task: the shipped model trained for it reads the
        # graph now (its memory is not stored with the entry)
        state = engine.describe_now(other, entry.graph, entry.labels)
        out = engine.ask_model(other, state, entry.graph, entry.labels, query)
        out.note = "; ".join(filter(None, [
            f"answered by {other.ref!r} (trained for {other.spec.task.replace('_', ' ')}), "
            f"which wrote the graph into its memory for this question", out.note]))
        result.model = other.ref
    else:
        state = engine.load_state(model, entry.memory_file, entry.meta.memory_cells)
        out = engine.ask_model(model, state, entry.graph, entry.labels, query)
    result.answer, result.confidence, result.note = out.answer, out.confidence, out.note
    result.trace, result.phases = out.trace, out.phases
    if out.answer is not None:
        result.agrees = agrees(entry.graph, query, out.answer, exact)
    return result
