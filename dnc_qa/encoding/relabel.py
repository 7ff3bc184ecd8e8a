"""Random relabelling: every episode maps node and edge *names* to fresh integer labels.

Nodes and edges have separate label spaces (a label's position in the triple says which).
The map is kept with the episode so predicted labels can be decoded back to names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from dnc_qa.encoding.labels import MAX_LABEL, LabelTriple
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple
from dnc_qa.graphs.rng import Seed, as_rng


@dataclass(frozen=True)
class Relabelling:
    """Name <-> label maps for one episode.

    Attributes:
        nodes: node name -> label (unique).
        edges: edge (and relation) name -> label (unique).
    """

    nodes: Mapping[str, int]
    edges: Mapping[str, int]
    node_names: Mapping[int, str] = field(init=False, repr=False, compare=False)
    edge_names: Mapping[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, table in (("node", self.nodes), ("edge", self.edges)):
            labels = list(table.values())
            if len(set(labels)) != len(labels):
                raise DncQaError(f"{kind} labels must be unique")
            if any(not 0 <= v <= MAX_LABEL for v in labels):
                raise DncQaError(f"{kind} labels must be in 0..{MAX_LABEL}")
        object.__setattr__(self, "node_names", {v: k for k, v in self.nodes.items()})
        object.__setattr__(self, "edge_names", {v: k for k, v in self.edges.items()})

    @classmethod
    def random(
        cls,
        nodes: Iterable[str],
        edges: Iterable[str],
        seed: Seed = None,
        *,
        fixed_edges: Mapping[str, int] | None = None,
        node_space: int = MAX_LABEL + 1,
        edge_space: int = MAX_LABEL + 1,
    ) -> Relabelling:
        """Draw unique labels: nodes from ``0..node_space-1``, edges from ``0..edge_space-1``.

        ``fixed_edges`` pins some edge names (inference: edge labels 0-9 and relation labels
        10-409 keep their meaning across episodes); the rest avoid the pinned labels.
        """
        rng = as_rng(seed)
        node_list = list(dict.fromkeys(nodes))
        fixed = dict(fixed_edges or {})
        free = [e for e in dict.fromkeys(edges) if e not in fixed]
        if len(node_list) > node_space:
            raise DncQaError(f"{len(node_list)} nodes do not fit {node_space} labels")
        node_labels = rng.choice(node_space, size=len(node_list), replace=False)
        taken = set(fixed.values())
        free_labels = np.ones(edge_space, dtype=bool)
        free_labels[[v for v in taken if 0 <= v < edge_space]] = False
        pool = np.flatnonzero(free_labels)  # the labels not taken, ascending
        if len(free) > len(pool):
            raise DncQaError(f"{len(free)} edge names do not fit {len(pool)} free labels")
        edge_labels = rng.choice(pool, size=len(free), replace=False)
        return cls(
            {n: int(v) for n, v in zip(node_list, node_labels, strict=True)},
            {**fixed, **{e: int(v) for e, v in zip(free, edge_labels, strict=True)}},
        )

    @classmethod
    def identity(cls, nodes: Iterable[str], edges: Iterable[str]) -> Relabelling:
        """Names that are decimal integers keep their value (e.g. generated random graphs)."""
        return cls({n: int(n) for n in nodes}, {e: int(e) for e in edges})

    def encode(self, source: str | None, edge: str | None, target: str | None) -> LabelTriple:
        """Names (``None`` = blank) -> labels."""
        try:
            return LabelTriple(None if source is None else self.nodes[source],
                               None if edge is None else self.edges[edge],
                               None if target is None else self.nodes[target])
        except KeyError as exc:
            raise DncQaError(f"name {exc.args[0]!r} has no label in this episode") from None

    def decode(self, labels: LabelTriple | tuple[int | None, ...]) -> tuple[str | None, ...]:
        """Labels -> names; blank, ``-1`` or unknown labels decode to ``None``."""
        a, b, c = (None if v is None or v < 0 else int(v) for v in labels)
        return (self.node_names.get(a) if a is not None else None,
                self.edge_names.get(b) if b is not None else None,
                self.node_names.get(c) if c is not None else None)

    def decode_triple(self, labels: LabelTriple | tuple[int | None, ...]) -> Triple | None:
        """Labels -> a complete :class:`~dnc_qa.graphs.model.Triple`, or ``None`` if any part
        is blank or unknown."""
        names = self.decode(labels)
        return None if any(n is None for n in names) else Triple(*names)  # type: ignore[arg-type]
