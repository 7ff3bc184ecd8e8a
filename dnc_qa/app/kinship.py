"""Family relations ("maternal great uncle", "grandchildren") as walks over a family tree.

A relation is parsed from words into a :class:`Relation`: one or more alternative sequences of
:class:`KinStep` (parent / child / sibling / spouse, each optionally restricted to a sex).
:class:`FamilyView` reads the tree's edges, whatever subset of the usual labels it uses
(``mother``, ``father``, ``parent``, ``son``, ``daughter``, ``child``, ``brother``, ``sister``,
``sibling``, ``husband``, ``wife``, ``spouse``), in both directions: an edge
``(Bob, "mother", Ann)`` means *Ann is Bob's mother* (see :class:`dnc_qa.graphs.model.Triple`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import networkx as nx

Kin = Literal["parent", "child", "sibling", "spouse"]
Sex = Literal["M", "F"] | None


@dataclass(frozen=True)
class KinStep:
    """One step of a relation: move to ``kin`` (restricted to ``sex`` when given)."""

    kin: Kin
    sex: Sex = None


@dataclass(frozen=True)
class Relation:
    """A named family relation.

    Attributes:
        name: its canonical name ("maternal great uncle").
        paths: alternative sequences of :class:`KinStep`; the relation is everyone reached by
            any of them.
        labels: for the project's derived relations (:data:`dnc_qa.graphs.family.
            DERIVED_RELATIONS`, the ones inference models are trained on), the composition of
            edge labels that defines it; when set it is used instead of ``paths``, with
            simple-walk semantics, so exact and model answers share one definition.
    """

    name: str
    paths: tuple[tuple[KinStep, ...], ...]
    labels: tuple[str, ...] = ()


P, C, S, SP = "parent", "child", "sibling", "spouse"

# base term -> (steps, which kind of "great" it takes: "up" adds a parent step at the front,
# "down" adds a child step at the end, None takes no "great")
_BASE: dict[str, tuple[tuple[tuple[str, Sex], ...], str | None]] = {
    "parent": (((P, None),), None),
    "mother": (((P, "F"),), None),
    "father": (((P, "M"),), None),
    "child": (((C, None),), None),
    "son": (((C, "M"),), None),
    "daughter": (((C, "F"),), None),
    "sibling": (((S, None),), None),
    "brother": (((S, "M"),), None),
    "sister": (((S, "F"),), None),
    "spouse": (((SP, None),), None),
    "husband": (((SP, "M"),), None),
    "wife": (((SP, "F"),), None),
    "grandparent": (((P, None), (P, None)), "up"),
    "grandmother": (((P, None), (P, "F")), "up"),
    "grandfather": (((P, None), (P, "M")), "up"),
    "grandchild": (((C, None), (C, None)), "down"),
    "grandson": (((C, None), (C, "M")), "down"),
    "granddaughter": (((C, None), (C, "F")), "down"),
    "uncle": (((P, None), (S, "M")), "up"),
    "aunt": (((P, None), (S, "F")), "up"),
    "nephew": (((S, None), (C, "M")), "down"),
    "niece": (((S, None), (C, "F")), "down"),
    "cousin": (((P, None), (S, None), (C, None)), None),
}

_SYNONYMS = {
    "mum": "mother", "mom": "mother", "mommy": "mother", "mummy": "mother", "ma": "mother",
    "dad": "father", "daddy": "father", "pa": "father", "kid": "child", "partner": "spouse",
    "grandma": "grandmother", "granny": "grandmother", "grandpa": "grandfather",
    "grandad": "grandfather", "granddad": "grandfather", "granduncle": "great uncle",
    "grandaunt": "great aunt", "grandnephew": "great nephew", "grandniece": "great niece",
    "first cousin": "cousin", "sis": "sister", "bro": "brother",
}

_PLURALS = {
    "children": "child", "grandchildren": "grandchild", "kids": "kid", "wives": "wife",
    "people": "person",
}

_IN_LAW = {
    "parent": ((SP, None), (P, None)), "mother": ((SP, None), (P, "F")),
    "father": ((SP, None), (P, "M")), "son": ((C, None), (SP, "M")),
    "daughter": ((C, None), (SP, "F")), "child": ((C, None), (SP, None)),
    "brother": ((SP, None), (S, "M")), "sister": ((SP, None), (S, "F")),
    "sibling": ((SP, None), (S, None)),
}

SEX_OF_LABEL: dict[str, Sex] = {
    "mother": "F", "daughter": "F", "sister": "F", "wife": "F",
    "father": "M", "son": "M", "brother": "M", "husband": "M",
}
# label -> (what the target is to the source)
KIN_OF_LABEL: dict[str, Kin] = {
    "mother": "parent", "father": "parent", "parent": "parent",
    "son": "child", "daughter": "child", "child": "child",
    "brother": "sibling", "sister": "sibling", "sibling": "sibling",
    "husband": "spouse", "wife": "spouse", "spouse": "spouse",
}
_INVERSE: dict[Kin, Kin] = {"parent": "child", "child": "parent", "sibling": "sibling",
                            "spouse": "spouse"}


def singular(word: str) -> str:
    """``"uncles"`` -> ``"uncle"``, ``"grandchildren"`` -> ``"grandchild"``."""
    if word in _PLURALS:
        return _PLURALS[word]
    if word.endswith("s") and word[:-1] in _BASE | {w: 0 for w in _SYNONYMS}:
        return word[:-1]
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word


def parse_relation(text: str) -> Relation | None:
    """The :class:`Relation` that ``text`` names, or ``None`` if it is not a family relation.

    >>> parse_relation("maternal great-uncles").name
    'maternal great uncle'
    """
    words = re.sub(r"[-_]", " ", text.casefold().replace("\u2019", "'")).split()
    words = [w for w in words if w not in ("the", "a", "an", "all", "my", "his", "her", "their")]
    if not words:
        return None
    words[-1] = singular(words[-1])
    phrase = " ".join(words)
    derived = derived_relations().get(phrase)
    if derived is not None:
        return derived
    for short, full in _SYNONYMS.items():
        phrase = re.sub(rf"\b{short}\b", full, phrase)
    phrase = re.sub(r"\bgrand (mother|father|parent|child|son|daughter)\b", r"grand\1", phrase)
    words = phrase.split()
    in_law = words[-2:] == ["in", "law"]
    if in_law:
        words = words[:-2]
    side: Sex = None
    if words and words[0] in ("maternal", "paternal"):
        side = "F" if words[0] == "maternal" else "M"
        words = words[1:]
    greats = 0
    while words and words[0] == "great":
        greats += 1
        words = words[1:]
    if len(words) != 1:
        return None
    base = words[0]
    if in_law:
        if greats or side or base not in _IN_LAW:
            return None
        return Relation(f"{base} in law", (tuple(KinStep(k, s) for k, s in _IN_LAW[base]),))
    if base not in _BASE:
        return None
    steps, growth = _BASE[base]
    if greats and growth is None:
        return None
    seq = list(steps)
    for _ in range(greats):
        if growth == "up":
            seq.insert(0, (P, None))
        else:
            seq.append((C, None))
    if side is not None:
        if seq[0][0] != P or len(seq) < 2:
            return None
        seq[0] = (P, side)
    name = " ".join(
        [*(["maternal" if side == "F" else "paternal"] if side else []), *["great"] * greats, base]
    )
    return Relation(name, (tuple(KinStep(k, s) for k, s in seq),))  # type: ignore[arg-type]


_LABELS_FOR: dict[Kin, dict[Sex, tuple[str, ...]]] = {
    "parent": {"F": ("mother",), "M": ("father",), None: ("mother", "father", "parent")},
    "child": {"F": ("daughter",), "M": ("son",), None: ("son", "daughter", "child")},
    "sibling": {"F": ("sister",), "M": ("brother",), None: ("brother", "sister", "sibling")},
    "spouse": {"F": ("wife",), "M": ("husband",), None: ("husband", "wife", "spouse")},
}
MAX_WALKS = 16


def label_walks(relation: Relation, labels: set[str]) -> list[tuple[str, ...]]:
    """The sequences of edge labels (of those in ``labels``) that spell ``relation``'s
    paths: "grandmother" -> (mother, mother), (father, mother). A sibling step with no
    sibling labels becomes a parent then a child step. At most :data:`MAX_WALKS`; an empty
    list when a step has no label in ``labels``."""
    walks: list[tuple[str, ...]] = []
    for path in relation.paths:
        options: list[tuple[tuple[str, ...], ...]] = []
        for step in path:
            direct = tuple(k for k in _LABELS_FOR[step.kin][step.sex] if k in labels)
            if direct:
                options.append(tuple((k,) for k in direct))
                continue
            if step.kin != "sibling":
                return []
            up = [k for k in _LABELS_FOR["parent"][None] if k in labels]
            down = [k for k in _LABELS_FOR["child"][step.sex] if k in labels]
            if not up or not down:
                return []
            options.append(tuple((a, b) for a in up for b in down))
        partial: list[tuple[str, ...]] = [()]
        for choice in options:
            partial = [w + c for w in partial for c in choice]
        walks += [w for w in partial if w not in walks]
    return walks[:MAX_WALKS]


@lru_cache(maxsize=1)
def derived_relations() -> dict[str, Relation]:
    """The project's named compositions, keyed by their normalised names."""
    try:
        from dnc_qa.graphs.family import DERIVED_RELATIONS
    except ImportError:  # pragma: no cover - the graphs package is part of this project
        return {}
    out = {}
    for rel in DERIVED_RELATIONS:
        key = " ".join(re.sub(r"[-_]", " ", str(rel.label).casefold()).split())
        out[key] = Relation(str(rel.label), (), tuple(rel.path))
    return out


class FamilyView:
    """Parent / child / sibling / spouse links and sexes read from a family-tree graph."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self.links: dict[Kin, dict[str, set[str]]] = {k: {} for k in _INVERSE}
        self.sex: dict[str, Sex] = {}
        for node, data in graph.nodes(data=True):
            value = str(data.get("sex", data.get("gender", ""))).strip().lower()
            if value in ("f", "female", "woman"):
                self.sex[node] = "F"
            elif value in ("m", "male", "man"):
                self.sex[node] = "M"
        for u, v, label in graph.edges(keys=True):
            key = singular(str(label).strip().lower().replace("_of", ""))
            kin = KIN_OF_LABEL.get(key)
            if kin is None or u == v:
                continue
            self._link(u, kin, v)
            self._link(v, _INVERSE[kin], u)
            if key in SEX_OF_LABEL:
                self.sex.setdefault(v, SEX_OF_LABEL[key])
        # siblings through shared parents
        for person, parents in list(self.links["parent"].items()):
            for parent in parents:
                for other in self.links["child"].get(parent, ()):
                    if other != person:
                        self._link(person, "sibling", other)

    def _link(self, a: str, kin: Kin, b: str) -> None:
        self.links[kin].setdefault(a, set()).add(b)

    def step(self, people: set[str], step: KinStep) -> set[str]:
        """Everyone one ``step`` away from any of ``people``."""
        out: set[str] = set()
        for p in people:
            for q in self.links[step.kin].get(p, ()):
                if step.sex is None or self.sex.get(q) == step.sex:
                    out.add(q)
        return out

    def relatives(self, person: str, relation: Relation) -> list[str]:
        """Everyone who is ``person``'s ``relation`` (sorted; never ``person`` themself)."""
        if relation.labels:
            from dnc_qa.graphs.relations import follow

            found = follow(self.graph, person, relation.labels)
            found.discard(person)
            return sorted(found)
        found: set[str] = set()
        for path in relation.paths:
            people = {person}
            for step in path:
                people = self.step(people, step)
            found |= people
        found.discard(person)
        return sorted(found)

    def is_family_tree(self) -> bool:
        """Whether the graph has any family links at all."""
        return any(self.links[k] for k in self.links)
