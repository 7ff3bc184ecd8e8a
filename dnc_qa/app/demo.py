"""``dncqa demo``: ingest the bundled map and family tree, ask fixed questions, compare answers.

The questions are decided in advance (:data:`DEMO_QUESTIONS`); for each the demo reports the
model's answer and confidence, the exact answer and whether they agree, and at the end how
often the model agreed. Nothing in the user's workspace is touched unless ``keep`` is set, and
then only the entries ``demo-metro`` and ``demo-family``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnc_qa.app.ask import AskResult, ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace

PACKAGE_DATA = Path(__file__).resolve().parent / "demo_data"
"""Bundled examples shipped in the package: the family tree (its only copy; the repository's
``data/family/`` holds its relation table) and the map as one JSON file, for installs without
the repository's ``data/`` folder."""
REPO_DATA = Path(__file__).resolve().parents[2] / "data"

DEMO_ENTRIES = {"metro": "demo-metro", "family": "demo-family"}
"""Graph key -> workspace entry name."""


@dataclass(frozen=True)
class DemoQuestion:
    """One fixed demo question.

    Attributes:
        graph: ``metro`` or ``family`` (a key of :data:`DEMO_ENTRIES`).
        question: the question, in English.
        shows: what it exercises, in a few words.
    """

    graph: str
    question: str
    shows: str


DEMO_QUESTIONS: tuple[DemoQuestion, ...] = (
    DemoQuestion("metro", "how do I get from Fenford Square to Larkton", "shortest path"),
    DemoQuestion("metro", "shortest path from Kelstead to Marley Square",
                 "shortest path, change of line"),
    DemoQuestion("metro", "from Fenford Square take the Amber line north for 3 stops",
                 "traversal along a line"),
    DemoQuestion("metro", "from Quillgate Hill take the Fern line east for 1 stop",
                 "traversal, one hop"),
    DemoQuestion("metro", "start at Silwick Hill and follow Garnet N", "traversal by label"),
    DemoQuestion("metro", "which stations are next to Quillgate Hill", "neighbours"),
    DemoQuestion("metro", "which stations are next to Silwick Hill", "neighbours"),
    DemoQuestion("family", "who is Eli's wife", "fact (one edge)"),
    DemoQuestion("family", "who is Bryn's father", "fact (one edge)"),
    DemoQuestion("family", "start at Ivo and follow father then wife", "walk over relations"),
    DemoQuestion("family", "who is Cai's maternal grandmother",
                 "derived relation (mother, mother)"),
    DemoQuestion("family", "who are Eli's grandchildren", "derived relation, several answers"),
)


def demo_sources() -> dict[str, Path]:
    """The files the demo ingests: the family tree shipped in the package, and the map from the
    repository's ``data/transit`` when present, else its copy in the package (the same graph;
    a test checks it)."""
    metro = REPO_DATA / "transit"
    if not metro.is_dir():
        metro = PACKAGE_DATA / "meridian.json"
    return {"metro": metro, "family": PACKAGE_DATA / "family-tree.json"}


@dataclass
class DemoItem:
    """One answered demo question (see :class:`~dnc_qa.app.ask.AskResult`)."""

    question: DemoQuestion
    result: AskResult

    @property
    def status(self) -> str:
        """``agrees``, ``wrong`` or ``no model answer``."""
        if self.result.agrees is None:
            return "no model answer"
        return "agrees" if self.result.agrees else "wrong"

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        out.update(shows=self.question.shows, status=self.status)
        return out


@dataclass
class DemoReport:
    """The whole demo run.

    Attributes:
        items: the questions with their answers, in :data:`DEMO_QUESTIONS` order.
        models: graph key -> the model reference its memory was written by.
        sources: graph key -> the file ingested.
        seconds: wall time of ingests and questions.
    """

    items: list[DemoItem] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def agreed(self) -> int:
        return sum(1 for item in self.items if item.result.agrees)

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.result.agrees is not None)

    @property
    def chained(self) -> int:
        """Model answers that needed one-hop queries chained in code (walks longer than the
        model was trained on): the fallback, not the model answering in one query."""
        return sum(1 for item in self.items if item.result.answer is not None
                   and "hop by hop" in (item.result.note or ""))

    def summary(self) -> str:
        """``model agreed with the exact answer on K of M questions`` (+ unanswered count)."""
        text = (f"model agreed with the exact answer on {self.agreed} of {len(self.items)} "
                "questions")
        missing = len(self.items) - self.answered
        parts = [f"{missing} had no model answer"] if missing else []
        if self.chained:
            parts.append(f"{self.chained} answered hop by hop, chained in code")
        if parts:
            text += f" ({'; '.join(parts)})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": [item.to_json() for item in self.items],
            "agreed": self.agreed,
            "answered": self.answered,
            "chained": self.chained,
            "total": len(self.items),
            "summary": self.summary(),
            "models": self.models,
            "sources": self.sources,
            "seconds": round(self.seconds, 2),
        }


def run_demo(model: str = "auto", workspace: Workspace | None = None,
             on_item: Callable[[int, DemoItem], None] | None = None,
             log: Any = None) -> DemoReport:
    """Ingest both examples into ``workspace`` (a temporary one when ``None``) and ask every
    question of :data:`DEMO_QUESTIONS`; ``on_item`` sees each answer as it comes."""
    if workspace is None:
        with tempfile.TemporaryDirectory(prefix="dncqa-demo-") as tmp:
            return run_demo(model, Workspace(Path(tmp)), on_item, log)
    start = time.perf_counter()
    report = DemoReport()
    for key, path in demo_sources().items():
        meta = ingest(path, IngestOptions(name=DEMO_ENTRIES[key], model=model), workspace, log)
        report.models[key] = meta.model
        report.sources[key] = str(path)
    for i, q in enumerate(DEMO_QUESTIONS):
        result = ask(q.question, DEMO_ENTRIES[q.graph], workspace)
        item = DemoItem(q, result)
        report.items.append(item)
        if on_item is not None:
            on_item(i, item)
    report.seconds = time.perf_counter() - start
    return report
