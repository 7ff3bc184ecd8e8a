"""``ask``: parse a question against a stored graph, answer it exactly and with the model.

The model runs on NumPy (:mod:`dnc_qa.inference`) when it can, and ``dncqa ask`` imports spaCy
without torch (:func:`import_spacy_without_torch`), so that a cold ``dncqa ask`` does not import
torch (about 1.8 s of a 3.3 s answer); torch remains the fallback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dnc_qa.app.answer.shortest_path import ASK_BEAM
from dnc_qa.app.answer.views import DEFAULT_VIEWS
from dnc_qa.app.exact_answers import Answer, agrees, exact_answer
from dnc_qa.app.label_fit import with_fitted_labels
from dnc_qa.app.places import with_containment
from dnc_qa.app.queries import Query
from dnc_qa.app.workspace import Entry, Workspace
from dnc_qa.errors import DncQaError

DEFAULT_MIN_CONFIDENCE = 0.3
"""The confidence below which a shipped model's answer is withheld unless ``--min-confidence``
says otherwise: on held-out questions it gives the most right minus wrong answers (measured
with ``benchmarks/calibration.py``; ``docs/application.md``, Abstention). Other models
(untrained, your checkpoints) are not measured and default to 0 (never withheld)."""
SHORTEST_PATH_MIN_CONFIDENCE = 0.1
"""The default threshold for a shipped model's shortest paths, whose confidence is the
product of the chosen moves' probabilities and so falls with every move: on maps the model
never saw, right minus wrong answers peak between 0.05 and 0.1 (144 questions of
``python -m benchmarks.app_paths`` with the model's 95-minute checkpoint,
``results/shortest-path-transit-95min``: 116 right and 8 wrong shown at 0.1, 91 and 5 at 0.2;
the 24 of ``benchmarks/calibration.py``'s larger maps agree; the shipped model shows 126 right
and 13 wrong at 0.1), ``docs/application.md``."""


@dataclass(frozen=True)
class Withheld:
    """A model answer held back because its confidence was below the threshold.

    Attributes:
        answer: the model's answer as it was.
        confidence: the model's probability for it.
        agrees: whether it was right (``None`` when it cannot be compared).
        min_confidence: the threshold it fell below.
        note: the model's note on the answer (empty when none).
    """

    answer: Answer
    confidence: float
    agrees: bool | None
    min_confidence: float
    note: str = ""

    def text(self) -> str:
        """``no answer (confidence 0.43 below 0.50)``."""
        return (f"no answer (confidence {self.confidence:.2f} below "
                f"{self.min_confidence:.2f})")

    def to_json(self) -> dict[str, Any]:
        """The withheld answer as ``dncqa ask --json`` prints it under ``withheld`` (its
        confidence is the result's ``confidence``)."""
        return {"answer": self.answer.to_json(), "answer_text": self.answer.text(),
                "agrees": self.agrees, "min_confidence": self.min_confidence,
                "text": self.text()}


def check_min_confidence(value: float | None) -> float | None:
    """``value`` when it is a probability (0 to 1) or ``None``, else a one-line error."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise DncQaError(f"--min-confidence must be between 0 and 1, not {value:g}")
    return value


def default_min_confidence(model_ref: str, query_type: str = "") -> float:
    """:data:`DEFAULT_MIN_CONFIDENCE` for a shipped model (the threshold was measured on
    them; shortest paths: :data:`SHORTEST_PATH_MIN_CONFIDENCE`), 0 for any other model."""
    from dnc_qa.app.engine import shipped_models

    if model_ref not in shipped_models():
        return 0.0
    return SHORTEST_PATH_MIN_CONFIDENCE if query_type == "shortest_path" \
        else DEFAULT_MIN_CONFIDENCE


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
        confidence: the model's probability for its answer (also when it is withheld).
        agrees: whether the model's answer is right (``None`` without one).
        note: why the model answer is missing, or a warning about it.
        trace, phases: memory activity for plots (see :class:`~dnc_qa.app.answer.ModelAnswer`).
        withheld: the model's answer when its confidence fell below ``min_confidence``
            (``answer`` and ``agrees`` are then ``None`` and ``note`` starts with ``no answer
            (confidence 0.12 below 0.30)``).
        min_confidence: the threshold the answer was held to.
        votes: ``(agreeing, asked)``: how many of the relabelled memories asked gave the
            answer (:mod:`dnc_qa.app.answer.views`); ``None`` when one memory was asked.
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
    withheld: Withheld | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    votes: tuple[int, int] | None = None

    def answer_lines(self) -> list[str]:
        """The model's answer and confidence (or ``no answer (confidence ... below ...)``),
        then its note, for text output (``ask``, ``demo``); empty without an answer."""
        if self.withheld is not None:
            said = self.withheld.note
            return [self.withheld.text()] + ([f"note: {said}"] if said else [])
        note = [f"note: {self.note}"] if self.note else []
        if self.answer is None:
            return []
        conf = "" if self.confidence is None else f"  (confidence {self.confidence:.3g})"
        return [self.answer.text() + conf] + note

    def to_json(self) -> dict[str, Any]:
        """The one object ``dncqa ask --json`` prints; ``exact_note`` says why the exact
        answer is none ("there is no 'mayor' edge from Harrowgate (hop 2 of 2)"), else
        ``None``."""
        return {
            "question": self.question,
            "query": self.query.to_json(),
            "answer": None if self.answer is None else self.answer.to_json(),
            "confidence": self.confidence,
            "exact": self.exact.to_json(),
            "exact_note": self.exact.note or None,
            "agrees": self.agrees,
            "graph": self.graph,
            "model": self.model,
            "note": self.note or None,
            "min_confidence": self.min_confidence,
            "withheld": None if self.withheld is None else self.withheld.to_json(),
            "votes": None if self.votes is None else {"agreeing": self.votes[0],
                                                      "asked": self.votes[1]},
        }


def withhold_below(result: AskResult, min_confidence: float) -> AskResult:
    """``result`` with its model answer moved to :attr:`AskResult.withheld` when its
    confidence is below ``min_confidence`` (a model answer without a confidence is kept)."""
    result.min_confidence = min_confidence
    if result.answer is None or result.confidence is None or \
            result.confidence >= min_confidence:
        return result
    result.withheld = Withheld(result.answer, result.confidence, result.agrees, min_confidence,
                               result.note)
    result.note = "; ".join(filter(None, [result.withheld.text(), result.note]))
    result.answer = result.agrees = None
    return result


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


def check_views(value: int) -> int:
    """``value`` when it is a number of memories :func:`ask` can consult, else a one-line
    error."""
    from dnc_qa.app.answer.views import MAX_VIEWS

    if not 1 <= value <= MAX_VIEWS:
        raise DncQaError(f"--views must be between 1 and {MAX_VIEWS}, not {value}")
    return value


def check_beam(value: int) -> int:
    """``value`` when it is a beam width :func:`ask` can use, else a one-line error."""
    from dnc_qa.app.answer.shortest_path import MAX_BEAM

    if not 1 <= value <= MAX_BEAM:
        raise DncQaError(f"--beam must be between 1 and {MAX_BEAM}, not {value}")
    return value


def ask(question: str, graph: str | None = None, workspace: Workspace | None = None,
        with_model: bool = True, backend: str = "auto",
        min_confidence: float | None = None, views: int = DEFAULT_VIEWS,
        beam: int = ASK_BEAM) -> AskResult:
    """Answer ``question`` about the stored graph ``graph`` (the only one, when ``None``).

    ``backend``: how the model runs (see :func:`dnc_qa.app.engine.load_model`): ``auto``
    (NumPy when it supports the model, else torch), ``numpy`` or ``torch``.
    ``min_confidence``: a model answer with a lower confidence is withheld
    (:attr:`AskResult.withheld`), reported as no answer; ``None``: the default for the
    model that answered (:func:`default_min_confidence`, what ``dncqa ask`` uses).
    ``views``: the model is asked in this many memories of the graph, each under other
    random numbers, and the answer most of them give is its answer
    (:mod:`dnc_qa.app.answer.views`); 1: the stored memory only. ``beam``: shortest paths
    are decoded by a beam search of this width over the model's moves (1: greedy).
    """
    check_min_confidence(min_confidence)
    check_views(views)
    check_beam(beam)
    ws = workspace or Workspace()
    name = graph or ws.default_name()
    entry = ws.load(name)
    query, swapped = with_fitted_labels(parse_for(entry, question), entry.graph)
    query, added = with_containment(query, entry.graph, question)
    if added:  # the hops after an added one may reach nodes that word a relation otherwise
        query, more = with_fitted_labels(query, entry.graph)
        swapped += more
    exact = exact_answer(entry.graph, query)
    result = AskResult(question, query, name, entry.meta.model, exact,
                       min_confidence=min_confidence or 0.0)
    if not with_model:
        result.note = "model not run (--exact-only)"
        return result
    if entry.memory_file is None:
        result.note = ("no model answer: the graph was stored without a model "
                       "(ingest it with --model untrained or a checkpoint)")
        return result
    from dnc_qa.app import engine
    from dnc_qa.app.answer import ask_model
    from dnc_qa.app.answer.views import ask_in_views

    model = engine.load_model(entry.meta.model, backend=backend)
    routed = engine.routed_model(model, query)
    other = engine.load_model(routed, backend=backend) if routed is not None else None
    if other is not None and engine.fits_labels(other, entry.labels):
        # the question is for another task: the shipped model trained for it reads the
        # graph now (its memory is not stored with the entry)
        state = engine.describe_now(other, entry.graph, entry.labels)
        out = ask_in_views(other, entry.graph, entry.labels, state, query, views, beam)
        out.note = "; ".join(filter(None, [
            f"answered by {other.ref!r} (trained for {other.spec.task.replace('_', ' ')}), "
            f"which wrote the graph into its memory for this question", out.note]))
        result.model = other.ref
    else:
        state = engine.load_state(model, entry.memory_file, entry.meta.memory_cells)
        if model is None:
            out = ask_model(model, state, entry.graph, entry.labels, query)
        else:
            out = ask_in_views(model, entry.graph, entry.labels, state, query, views, beam)
    result.answer, result.confidence, result.note = out.answer, out.confidence, out.note
    if swapped:
        words = ", ".join(f"{used!r} for {asked!r}" for asked, used in swapped)
        result.note = "; ".join(filter(None, [
            f"read with {words}: the facts use that word there (dnc_qa.app.label_fit)",
            result.note]))
    if added:
        hops = " and ".join(repr(label) for label in added)
        result.note = "; ".join(filter(None, [
            f"read with {hops} added: the facts name a place inside the one asked about "
            f"(dnc_qa.app.places)", result.note]))
    result.votes = out.votes
    result.trace, result.phases = out.trace, out.phases
    if out.answer is not None:
        result.agrees = agrees(entry.graph, query, out.answer, exact)
    threshold = default_min_confidence(result.model, query.type) if min_confidence is None \
        else min_confidence
    return withhold_below(result, threshold)


@dataclass
class FileAnswer:
    """One question of a file asked by :func:`ask_file`: its result, or why it failed.

    Attributes:
        line: the question's line number in the file (from 1).
        question: the question as written.
        result: the answer (``None`` when it failed).
        error: the one-line error (``None`` when it was answered).
    """

    line: int
    question: str
    result: AskResult | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``ask --json``'s object plus ``line``; a failed question: ``line``, ``question``
        and ``error``."""
        if self.result is None:
            return {"line": self.line, "question": self.question, "error": self.error}
        return {"line": self.line, **self.result.to_json()}


def read_questions(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The questions of a text file with their line numbers: one a line, blank lines and
    lines starting with ``#`` skipped. A missing or unreadable file is a one-line error."""
    from pathlib import Path

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DncQaError(f"--file {p}: no such file") from None
    except IsADirectoryError:
        raise DncQaError(f"--file {p} is a folder, not a file of questions") from None
    except UnicodeDecodeError:
        raise DncQaError(f"--file {p} is not UTF-8 text") from None
    except OSError as exc:
        raise DncQaError(f"--file {p}: {exc.strerror or exc}") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out


def ask_many(questions: Iterable[str | tuple[int, str]], graph: str | None = None,
             workspace: Workspace | None = None, **options: Any) -> Iterator[FileAnswer]:
    """:func:`ask` each question in turn (``options`` as for :func:`ask`); a question that
    fails (cannot be parsed, names an unknown node...) yields its error and the rest are
    asked. Plain strings are numbered from 1."""
    ws = workspace or Workspace()
    name = graph or ws.default_name()
    ws.require(name)  # an unknown graph fails once, not once per question
    for i, item in enumerate(questions, 1):
        line, question = item if isinstance(item, tuple) else (i, item)
        try:
            yield FileAnswer(line, question, ask(question, name, ws, **options))
        except DncQaError as exc:
            yield FileAnswer(line, question, error=str(exc))


def ask_file(path: str | os.PathLike[str], graph: str | None = None,
             workspace: Workspace | None = None, **options: Any) -> Iterator[FileAnswer]:
    """:func:`ask_many` over the questions of a file (:func:`read_questions`)."""
    return ask_many(read_questions(path), graph, workspace, **options)
