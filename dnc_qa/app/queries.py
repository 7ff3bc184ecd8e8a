"""The typed queries a question parses into, with their JSON and one-line text forms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

DIRECTION_WORDS = {
    "e": "E", "east": "E", "eastbound": "E", "eastward": "E", "eastwards": "E",
    "w": "W", "west": "W", "westbound": "W", "westward": "W", "westwards": "W",
    "n": "N", "north": "N", "northbound": "N", "northward": "N", "northwards": "N",
    "s": "S", "south": "S", "southbound": "S", "southward": "S", "southwards": "S",
    "inbound": "in", "outbound": "out",
}
"""Words for a direction of travel -> the direction suffix of transit edge labels."""


@dataclass(frozen=True)
class Step:
    """One hop of a traversal: the edge label ``"<line> <direction>"`` (or just ``line``).

    ``Step("Central", "E").label == "Central E"``; a generic graph's labels have no direction
    (``Step("mother").label == "mother"``).
    """

    line: str
    direction: str | None = None

    @property
    def label(self) -> str:
        return f"{self.line} {self.direction}" if self.direction else self.line


@dataclass(frozen=True)
class ShortestPathQuery:
    """The shortest path from ``source`` to ``target``; with ``count``, its number of stops
    (edges): "how many stops from A to B"."""

    type: ClassVar[str] = "shortest_path"
    source: str
    target: str
    count: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "source": self.source, "target": self.target}
        if self.count:
            out["count"] = True
        return out

    def describe(self) -> str:
        if self.count:
            return f"number of stops from {self.source} to {self.target}"
        return f"shortest path from {self.source} to {self.target}"


@dataclass(frozen=True)
class TraversalQuery:
    """Start at ``start`` and follow ``steps`` (one :class:`Step` per hop)."""

    type: ClassVar[str] = "traversal"
    start: str
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "start": self.start,
            "steps": [[s.line, s.direction] for s in self.steps],
            "labels": [s.label for s in self.steps],
        }

    def describe(self) -> str:
        groups: list[list[Any]] = []
        for s in self.steps:
            if groups and groups[-1][0] == s.label:
                groups[-1][1] += 1
            else:
                groups.append([s.label, 1])
        legs = ", then ".join(f"{lab} x{n}" if n > 1 else lab for lab, n in groups)
        return f"traversal from {self.start}: {legs}"


@dataclass(frozen=True)
class NeighboursQuery:
    """The nodes one edge away from ``node`` (either direction)."""

    type: ClassVar[str] = "neighbours"
    node: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "node": self.node}

    def describe(self) -> str:
        return f"neighbours of {self.node}"


@dataclass(frozen=True)
class RelationQuery:
    """Who is ``person``'s ``relation`` (a family relation, e.g. ``"maternal great uncle"``)."""

    type: ClassVar[str] = "relation"
    person: str
    relation: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "person": self.person, "relation": self.relation}

    def describe(self) -> str:
        return f"{self.person}'s {self.relation}"


@dataclass(frozen=True)
class FactQuery:
    """The objects of ``(subject, relation, ?)``; with ``inverse``, the subjects of
    ``(?, relation, subject)`` ("who wrote Hamlet")."""

    type: ClassVar[str] = "fact"
    subject: str
    relation: str
    inverse: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "subject": self.subject, "relation": self.relation,
                "inverse": self.inverse}

    def as_chain(self) -> MultiFactQuery:
        """The same question as a chain of one hop."""
        return MultiFactQuery(self.subject, (self.relation,), (self.inverse,))

    def describe(self) -> str:
        if self.inverse:
            return f"(?, {self.relation}, {self.subject})"
        return f"({self.subject}, {self.relation}, ?)"


@dataclass(frozen=True)
class MultiFactQuery:
    """A chain of facts from ``subject``: follow ``relations[0]``, then ``relations[1]``...

    "Who is the mayor of the capital of Eastmarch" is ``MultiFactQuery("Eastmarch",
    ("capital", "mayor"))``: the innermost relation comes first. ``inverse[i]`` marks a hop
    read backwards, ``(?, relation, x)`` (a relation with no stored inverse label, such as
    "the person who likes X"); it defaults to all forward hops.
    """

    type: ClassVar[str] = "multi_fact"
    subject: str
    relations: tuple[str, ...]
    inverse: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        relations = tuple(self.relations)
        inverse = tuple(bool(i) for i in self.inverse) or (False,) * len(relations)
        if not relations or len(inverse) != len(relations):
            raise ValueError("a chain needs one or more relations and one direction for each")
        object.__setattr__(self, "relations", relations)
        object.__setattr__(self, "inverse", inverse)

    @property
    def hops(self) -> int:
        return len(self.relations)

    def as_chain(self) -> MultiFactQuery:
        """This chain (as :meth:`FactQuery.as_chain` gives a fact's)."""
        return self

    def triples(self) -> list[tuple[str, str, str]]:
        """The chain as triple patterns: ``[("Eastmarch", "capital", "?1"), ("?1", "mayor",
        "?")]`` (an inverse hop has the unknown first)."""
        out = []
        node = self.subject
        for i, (relation, inverse) in enumerate(zip(self.relations, self.inverse, strict=True)):
            unknown = "?" if i == self.hops - 1 else f"?{i + 1}"
            out.append((unknown, relation, node) if inverse else (node, relation, unknown))
            node = unknown
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "subject": self.subject, "relations": list(self.relations),
                "inverse": list(self.inverse), "chain": [list(t) for t in self.triples()]}

    def describe(self) -> str:
        return ", ".join(f"({a}, {r}, {b})" for a, r, b in self.triples())


def chain_query(subject: str, relations: Sequence[str], inverse: Sequence[bool]
                ) -> FactQuery | MultiFactQuery:
    """The query that follows ``relations`` from ``subject`` (``inverse[i]``: hop ``i``
    backwards): a :class:`FactQuery` for one hop, else a :class:`MultiFactQuery`."""
    if len(relations) == 1:
        return FactQuery(subject, relations[0], inverse[0])
    return MultiFactQuery(subject, tuple(relations), tuple(inverse))


def inverse_label(label: str) -> str | None:
    """The label a text knowledge base stores for the inverse of ``label`` ("write" ->
    "author", "author" -> "write", "wife" -> "husband"; see :mod:`dnc_qa.kb.inverse`), or
    ``None`` when it stores none."""
    from dnc_qa.graphs.model import Triple
    from dnc_qa.kb.inverse import inverse_triples

    found = inverse_triples([Triple("\x00a", label, "\x00b")])
    return found[0].relation if found else None


Query = (ShortestPathQuery | TraversalQuery | NeighboursQuery | RelationQuery | FactQuery
         | MultiFactQuery)
