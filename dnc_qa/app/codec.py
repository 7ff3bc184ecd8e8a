"""Labels for a stored graph, and the paper's triple encoding (92 inputs, 90 outputs).

Each node and each edge label gets a number in ``[0, 999]`` (:class:`LabelMap`), written as 3
digits, each a 10-way one-hot: a triple ``(source, edge, target)`` is 90 numbers, a blank
``_`` is all zeros.  Inputs add two channels: ``90`` marks the first step of every phase after
the description (query, planning, answer) and ``91`` ("answer required") is on through an
answer phase.  Outputs are 9 digit softmaxes.  This is the convention of
:mod:`dnc_qa.encoding.labels` (the trainer's); a test checks the two agree.

Inputs are made as torch tensors or, for the NumPy inference path, as NumPy arrays
(``encode_triples(..., backend="numpy")``); the decoders take either, without importing torch
for arrays.

This must match the encoding the model was trained with; :data:`ENCODING` names it, and a model
checkpoint whose ``app.encoding`` differs is refused (see :mod:`dnc_qa.app.engine`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np
    from torch import Tensor

ENCODING = "paper-triples-v1"
DIGITS = 3
TRIPLE_WIDTH = 3 * DIGITS * 10  # 90
INPUT_SIZE = TRIPLE_WIDTH + 2  # 92
OUTPUT_SIZE = TRIPLE_WIDTH  # 90
PHASE_CHANNEL = 90
ANSWER_CHANNEL = 91
MAX_LABEL = 10**DIGITS - 1

Slot = int | None
"""A label number, or ``None`` for the blank ``_``."""


@dataclass(frozen=True)
class LabelMap:
    """The numbers a graph's node names and edge labels were written with.

    Attributes:
        nodes: ``{node name: number}``.
        edges: ``{edge label: number}``.
        seed: the seed the numbers were drawn with.
    """

    nodes: dict[str, int]
    edges: dict[str, int]
    seed: int

    def node_name(self, number: int) -> str | None:
        return self._inverse(self.nodes).get(number)

    def edge_name(self, number: int) -> str | None:
        return self._inverse(self.edges).get(number)

    @staticmethod
    def _inverse(table: dict[str, int]) -> dict[int, str]:
        return {v: k for k, v in table.items()}

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "nodes": self.nodes, "edges": self.edges},
                          ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> LabelMap:
        """Parse :meth:`to_json` output; raises ``ValueError`` on anything malformed."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        nodes, edges = data.get("nodes"), data.get("edges")
        for what, table in (("nodes", nodes), ("edges", edges)):
            if not isinstance(table, dict) or not all(
                isinstance(v, int) and 0 <= v <= MAX_LABEL for v in table.values()
            ):
                raise ValueError(f"{what!r} must map names to numbers in [0, {MAX_LABEL}]")
        return cls(dict(nodes), dict(edges), int(data.get("seed", 0)))


def assign_labels(
    graph: nx.MultiDiGraph,
    seed: int = 0,
    node_range: tuple[int, int] = (0, MAX_LABEL),
    edge_range: tuple[int, int] = (0, MAX_LABEL),
    fixed_edges: dict[str, int] | None = None,
) -> LabelMap:
    """Distinct random numbers for the nodes (from ``node_range``) and the edge labels (from
    ``edge_range``), both inclusive; edge labels named in ``fixed_edges`` get those numbers
    (an inference model's relations are compositions of fixed edge numbers).

    Raises ``ValueError`` when a range is too small.
    """
    rng = random.Random(seed)
    fixed = dict(fixed_edges or {})
    nodes = sorted(str(n) for n in graph.nodes)
    labels = sorted({str(k) for _, _, k in graph.edges(keys=True)} - set(fixed))
    free_edges = [n for n in range(edge_range[0], edge_range[1] + 1) if n not in fixed.values()]
    node_pool = list(range(node_range[0], node_range[1] + 1))
    for what, items, pool in (("nodes", nodes, node_pool), ("edge labels", labels, free_edges)):
        if len(items) > len(pool):
            raise ValueError(f"{len(items)} {what} do not fit the {len(pool)} free labels "
                             "the model reads")
    node_numbers = rng.sample(node_pool, len(nodes))
    edge_numbers = rng.sample(free_edges, len(labels))
    used = {str(k) for _, _, k in graph.edges(keys=True)}
    edges = {k: v for k, v in fixed.items() if k in used}
    edges.update(zip(labels, edge_numbers, strict=True))
    return LabelMap(dict(zip(nodes, node_numbers, strict=True)), edges, seed)


def encode_triples(
    triples: Sequence[tuple[Slot, Slot, Slot]], phase: Iterable[bool] = (),
    answer: Iterable[bool] = (), backend: str = "torch"
) -> Tensor | np.ndarray:
    """``[T, 92]`` inputs for ``triples`` with the phase and answer channels set where given.

    ``backend``: ``"torch"`` gives a tensor (the default dtype), ``"numpy"`` a float32 array
    (for :mod:`dnc_qa.inference`; no torch import).
    """
    if backend == "numpy":
        import numpy as np

        x: Any = np.zeros((len(triples), INPUT_SIZE), dtype=np.float32)
    else:
        import torch

        x = torch.zeros(len(triples), INPUT_SIZE)
    for t, triple in enumerate(triples):
        for part, number in enumerate(triple):
            if number is None:
                continue
            for d, digit in enumerate(f"{number:0{DIGITS}d}"):
                x[t, (part * DIGITS + d) * 10 + int(digit)] = 1.0
    for t, on in enumerate(phase):
        x[t, PHASE_CHANNEL] = float(on)
    for t, on in enumerate(answer):
        x[t, ANSWER_CHANNEL] = float(on)
    return x


def digit_log_probs(logits: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """``[..., 9, 10]`` log-probabilities of each output digit from ``[..., 90]`` logits (a
    tensor or a NumPy array; the result is of the same kind)."""
    shape = (*logits.shape[:-1], 3 * DIGITS, 10)
    if _is_numpy(logits):
        from dnc_qa.inference.ops import log_softmax

        return log_softmax(logits.reshape(shape), axis=-1)
    return logits.reshape(*shape).log_softmax(-1)


def decode_triple(logits: Tensor | np.ndarray) -> tuple[tuple[int, int, int], float]:
    """The modal triple of one step's ``[90]`` logits and its probability (product of digit
    probabilities)."""
    logp = digit_log_probs(logits)
    if _is_numpy(logp):
        import numpy as np

        idx = np.argmax(logp, axis=-1)
        best = np.take_along_axis(logp, idx[..., None], axis=-1)[..., 0]
        prob = float(np.exp(best.sum()))
    else:
        best, idx = logp.max(-1)
        prob = float(best.sum().exp())
    digits = [int(i) for i in idx.tolist()]
    numbers = tuple(int("".join(map(str, digits[p * DIGITS:(p + 1) * DIGITS]))) for p in range(3))
    return numbers, prob  # type: ignore[return-value]


def triple_log_prob(logits: Tensor | np.ndarray, triple: tuple[int, int, int]) -> float:
    """Log-probability the ``[90]`` logits give to ``triple``."""
    logp = digit_log_probs(logits)
    total = 0.0
    for part, number in enumerate(triple):
        for d, digit in enumerate(f"{number:0{DIGITS}d}"):
            total += float(logp[part * DIGITS + d, int(digit)])
    return total


def _is_numpy(x: object) -> bool:
    """Whether ``x`` is a NumPy array (checked without importing torch)."""
    return type(x).__module__ == "numpy"


def describe_json(labels: LabelMap) -> dict[str, Any]:
    """A summary for ``dncqa show``."""
    return {"seed": labels.seed, "nodes": len(labels.nodes), "edge_labels": len(labels.edges)}
