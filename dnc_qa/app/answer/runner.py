"""Stepping a model from a stored state: :class:`Runner` records outputs and memory activity,
:class:`ModelAnswer` is the model's side of an answer; helpers shared by the question types."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dnc_qa.app import codec
from dnc_qa.app.engine import trace_dict
from dnc_qa.app.exact_answers import Answer

if TYPE_CHECKING:
    from dnc_qa.app.engine import Array, LoadedModel


@dataclass
class ModelAnswer:
    """The model's side of an answer.

    Attributes:
        answer: the decoded answer, ``None`` when the model could not be asked.
        confidence: the probability the model gives its answer (product over answer steps).
        note: why there is no answer, or a warning ("untrained model: answers are noise").
        trace: per-step memory activity for ``--plot`` (``read_weights`` [T, R, N], ...):
            float32 tensors (torch backend) or arrays (NumPy backend).
        phases: ``[(name, first_step, end_step)]`` within ``trace``.
        votes: ``(agreeing, asked)`` when several relabelled memories voted
            (:mod:`dnc_qa.app.answer.views`), else ``None``.
    """

    answer: Answer | None
    confidence: float | None = None
    note: str = ""
    trace: dict[str, Array] = field(default_factory=dict)
    phases: list[tuple[str, int, int]] = field(default_factory=list)
    votes: tuple[int, int] | None = None


def _concat(parts: list[Any]) -> Any:
    """Join arrays (NumPy) or tensors (torch) along time."""
    if type(parts[0]).__module__ == "numpy":
        import numpy as np

        return np.concatenate(parts)
    import torch

    return torch.cat(parts)


def _join(traces: list[dict[str, Array]]) -> dict[str, Array]:
    keys = set.intersection(*(set(t) for t in traces)) if traces else set()
    return {k: _concat([t[k] for t in traces]) for k in sorted(keys)}


class Runner:
    """Steps the network from a state, recording outputs and memory activity."""

    def __init__(self, model: LoadedModel, state: Any, edges: int = 0):
        self.model, self.state = model, state
        self.edges = edges  # triples in the graph (the planning budget may grow with it)
        self.traces: list[dict[str, Array]] = []
        self.phases: list[tuple[str, int, int]] = []
        self.steps = 0

    def encode(self, triples: list[tuple[codec.Slot, codec.Slot, codec.Slot]],
               phase: Iterable[bool] = (), answer: Iterable[bool] = ()) -> Array:
        """:func:`codec.encode_triples` for this model's backend."""
        return codec.encode_triples(triples, phase, answer, backend=self.model.backend)

    def run(self, x: Array, phase: str) -> Array:
        if self.model.backend == "numpy":
            y, self.state, trace = self.model.net(x[None], self.state, trace=True)
        else:
            import torch

            with torch.no_grad():
                y, self.state, trace = self.model.net(x[None], self.state, trace=True)
        self.traces.append(trace_dict(trace))
        start = self.steps
        self.steps += x.shape[0]
        if self.phases and self.phases[-1][0] == phase:
            self.phases[-1] = (phase, self.phases[-1][1], self.steps)
        else:
            self.phases.append((phase, start, self.steps))
        return y[0]

    def trace(self) -> dict[str, Array]:
        return _join(self.traces)

    def absorb(self, other: Runner, suffix: str = "") -> None:
        """Append ``other``'s recorded steps after this runner's (its phases shifted, named
        with ``suffix``); this runner's own state is untouched."""
        self.traces += other.traces
        self.phases += [(kind + suffix, a + self.steps, b + self.steps)
                        for kind, a, b in other.phases]
        self.steps += other.steps


def plan(runner: Runner, query_triple: tuple[codec.Slot, codec.Slot, codec.Slot]) -> None:
    """The query step, then the planning budget the model was trained with for a graph of
    ``runner.edges`` triples."""
    runner.run(runner.encode([query_triple], phase=[True]), "query")
    spec = runner.model.spec
    steps = spec.planning_steps + math.ceil(spec.planning_per_edge * runner.edges)
    if steps:
        runner.run(runner.encode([(None, None, None)] * steps, phase=[True]), "planning")


def names_nothing(number: int, step: int) -> ModelAnswer:
    """No answer: the model's output at answer step ``step`` decodes to a label that names
    nothing in this graph (it is never shown as if it were a name)."""
    return ModelAnswer(None, note=f"at step {step} the model's output decodes to label "
                                  f"{number:03d}, which names nothing in this graph")

