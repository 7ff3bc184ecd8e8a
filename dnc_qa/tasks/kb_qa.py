"""Multi-hop questions over random knowledge bases shaped like a text knowledge base.

Each episode is a small knowledge base about invented people, places (cities, countries),
works and organisations: ``sentences`` stated facts from a vocabulary of relations, stored
as ``dncqa ingest`` stores a text file (:func:`dnc_qa.kb.textkb.read_text_kb`): the triple
each sentence reads as, plus the inverse facts it implies (:mod:`dnc_qa.kb.inverse`: "P wrote
W" also gives W's ``author``, "M is the mother of C" gives M's ``son`` or ``daughter``).
:func:`kb_sentences` writes the facts back as sentences in the forms the extractor reads.

A question follows a chain of 1-3 relations from a name ("where was the author of W born":
W's ``author``, then ``born in``), every hop to exactly one node and never back to a node the
chain passed. It is encoded as a traversal (:func:`dnc_qa.encoding.traversal_episode`):
every triple once in random order, the query ``(start, r1, _), (_, r2, _)...``, then one
answer step per hop whose target is that hop's triple. Names and relations are numbered as
the app numbers an ingested knowledge base (:func:`dnc_qa.app.codec.assign_labels`: distinct
random node and edge numbers in 0-999), so a model trained here answers ``dncqa ask`` about
an ingested file the way it was trained.

Lessons (``dnc_qa/tasks/curricula/kb_qa.json``) grow from one-hop questions on knowledge
bases of 4-8 sentences to chains of 1-3 relations on 30-50 sentences (about 40-65 triples).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

import networkx as nx
import numpy as np

from dnc_qa.app.codec import assign_labels
from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding import Relabelling, TraversalQuery, traversal_episode
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple, add_triple
from dnc_qa.kb.inverse import inverse_triples
from dnc_qa.tasks.graph_base import MAX_TRIES, GraphTask

Range = tuple[int, int]
KINDS = ("person", "city", "country", "work", "organisation")


@dataclass(frozen=True)
class KbLesson:
    """One lesson of the knowledge-base curriculum (ranges inclusive).

    Attributes:
        index: 1-based lesson number (warm-ups below the first are 0 or negative).
        sentences: stated facts per knowledge base (its inverse facts come on top).
        length: relations chained per question.
        queries: questions per episode.
    """

    index: int
    sentences: Range
    length: Range
    queries: int = 1


@lru_cache(maxsize=1)
def load_kb_curriculum() -> tuple[KbLesson, ...]:
    """The lessons of ``dnc_qa/tasks/curricula/kb_qa.json``, easiest first."""
    text = resources.files("dnc_qa.tasks").joinpath("curricula", "kb_qa.json").read_text(
        encoding="utf-8")
    data = json.loads(text)
    return tuple(KbLesson(i + 1, _pair(d["sentences"]), _pair(d["length"]),
                          int(d.get("queries", 1)))
                 for i, d in enumerate(data["lessons"]))


def _pair(value: object) -> Range:
    if isinstance(value, int):
        return (value, value)
    lo, hi = value  # type: ignore[misc]
    return (int(lo), int(hi))


# ------------------------------------------------------------------ the relations


@dataclass(frozen=True)
class Form:
    """A sentence form: ``template`` with ``{s}`` (the slot's entity) and ``{o}`` (its
    value); the extractor reads it as the triple ``(s, label, o)``, or ``(o, label, s)``
    when ``reverse``."""

    template: str
    label: str
    reverse: bool = False


@dataclass(frozen=True)
class RelationSpec:
    """A functional relation: each ``subject`` entity has at most one value, of one of the
    ``objects`` kinds, stated in one of ``forms``."""

    name: str
    subject: str
    objects: tuple[str, ...]
    forms: tuple[Form, ...]


RELATIONS: tuple[RelationSpec, ...] = (
    RelationSpec("born in", "person", ("city",), (Form("{s} was born in {o}.", "born in"),)),
    RelationSpec("live in", "person", ("city", "country"),
                 (Form("{s} lives in {o}.", "live in"),)),
    RelationSpec("mother", "person", ("person",),
                 (Form("{o} is the mother of {s}.", "mother"), Form("{s}'s mother is {o}.",
                                                                    "mother"))),
    RelationSpec("father", "person", ("person",),
                 (Form("{o} is the father of {s}.", "father"), Form("{s}'s father is {o}.",
                                                                    "father"))),
    RelationSpec("wife", "person", ("person",),
                 (Form("{o} is the wife of {s}.", "wife"), Form("{s}'s wife is {o}.", "wife"))),
    RelationSpec("like", "person", ("work",), (Form("{s} likes {o}.", "like"),)),
    RelationSpec("work for", "person", ("organisation",),
                 (Form("{s} works for {o}.", "work for"),)),
    RelationSpec("author", "work", ("person",),
                 (Form("The author of {s} is {o}.", "author"), Form("{o} wrote {s}.", "write",
                                                                    True),
                  Form("{s} was written by {o}.", "write", True))),
    RelationSpec("set in", "work", ("city", "country"), (Form("{s} is set in {o}.", "set in"),)),
    RelationSpec("capital", "country", ("city",),
                 (Form("{o} is the capital of {s}.", "capital"),
                  Form("The capital of {s} is {o}.", "capital"))),
    RelationSpec("in", "city", ("country",), (Form("{s} is in {o}.", "in"),)),
    RelationSpec("mayor", "city", ("person",),
                 (Form("The mayor of {s} is {o}.", "mayor"), Form("{o} is the mayor of {s}.",
                                                                  "mayor"))),
    RelationSpec("founder", "organisation", ("person",),
                 (Form("{o} founded {s}.", "found", True),
                  Form("The founder of {s} is {o}.", "founder"))),
    RelationSpec("director", "organisation", ("person",),
                 (Form("The director of {s} is {o}.", "director"),)),
    RelationSpec("based in", "organisation", ("city",),
                 (Form("{s} is based in {o}.", "based in"),)),
)
"""The vocabulary of relations, each with the sentence forms it is stated in."""

SHARE = {"person": 0.35, "city": 0.15, "country": 0.08, "work": 0.15, "organisation": 0.08}
"""Entities of each kind per stated fact (at least one of each kind)."""

WORDS = {
    "first": "Orla Tobin Maeve Pell Ines Quentin Bertram Ada Bram Cora Dov Edda Finn Greta Hale "
             "Ilse Joss Kira Lorn Mira Nell Oren Pia Rhun Sela Tam Una Vik Wren Yara",
    "last": "Venn Marsh Kell Harrow Lisle Orme Penn Quill Rook Strand Thorne Vale Wick Ashby "
            "Brand Crewe Dale Ember Fenn Gale",
    "place": "Lark Dun Gull Fen Ash Bel Cor Dra Elm Frost Glen Hol Ivy Kel Lin Mor Oak Pel Rav "
             "Sil Thorn Wil Brae Cald",
    "city": "haven mere gate ford wick by ton stead bury holm",
    "country": "march land reach mark moor vale",
    "adjective": "Glass Ashen Silver Hollow Quiet Iron Amber Winter Salt Crimson",
    "noun": "Harbour Bells Mill Lantern Orchard Tide Crown Garden Road Mirror",
    "body": "Foundry Guild Press Company Institute Society Works Trust",
}
"""The parts invented names are made of (space-separated)."""


def _names(kind: str, count: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    """``count`` new invented names of ``kind``, none in ``taken`` (which grows)."""
    def pick(*parts: str) -> str:
        words = [w for part in parts for w in WORDS[part].split()]
        return words[int(rng.integers(len(words)))]

    def draw() -> str:
        if kind == "person":
            return f"{pick('first')} {pick('last')}"
        if kind in ("city", "country"):
            return pick("place") + pick(kind)
        if kind == "work":
            return f"{pick('adjective')} {pick('noun')}"
        return f"{pick('last', 'place')} {pick('body')}"

    out: list[str] = []
    for _ in range(count * 50):
        if len(out) == count:
            break
        name = draw()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


# ------------------------------------------------------------------ knowledge bases


@dataclass(frozen=True)
class KnowledgeBase:
    """A random knowledge base.

    Attributes:
        sentences: the stated facts as sentences, in order.
        facts: the triple each sentence reads as.
        graph: what ingest stores: the facts and the inverse facts they imply.
        kinds: ``{entity: kind}`` (``person``, ``city``, ``country``, ``work``,
            ``organisation``).
    """

    sentences: tuple[str, ...]
    facts: tuple[Triple, ...]
    graph: nx.MultiDiGraph
    kinds: dict[str, str]


def random_kb(sentences: int, rng: np.random.Generator) -> KnowledgeBase:
    """A knowledge base of ``sentences`` stated facts (fewer only when the entities run out
    of facts to state, which the entity counts make unlikely).

    Each fact fills one (entity, relation) slot with a value of a fitting kind: mothers are
    women and fathers men, wives are women married to men (each person once), no city is
    the capital of two countries and nothing is its own value.
    """
    if sentences < 1:
        raise DncQaError("a knowledge base needs at least one sentence")
    taken: set[str] = set()
    entities = {kind: _names(kind, max(1, round(SHARE[kind] * sentences)) + 1, rng, taken)
                for kind in KINDS}
    female = {p for p in entities["person"] if rng.random() < 0.5}
    slots = [(e, spec) for spec in RELATIONS for e in entities[spec.subject]]
    order = rng.permutation(len(slots))
    married: set[str] = set()
    capitals: set[str] = set()
    facts: list[Triple] = []
    said: list[str] = []
    for i in order:
        if len(facts) == sentences:
            break
        entity, spec = slots[int(i)]
        value = _value(entity, spec, entities, female, married, capitals, rng)
        if value is None:
            continue
        if spec.name == "wife":
            married |= {entity, value}
        elif spec.name == "capital":
            capitals.add(value)
        form = spec.forms[int(rng.integers(len(spec.forms)))]
        facts.append(Triple(value, form.label, entity) if form.reverse
                     else Triple(entity, form.label, value))
        said.append(form.template.format(s=entity, o=value))
    graph = nx.MultiDiGraph()
    for t in (*facts, *inverse_triples(facts)):
        add_triple(graph, t.source, t.relation, t.target)
    kinds = {e: kind for kind, names in entities.items() for e in names if e in graph}
    return KnowledgeBase(tuple(said), tuple(facts), graph, kinds)


def _value(entity: str, spec: RelationSpec, entities: dict[str, list[str]], female: set[str],
           married: set[str], capitals: set[str], rng: np.random.Generator) -> str | None:
    """A value for the slot ``(entity, spec)`` that keeps the knowledge base consistent, or
    ``None`` when there is none."""
    kind = spec.objects[int(rng.integers(len(spec.objects)))]
    options = [e for e in entities[kind] if e != entity]
    if spec.name == "mother":
        options = [e for e in options if e in female]
    elif spec.name == "father":
        options = [e for e in options if e not in female]
    elif spec.name == "wife":
        if entity in female or entity in married:
            return None
        options = [e for e in options if e in female and e not in married]
    elif spec.name == "capital":
        options = [e for e in options if e not in capitals]
    if not options:
        return None
    return options[int(rng.integers(len(options)))]


def kb_sentences(kb: KnowledgeBase) -> str:
    """The knowledge base as a text file for ``dncqa ingest``: one sentence a line."""
    return "".join(s + "\n" for s in kb.sentences)


# ------------------------------------------------------------------ questions


def single_steps(graph: nx.MultiDiGraph, node: str) -> list[tuple[str, str]]:
    """``(label, target)`` for each label that leads from ``node`` to exactly one node, in
    label order."""
    targets: dict[str, list[str]] = {}
    for _, v, k in graph.out_edges(node, keys=True):
        targets.setdefault(k, []).append(v)
    return sorted((k, vs[0]) for k, vs in targets.items() if len(vs) == 1)


def chain_from(graph: nx.MultiDiGraph, start: str, length: int, rng: np.random.Generator
               ) -> tuple[str, ...] | None:
    """The labels of a random chain of ``length`` hops from ``start``, each to exactly one
    node and never back to one it passed; ``None`` when there is none."""
    def extend(node: str, seen: frozenset[str], left: int) -> Iterator[tuple[str, ...]]:
        if left == 0:
            yield ()
            return
        options = [s for s in single_steps(graph, node) if s[1] not in seen]
        for i in rng.permutation(len(options)):
            label, target = options[int(i)]
            for rest in extend(target, seen | {target}, left - 1):
                yield (label, *rest)

    return next(extend(start, frozenset({start}), length), None)


def random_chain(graph: nx.MultiDiGraph, length: int, rng: np.random.Generator
                 ) -> TraversalQuery | None:
    """A question chaining ``length`` relations from a random name, or ``None`` when none
    of :data:`~dnc_qa.tasks.graph_base.MAX_TRIES` starts has one."""
    nodes = sorted(graph.nodes)
    for _ in range(MAX_TRIES):
        start = nodes[int(rng.integers(len(nodes)))]
        labels = chain_from(graph, start, length, rng)
        if labels is not None:
            return TraversalQuery(start, labels)
    return None


def app_relabelling(graph: nx.MultiDiGraph, seed: int) -> Relabelling:
    """The numbers the app writes ``graph`` with at ingest (``assign_labels`` with the full
    0-999 ranges, as for a model that declares none), as the encoder's relabelling."""
    labels = assign_labels(graph, seed)
    return Relabelling(dict(labels.nodes), dict(labels.edges))


# ------------------------------------------------------------------ the task


@dataclass(frozen=True)
class KbQaTask(GraphTask):
    """Chained fact questions over random knowledge bases at ``lesson`` (``None``: the final
    lesson, chains of 1-3 relations on 30-50 sentences)."""

    lesson: KbLesson | None = None  # type: ignore[assignment]
    name: str = "kb_qa"

    @property
    def current(self) -> KbLesson:  # type: ignore[override]
        return self.lesson if self.lesson is not None else load_kb_curriculum()[-1]

    def with_lesson(self, lesson: KbLesson) -> KbQaTask:  # type: ignore[override]
        return replace(self, lesson=lesson)

    def lessons(self) -> list[GraphTask]:
        """The lessons of ``dnc_qa/tasks/curricula/kb_qa.json``."""
        return [self.with_lesson(lesson) for lesson in load_kb_curriculum()[:-1]] + [self]

    def warmup_lessons(self, count: int) -> list[GraphTask]:
        """``count`` one-hop lessons on knowledge bases smaller than the first lesson's,
        growing towards it."""
        first = load_kb_curriculum()[0]
        out: list[GraphTask] = []
        for i in range(count):
            lo = max(1, round(2 + (first.sentences[0] - 2) * i / count))
            hi = max(lo, round(3 + (first.sentences[1] - 3) * i / count))
            out.append(self.with_lesson(KbLesson(-(count - i), (lo, hi), (1, 1),
                                                 first.queries)))
        return out

    def build(self, rng: np.random.Generator) -> GraphEpisode:
        lesson = self.current
        for _ in range(MAX_TRIES):
            size = int(rng.integers(lesson.sentences[0], lesson.sentences[1] + 1))
            kb = random_kb(size, rng)
            queries = []
            for _ in range(lesson.queries):
                length = int(rng.integers(lesson.length[0], lesson.length[1] + 1))
                query = random_chain(kb.graph, length, rng)
                if query is None:
                    break
                queries.append(query)
            if len(queries) == lesson.queries:
                relabelling = app_relabelling(kb.graph, int(rng.integers(2**31)))
                return traversal_episode(kb.graph, queries, rng, relabelling=relabelling)
        raise RuntimeError(f"could not build a knowledge-base episode for {lesson}")
