"""Run a model over a stored graph: the description phase at ingest, query phases at ask time.

Model references (``--model``):

* ``none``: no model; only exact answers.
* ``untrained``: a DNC with seeded random weights, to exercise the pipeline (its answers are
  noise and are reported as such).
* a checkpoint folder (or its ``model.safetensors``) holding ``model.safetensors`` and
  ``config.json``, or the name of a model shipped in :data:`PRETRAINED_DIR`.
* ``auto`` (the default): the first shipped model whose task fits the graph, else ``none``.

A checkpoint's ``config.json`` is the trainer's (``{"task": ..., "model": {...}}``) with an
optional ``"app"`` object for what the engine needs beyond the network (see :class:`ModelSpec`).

Episode layout (the paper's, :mod:`dnc_qa.app.codec` encoding):

* description: every triple once, in a seeded random order, no channels set;
* traversal: query ``(start, e1, _)``, ``(_, e2, _)``...; then one answer step per hop (blank
  input, answer channel on), each output a completed triple;
* shortest path: query ``(source, _, target)``, ``planning_steps`` blank steps, then answer
  steps whose input is the previous chosen triple; each step's output is renormalised over the
  current node's outgoing triples;
* inference (family relations): query ``(person, relation, _)``, ``planning_steps`` blank
  steps, one answer step.

Neighbours and facts are asked of a traversal model as one-hop traversals, and chains of facts
("who is the mayor of the capital of X") as one walk over their relation labels, in one query
up to the walk length the model was trained on. A fact's answer is taken only when the model
wrote the fact that was asked (its source and relation); otherwise it has none.

Two backends run a model: torch (ingest's description phase, the ``untrained`` model, and any
model the other cannot run) and NumPy (:mod:`dnc_qa.inference`, the same arithmetic without
importing torch), which ``ask`` uses when it can (``load_model(ref, backend="auto")``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnc_qa.app import codec
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import (
    FactQuery,
    MultiFactQuery,
    NeighboursQuery,
    Query,
    RelationQuery,
    ShortestPathQuery,
    Step,
    TraversalQuery,
    inverse_label,
)
from dnc_qa.errors import CheckpointError

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np
    from torch import Tensor, nn

    Array = Tensor | np.ndarray

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
"""Where shipped models live: ``<name>/model.safetensors``, ``config.json``, ``card.json``,
``MODEL_CARD.md`` (see :mod:`dnc_qa.app.cards`)."""

WEIGHTS, CONFIG = "model.safetensors", "config.json"
TASKS = ("traversal", "shortest_path", "inference")
_TASK_ALIASES = {"shortest-path": "shortest_path", "shortestpath": "shortest_path",
                 "kb_qa": "traversal", "kb-qa": "traversal",
                 "graph-traversal": "traversal", "graph_traversal": "traversal",
                 "graph-inference": "inference", "relations": "inference"}
UNTRAINED_CONFIG: dict[str, Any] = {
    "kind": "dnc", "hidden_size": 64, "controller_layers": 1, "num_cells": 64,
    "cell_width": 32, "num_reads": 4, "num_writes": 1, "controller": "lstm", "clip": 20.0,
}
MEMORY_SLACK = 32
"""Memory cells beyond one per triple: room for the query and answer phases."""
BACKENDS = ("torch", "numpy", "auto")
"""``load_model`` backends: ``auto`` is NumPy when :mod:`dnc_qa.inference` supports the model,
else torch."""
DNC_OPTIONS = ("masking", "deallocation", "link_sharpness", "link", "link_k")
"""``ModelConfig`` fields that only the DNC takes (DNC-MDS options)."""


@dataclass(frozen=True)
class ModelSpec:
    """What the engine needs to know about a model besides its weights.

    Attributes:
        kind: ``dnc``, ``ntm`` or ``lstm``.
        task: the graph task it was trained on (``traversal``, ``shortest_path``,
            ``inference``), or ``untrained``.
        model: the constructor arguments (the trainer's ``ModelConfig`` fields).
        encoding: the input/output encoding (must be :data:`codec.ENCODING`).
        planning_steps: blank steps between query and answer (shortest path, inference) ...
        planning_per_edge: ... plus this many per triple of the graph, rounded up (the
            planning budget the model was trained with).
        walk_steps: traversal: the longest walk the model was trained to answer in one query;
            longer walks are asked hop by hop, each hop from the stored memory (``None``: any
            walk in one query).
        relations: inference only: ``{relation name: label number}`` ("maternal great uncle").
        node_labels, edge_labels: the inclusive label ranges the model was trained with.
        edge_numbers: fixed numbers for named edge labels (``{"mother": 0, ...}``); the rest
            are drawn from ``edge_labels``.
        trained_on: the training task's own name (``kb_qa``: a traversal model trained on
            knowledge-base-shaped graphs, which ``auto`` prefers for text knowledge bases).
    """

    kind: str
    task: str
    model: dict[str, Any]
    encoding: str = codec.ENCODING
    planning_steps: int = 10
    planning_per_edge: float = 0.0
    walk_steps: int | None = None
    relations: dict[str, int] = field(default_factory=dict)
    node_labels: tuple[int, int] = (0, codec.MAX_LABEL)
    edge_labels: tuple[int, int] = (0, codec.MAX_LABEL)
    edge_numbers: dict[str, int] = field(default_factory=dict)
    trained_on: str = ""

    @classmethod
    def from_config(cls, data: Any, where: Path) -> ModelSpec:
        """Parse a checkpoint's ``config.json`` (already decoded); errors name ``where``."""

        def bad(reason: str) -> CheckpointError:
            return CheckpointError(f"{where}: {reason}")

        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise bad('expected an object with a "model" object')
        model = dict(data["model"])
        kind = str(model.get("kind", "dnc")).lower()
        if kind not in ("dnc", "ntm", "lstm"):
            raise bad(f"unknown model kind {kind!r}")
        app = data.get("app", {})
        if not isinstance(app, dict):
            raise bad('"app" must be an object')
        trained_on = str(app.get("task", data.get("task", ""))).lower()
        task = _TASK_ALIASES.get(trained_on, trained_on)
        if task not in TASKS:
            raise bad(f"task {task or None!r} is not a graph task ({', '.join(TASKS)}); "
                      "this model cannot answer questions about graphs")
        try:
            relations = {str(k): int(v) for k, v in app.get("relations", {}).items()}
            spec = cls(
                kind=kind,
                task=task,
                model=model,
                encoding=str(app.get("encoding", codec.ENCODING)),
                planning_steps=int(app.get("planning_steps", 10)),
                planning_per_edge=float(app.get("planning_per_edge", 0.0)),
                walk_steps=None if app.get("walk_steps") is None else int(app["walk_steps"]),
                relations=relations,
                node_labels=_pair(app.get("node_labels", (0, codec.MAX_LABEL))),
                edge_labels=_pair(app.get("edge_labels", (0, codec.MAX_LABEL))),
                edge_numbers={str(k): int(v) for k, v in app.get("edge_numbers", {}).items()},
                trained_on=trained_on.replace("-", "_"),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise bad(f'bad "app" settings: {exc}') from None
        if spec.encoding != codec.ENCODING:
            raise bad(f"encoding {spec.encoding!r} is not supported (this version reads "
                      f"{codec.ENCODING!r})")
        return spec


def _pair(value: Any) -> tuple[int, int]:
    lo, hi = (int(v) for v in value)
    if not 0 <= lo <= hi <= codec.MAX_LABEL:
        raise ValueError(f"label range {value!r} is not within 0-{codec.MAX_LABEL}")
    return lo, hi


@dataclass
class LoadedModel:
    """A model ready to run.

    Attributes:
        ref: the reference it was loaded from (stored in the workspace).
        spec: its :class:`ModelSpec`.
        net: the network: a torch module in eval mode, or a :mod:`dnc_qa.inference` network;
            both are called as ``y, state, trace = net(x, state, trace=True)``.
        digest: SHA-256 of the weights file (``untrained-<hash>`` for the random model).
        backend: ``torch`` or ``numpy``: what ``net`` is.
    """

    ref: str
    spec: ModelSpec
    net: nn.Module | Any
    digest: str
    backend: str = "torch"

    @property
    def trained(self) -> bool:
        return self.spec.task != "untrained"


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
    """

    answer: Answer | None
    confidence: float | None = None
    note: str = ""
    trace: dict[str, Array] = field(default_factory=dict)
    phases: list[tuple[str, int, int]] = field(default_factory=list)


# ---------------------------------------------------------------------------- loading


def shipped_models() -> list[str]:
    """Names of the models shipped with the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / WEIGHTS).is_file())


def resolve_model_ref(ref: str, node_kind: str = "node") -> str:
    """Turn ``auto`` into a concrete reference; other references are returned unchanged.

    Family trees prefer an inference model and fall back to a traversal model (which still
    answers "who is X's mother" and "start at X and follow mother then father"); other graphs
    take a traversal model: for generic graphs and text knowledge bases (``node``) one trained
    on knowledge bases (``kb_qa``) first, for transit maps and family trees one trained on
    the paper's random graphs first. Without a fitting shipped model the answer is ``none``.
    """
    if ref != "auto":
        return ref
    wanted = {"person": ("inference", "traversal", "kb_qa"),
              "node": ("kb_qa", "traversal")}.get(node_kind, ("traversal", "kb_qa"))
    tasks: dict[str, str] = {}
    for name in shipped_models():
        try:
            spec = _read_spec(PRETRAINED_DIR / name / CONFIG)
        except CheckpointError:
            continue
        tasks[name] = "kb_qa" if spec.trained_on == "kb_qa" else spec.task
    for task in wanted:
        for name, got in tasks.items():
            if got == task:
                return name
    return "none"


def load_model(ref: str, backend: str = "torch") -> LoadedModel | None:
    """Load the model ``ref`` names (``none`` gives ``None``).

    ``backend``: ``torch`` (ingest, training tools), ``numpy`` (:mod:`dnc_qa.inference`;
    raises :class:`~dnc_qa.inference.UnsupportedModel` for a model it cannot run), or
    ``auto``: NumPy when it can, else torch (the ``untrained`` model is always torch: its
    weights come from torch's random generator).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if ref == "none":
        return None
    if ref == "untrained":
        if backend == "numpy":
            from dnc_qa.inference import UnsupportedModel

            raise UnsupportedModel("the untrained model is made with torch's random generator")
        return _untrained()
    weights = _find_weights(ref)
    spec = _read_spec(weights.parent / CONFIG)
    _check_finite_weights(weights)
    if backend != "torch":
        from dnc_qa.inference import UnsupportedModel

        try:
            net = _build_numpy(spec, weights)
        except UnsupportedModel:
            if backend == "numpy":
                raise
        else:
            return LoadedModel(ref, spec, net, file_digest(weights), backend="numpy")
    net = _build(spec, weights.parent / CONFIG)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"corrupt model file {weights}: {' '.join(str(exc).split())}"
                              ) from None
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"model file {weights} does not fit its config.json: "
            f"{' '.join(first[1:2] or first[:1]).strip()}") from None
    net.eval()
    return LoadedModel(ref, spec, net, file_digest(weights))


def _check_finite_weights(weights: Path) -> None:
    """Refuse a weights file holding NaN or infinite values, naming the tensor (read with
    NumPy: no torch import)."""
    import numpy as np
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="np") as fh:
            for key in fh.keys():  # noqa: SIM118
                if not np.isfinite(fh.get_tensor(key)).all():
                    raise CheckpointError(f"model file {weights}: tensor {key!r} holds NaN or "
                                          "infinite values; the model is not usable")
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"corrupt model file {weights}: {reason}") from None


def _find_weights(ref: str) -> Path:
    path = Path(ref).expanduser()
    if path.is_dir():
        path = path / WEIGHTS
    elif not path.exists() and (PRETRAINED_DIR / ref / WEIGHTS).is_file():
        path = PRETRAINED_DIR / ref / WEIGHTS
    if not path.is_file():
        shipped = shipped_models()
        known = f"; shipped models: {', '.join(shipped)}" if shipped else " (none are shipped)"
        raise CheckpointError(
            f"no model {ref!r}: give a checkpoint folder holding {WEIGHTS} and {CONFIG}, "
            f"'untrained' or 'none'{known}")
    return path


def _read_spec(path: Path) -> ModelSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"model config {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"corrupt model file {path}: {' '.join(str(exc).split())}"
                              ) from None
    return ModelSpec.from_config(data, path)


def _build(spec: ModelSpec, where: Path | str) -> nn.Module:
    from dnc_qa.models import DNC, NTM, LSTMBaseline

    m = spec.model
    try:
        if spec.kind == "lstm":
            return LSTMBaseline(codec.INPUT_SIZE, codec.OUTPUT_SIZE,
                                int(m.get("hidden_size", 256)), int(m.get("controller_layers", 1)))
        cls = DNC if spec.kind == "dnc" else NTM
        keys = ("hidden_size", "controller_layers", "num_cells", "cell_width", "num_reads",
                "num_writes", "controller", "clip") + (DNC_OPTIONS if spec.kind == "dnc" else ())
        return cls(codec.INPUT_SIZE, codec.OUTPUT_SIZE, **{k: m[k] for k in keys if k in m})
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: cannot build the model: {exc}") from None


def _build_numpy(spec: ModelSpec, weights: Path) -> Any:
    """The :mod:`dnc_qa.inference` network for ``spec`` from ``weights`` (float32, as the
    torch model's parameters); raises ``UnsupportedModel`` when it cannot run it exactly."""
    from dnc_qa.inference import load_model as load_numpy_model

    return load_numpy_model(weights, spec.kind, spec.model, codec.INPUT_SIZE, codec.OUTPUT_SIZE)


def _untrained() -> LoadedModel:
    import torch

    spec = ModelSpec("dnc", "untrained", dict(UNTRAINED_CONFIG))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = _build(spec, "untrained")
    net.eval()
    digest = "untrained-" + hashlib.sha256(
        json.dumps(UNTRAINED_CONFIG, sort_keys=True).encode()).hexdigest()[:16]
    return LoadedModel("untrained", spec, net, digest)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------- state on disk


def _is_array(value: Any) -> bool:
    """A tensor or a NumPy array (not a tuple of them); checked without importing torch."""
    return not isinstance(value, tuple) and hasattr(value, "shape") and hasattr(value, "dtype")


def flatten_state(state: Any, prefix: str = "") -> dict[str, Array]:
    """``{"memory.link": tensor, "controller.0.h": ...}`` from a nested NamedTuple state (of
    tensors or of NumPy arrays: the names are the same)."""
    if _is_array(state):
        return {prefix: state}
    out: dict[str, Array] = {}
    if isinstance(state, tuple):
        names = getattr(state, "_fields", None) or [str(i) for i in range(len(state))]
        for key, item in zip(names, state, strict=True):
            out.update(flatten_state(item, f"{prefix}.{key}" if prefix else key))
    elif state is not None:
        raise TypeError(f"unexpected state element {type(state).__name__}")
    return out


def restore_state(template: Any, tensors: dict[str, Array], where: Path, prefix: str = ""
                  ) -> Any:
    """``template`` with every tensor replaced by ``tensors[path]`` (shapes must match), cast
    to the template's dtype; NumPy templates take NumPy arrays, torch ones tensors."""
    if _is_array(template):
        got = tensors.get(prefix)
        if got is None:
            raise CheckpointError(f"corrupt workspace file {where}: no tensor {prefix!r}; "
                                  "re-run dncqa ingest")
        if tuple(got.shape) != tuple(template.shape):
            raise CheckpointError(
                f"corrupt workspace file {where}: {prefix!r} has shape {list(got.shape)}, the "
                f"model needs {list(template.shape)}; re-run dncqa ingest")
        if type(template).__module__ == "numpy":
            return got.astype(template.dtype, copy=False)
        return got.to(template.dtype)
    if isinstance(template, tuple):
        names = getattr(template, "_fields", None) or [str(i) for i in range(len(template))]
        items = [restore_state(item, tensors, where, f"{prefix}.{k}" if prefix else k)
                 for k, item in zip(names, template, strict=True)]
        return type(template)(*items) if hasattr(template, "_fields") else type(template)(items)
    return template


def initial_state(model: LoadedModel, num_cells: int | None) -> Any:
    if model.spec.kind == "lstm":
        return model.net.initial_state(1)
    return model.net.initial_state(1, num_cells=num_cells)


def memory_cells_for(graph: nx.MultiDiGraph) -> int:
    """One cell per triple plus :data:`MEMORY_SLACK` (ED Fig. 2: one triple per slot)."""
    return graph.number_of_edges() + MEMORY_SLACK


# ----------------------------------------------------------------------- threads


SMALL_MEMORY = 512
"""Up to this many cells a step's tensors are tiny and one thread is fastest."""


@contextmanager
def threads_for(num_cells: int | None) -> Iterator[None]:
    """Run small memories on one thread (several threads only add overhead and contention on
    tensors this small: 0.2 s instead of 2.5 s for a 146-cell shortest-path answer on a busy
    2-core machine); the caller's setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    small = num_cells is None or num_cells <= SMALL_MEMORY
    if small and before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small and before != 1:
            torch.set_num_threads(before)


# ----------------------------------------------------------------------- description


@dataclass
class Description:
    """What the description phase leaves: the state and its memory activity."""

    state: dict[str, Tensor]
    trace: dict[str, Tensor]
    num_cells: int


def describe_graph(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap,
                   seed: int = 0) -> Description:
    """Write every triple of ``graph`` into a fresh memory sized to it."""
    import torch

    triples = [(labels.nodes[u], labels.edges[k], labels.nodes[v])
               for u, v, k in graph.edges(keys=True)]
    random.Random(seed).shuffle(triples)
    num_cells = memory_cells_for(graph)
    state = initial_state(model, num_cells)
    x = codec.encode_triples(triples)[None]
    with torch.no_grad(), threads_for(num_cells):
        _, state, trace = model.net(x, state, trace=True)
    return Description(flatten_state(state), _trace_dict(trace), num_cells)


def _trace_dict(trace: Any) -> dict[str, Array]:
    """Batch item 0 of the fields plots use, as float32 (tensors or NumPy arrays)."""
    if trace is None:
        return {}
    out = {}
    for name in ("read_weights", "write_weights", "usage"):
        value = getattr(trace, name, None)
        if value is None:
            continue
        if type(value).__module__ == "numpy":
            out[name] = value[0].astype("float32")
        else:
            out[name] = value[0].detach().to("cpu").float()
    return out


def load_state(model: LoadedModel, memory_file: Path, num_cells: int | None) -> Any:
    """The stored description-phase state, restored into the model's state structure (NumPy
    arrays for the NumPy backend, read without torch)."""
    from dnc_qa.app.workspace import load_tensors

    load = load_arrays if model.backend == "numpy" else load_tensors
    tensors, meta = load(memory_file)
    digest = meta.get("model_digest")
    if digest and digest != model.digest:
        raise CheckpointError(
            f"the model {model.ref!r} changed since {memory_file.parent.name!r} was ingested "
            f"({memory_file} was written by another model); re-run dncqa ingest")
    return restore_state(initial_state(model, num_cells), tensors, memory_file)


def load_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """:func:`~dnc_qa.app.workspace.load_tensors` as NumPy arrays (``safetensors`` with
    ``framework="np"``: no torch import); the same errors, naming the file."""
    from safetensors import SafetensorError, safe_open

    from dnc_qa.app.workspace import WorkspaceError

    try:
        with safe_open(str(path), framework="np") as fh:
            meta = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta  # noqa: SIM118
    except FileNotFoundError:
        raise WorkspaceError(f"corrupt workspace entry: {path} is missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise WorkspaceError(f"corrupt workspace file {path}: {reason}") from None


# ------------------------------------------------------------------------------ asking


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


class _Runner:
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
        self.traces.append(_trace_dict(trace))
        start = self.steps
        self.steps += x.shape[0]
        if self.phases and self.phases[-1][0] == phase:
            self.phases[-1] = (phase, self.phases[-1][1], self.steps)
        else:
            self.phases.append((phase, start, self.steps))
        return y[0]

    def trace(self) -> dict[str, Array]:
        return _join(self.traces)

    def absorb(self, other: _Runner, suffix: str = "") -> None:
        """Append ``other``'s recorded steps after this runner's (its phases shifted, named
        with ``suffix``); this runner's own state is untouched."""
        self.traces += other.traces
        self.phases += [(kind + suffix, a + self.steps, b + self.steps)
                        for kind, a, b in other.phases]
        self.steps += other.steps


def ask_model(
    model: LoadedModel | None,
    state: Any,
    graph: nx.MultiDiGraph,
    labels: LabelMap,
    query: Query,
) -> ModelAnswer:
    """Run ``query`` through ``model`` from the stored ``state`` and decode its answer."""
    if model is None:
        return ModelAnswer(None, note="no model: this graph was ingested with --model none")
    cells = graph.number_of_edges() + MEMORY_SLACK
    with threads_for(cells) if model.backend == "torch" else nullcontext():
        return _ask_model(model, state, graph, labels, query)


def _ask_model(
    model: LoadedModel | None,
    state: Any,
    graph: nx.MultiDiGraph,
    labels: LabelMap,
    query: Query,
) -> ModelAnswer:
    if model is None:
        return ModelAnswer(None, note="no model: this graph was ingested with --model none")
    task = model.spec.task
    runner = _Runner(model, state, graph.number_of_edges())
    wants = _task_for(query)
    if task != "untrained" and task not in wants:
        return ModelAnswer(None, note=(
            f"model {model.ref!r} was trained for {task.replace('_', ' ')}, "
            f"not for {query.type.replace('_', ' ')} questions"))
    if isinstance(query, TraversalQuery):
        result = _traversal(runner, labels, query)
    elif isinstance(query, ShortestPathQuery):
        result = _shortest(runner, graph, labels, query)
    elif isinstance(query, RelationQuery) and task == "traversal":
        result = _relation_walk(runner, labels, query)
    elif isinstance(query, RelationQuery):
        result = _relation(runner, labels, query)
    elif isinstance(query, NeighboursQuery):
        result = _neighbours(model, state, graph, labels, query)
    elif isinstance(query, MultiFactQuery):
        result = _fact_chain(runner, labels, query)
    else:
        result = _fact(runner, labels, query)
    if not model.trained:
        result.note = "; ".join(filter(None, ["untrained model: its answer is noise",
                                              result.note]))
    if not result.trace:
        result.trace, result.phases = runner.trace(), runner.phases
    return result


def model_for_task(tasks: tuple[str, ...], exclude: str = "") -> str | None:
    """The first shipped model trained for one of ``tasks`` (in that order of preference),
    other than ``exclude``; ``None`` when there is none."""
    found: dict[str, str] = {}
    for name in shipped_models():
        if name == exclude:
            continue
        try:
            found.setdefault(_read_spec(PRETRAINED_DIR / name / CONFIG).task, name)
        except CheckpointError:
            continue
    return next((found[t] for t in tasks if t in found), None)


def routed_model(current: LoadedModel | None, query: Query) -> str | None:
    """A shipped model trained for ``query``'s type when ``current`` (the model the graph
    was ingested with) was not; ``None`` when ``current`` fits or nothing else does."""
    if current is None or current.spec.task in ("untrained", *_task_for(query)[:1]):
        return None
    return model_for_task(_task_for(query)[:1], exclude=current.ref)


def fits_labels(model: LoadedModel, labels: LabelMap) -> bool:
    """Whether ``model`` was trained with label numbers that cover ``labels`` (a graph
    numbered for one model can be written into another's memory)."""
    lo, hi = model.spec.node_labels
    elo, ehi = model.spec.edge_labels
    fixed = model.spec.edge_numbers
    return (all(lo <= n <= hi for n in labels.nodes.values())
            and all(fixed.get(name, n) == n and (name in fixed or elo <= n <= ehi)
                    for name, n in labels.edges.items()))


def describe_now(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap,
                 seed: int = 0) -> Any:
    """Write ``graph`` into a fresh memory of ``model`` now: the description phase ingest
    runs for the graph's own model (with torch, as ingest does, so both backends then start
    from the same state), restored into ``model``'s backend."""
    torch_model = model if model.backend == "torch" else load_model(model.ref, "torch")
    assert torch_model is not None
    description = describe_graph(torch_model, graph, labels, seed)
    tensors: dict[str, Any] = dict(description.state)
    if model.backend == "numpy":
        tensors = {k: v.numpy() for k, v in tensors.items()}
    return restore_state(initial_state(model, description.num_cells), tensors,
                         Path(f"<memory of {model.ref}>"))


def _task_for(query: Query) -> tuple[str, ...]:
    if isinstance(query, ShortestPathQuery):
        return ("shortest_path",)
    if isinstance(query, RelationQuery):
        return ("inference", "traversal")
    if isinstance(query, FactQuery):
        return ("traversal", "inference")
    return ("traversal",)  # traversals, neighbours, chains of facts


def _traversal(runner: _Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    """The whole walk in one query (the paper's layout), or hop by hop when it is longer
    than the walks the model was trained on (``walk_steps``)."""
    limit = runner.model.spec.walk_steps
    if limit is not None and len(query.steps) > limit:
        return _traversal_by_hops(runner, labels, query)
    return _traversal_whole(runner, labels, query)


def _traversal_by_hops(runner: _Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    """One one-hop query per step, each from the stored memory, the next starting where the
    model's previous answer ended."""
    stored = runner.state
    node, nodes, edges, prob = query.start, [query.start], [], 1.0
    n = len(query.steps)
    note = (f"answered hop by hop: {n} one-hop queries from the stored memory (the model was "
            f"trained on walks of up to {runner.model.spec.walk_steps} steps)")
    for step in query.steps:
        hop = _Runner(runner.model, stored)
        result = _traversal_whole(hop, labels, TraversalQuery(node, (step,)))
        runner.absorb(hop)
        if result.answer is None:
            if len(nodes) == 1:
                return result
            note += f"; stopped at {node} ({result.note})"
            break
        node = result.answer.nodes[-1]
        nodes.append(node)
        edges.append(result.answer.labels[-1])
        prob *= result.confidence or 0.0
    return ModelAnswer(Answer("path", tuple(nodes), tuple(edges)), prob, note=note)


def _traversal_whole(runner: _Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    try:
        edge_numbers = [labels.edges[s.label] for s in query.steps]
    except KeyError as exc:
        return ModelAnswer(None, note=f"edge label {exc.args[0]!r} was not stored in memory")
    q = [(labels.nodes[query.start], edge_numbers[0], None)]
    q += [(None, e, None) for e in edge_numbers[1:]]
    runner.run(runner.encode(q, phase=[True]), "query")
    n = len(query.steps)
    y = runner.run(runner.encode([(None, None, None)] * n, phase=[True], answer=[True] * n),
                   "answer")
    nodes, edges, prob = [query.start], [], 1.0
    for t in range(n):
        (_, e, dst), p = codec.decode_triple(y[t])
        node, edge = labels.node_name(dst), labels.edge_name(e)
        if node is None or edge is None:
            return _names_nothing(dst if node is None else e, t + 1)
        nodes.append(node)
        edges.append(edge)
        prob *= p
    return ModelAnswer(Answer("path", tuple(nodes), tuple(edges)), prob)


def _names_nothing(number: int, step: int) -> ModelAnswer:
    """No answer: the model's output at answer step ``step`` decodes to a label that names
    nothing in this graph (it is never shown as if it were a name)."""
    return ModelAnswer(None, note=f"at step {step} the model's output decodes to label "
                                  f"{number:03d}, which names nothing in this graph")


def _plan(runner: _Runner, query_triple: tuple[codec.Slot, codec.Slot, codec.Slot]) -> None:
    """The query step, then the planning budget the model was trained with for a graph of
    ``runner.edges`` triples."""
    runner.run(runner.encode([query_triple], phase=[True]), "query")
    spec = runner.model.spec
    steps = spec.planning_steps + math.ceil(spec.planning_per_edge * runner.edges)
    if steps:
        runner.run(runner.encode([(None, None, None)] * steps, phase=[True]), "planning")


def _shortest(runner: _Runner, graph: nx.MultiDiGraph, labels: LabelMap,
              query: ShortestPathQuery) -> ModelAnswer:
    """Answer steps until the target is reached, a node repeats, or a dead end.

    Each step's output is renormalised over the current node's outgoing triples and the best
    one is taken; its triple is the next step's input.
    """
    _plan(runner, (labels.nodes[query.source], None, labels.nodes[query.target]))
    node, nodes, edges, log_conf = query.source, [query.source], [], 0.0
    previous: tuple[codec.Slot, codec.Slot, codec.Slot] = (None, None, None)
    note = ""
    while node != query.target:
        y = runner.run(runner.encode([previous], phase=[not edges], answer=[True]),
                       "answer")[0]
        options = sorted(graph.out_edges(node, keys=True), key=lambda e: (e[2], e[1]))
        if not options:
            note = f"the model's path reaches {node}, which has no way out"
            break
        scores = [codec.triple_log_prob(y, (labels.nodes[u], labels.edges[k], labels.nodes[v]))
                  for u, v, k in options]
        top = max(scores)
        norm = top + math.log(sum(math.exp(s - top) for s in scores))
        best = scores.index(top)
        u, v, k = options[best]
        log_conf += scores[best] - norm
        previous = (labels.nodes[u], labels.edges[k], labels.nodes[v])
        node = v
        edges.append(k)
        if v in nodes:
            nodes.append(v)
            note = f"the model's path returns to {v}; stopped there"
            break
        nodes.append(v)
    return ModelAnswer(Answer("path", tuple(nodes), tuple(edges), note=note), math.exp(log_conf),
                       note=note)


def _relation(runner: _Runner, labels: LabelMap, query: RelationQuery) -> ModelAnswer:
    return _infer(runner, labels, query.person, query.relation)


def _relation_walk(runner: _Runner, labels: LabelMap, query: RelationQuery) -> ModelAnswer:
    """A traversal model answers a family relation as walks over edge labels: a named
    composition ("maternal grandmother" = mother, mother) as that one walk; a relation with
    alternatives ("grandmother": mother or father, then mother) as each walk its steps allow
    with the graph's labels, each asked in one query, the people found joined (the note
    lists the walks)."""
    from dnc_qa.app.kinship import label_walks, parse_relation

    relation = parse_relation(query.relation)
    walks = [] if relation is None else (
        [relation.labels] if relation.labels else label_walks(relation, set(labels.edges)))
    if not walks:
        return ModelAnswer(None, note=(
            f"a traversal model answers relations that are walks over this graph's edge "
            f"labels; {query.relation!r} is not one"))
    found: list[str] = []
    prob, notes = 1.0, []
    stored = runner.state
    for walk in walks:
        one = _Runner(runner.model, stored, runner.edges)
        result = _traversal(one, labels, TraversalQuery(query.person,
                                                         tuple(Step(k) for k in walk)))
        runner.absorb(one)
        if result.answer is None:
            if len(walks) == 1:
                return result
            notes.append(f"{' then '.join(walk)}: {result.note}")
            continue
        end = result.answer.nodes[-1]
        # simple walks, as the exact answer: a walk that comes back to a node it passed
        # (the father as his own father's son) names no one
        if len(result.answer.nodes) == len(walk) + 1 and end not in result.answer.nodes[:-1]:
            if end not in found:
                found.append(end)
            prob = min(prob, result.confidence or 0.0)
        if result.note:
            notes.append(result.note)
    said = "; ".join(" then ".join(w) for w in walks)
    note = "; ".join([f"answered as the walk{'s' if len(walks) > 1 else ''} {said}", *notes])
    if not found:
        return ModelAnswer(Answer("none", ()), prob, note=note)
    kind = "node" if len(found) == 1 and len(walks) == 1 else "nodes"
    return ModelAnswer(Answer(kind, tuple(found)), prob, note=note)


def _infer(runner: _Runner, labels: LabelMap, person: str, relation: str) -> ModelAnswer:
    """Query ``(person, relation, _)``, plan, and read one completed triple."""
    number = runner.model.spec.relations.get(relation)
    if number is None:
        if runner.model.trained:
            return ModelAnswer(None, note=f"model {runner.model.ref!r} does not know the "
                                          f"relation {relation!r}")
        number = int(hashlib.sha256(relation.encode()).hexdigest(), 16) % 1000
    _plan(runner, (labels.nodes[person], number, None))
    y = runner.run(runner.encode([(None, None, None)], phase=[True], answer=[True]),
                   "answer")[0]
    (_, _, dst), p = codec.decode_triple(y)
    node = labels.node_name(dst)
    if node is None:
        return _names_nothing(dst, 1)
    return ModelAnswer(Answer("node", (node,)), p)


def _fact(runner: _Runner, labels: LabelMap, query: FactQuery) -> ModelAnswer:
    """A one-hop walk (traversal model) or a relation lookup (inference model); an inverse
    fact ("who wrote Hamlet") walks the inverse label the graph stores (Hamlet's
    ``author``)."""
    if runner.model.spec.task == "inference" and not query.inverse:
        return _infer(runner, labels, query.subject, query.relation)
    if query.inverse and runner.model.spec.task == "inference":
        return ModelAnswer(None, note="the model reads triples forwards only; it cannot answer "
                                      "(?, relation, object) questions")
    chain = MultiFactQuery(query.subject, (query.relation,), (query.inverse,))
    return _fact_chain(runner, labels, chain)


def forward_chain(query: MultiFactQuery, labels: LabelMap) -> MultiFactQuery:
    """``query`` with each backwards hop replaced by the inverse label the graph stores
    ("(?, write, Hamlet)" -> "(Hamlet, author, ?)"); hops without one stay backwards."""
    relations, inverse = list(query.relations), list(query.inverse)
    for i, (relation, backwards) in enumerate(zip(query.relations, query.inverse, strict=True)):
        other = inverse_label(relation) if backwards else None
        if other is not None and other in labels.edges:
            relations[i], inverse[i] = other, False
    return MultiFactQuery(query.subject, tuple(relations), tuple(inverse))


@dataclass(frozen=True)
class _Read:
    """One answer step's completed triple as the model wrote it: each part's name, or
    ``None`` where its number names nothing in this graph (``numbers`` keeps the numbers)."""

    source: str | None
    edge: str | None
    target: str | None
    numbers: tuple[int, int, int]
    prob: float

    def text(self) -> str:
        parts = [name if name is not None else f"label {number:03d}"
                 for name, number in zip((self.source, self.edge, self.target), self.numbers,
                                         strict=True)]
        return f"({', '.join(parts)})"


def _read_walk(runner: _Runner, labels: LabelMap, start: str, edges: tuple[str, ...]
               ) -> list[_Read]:
    """Ask the walk from ``start`` along ``edges`` in one query (the paper's layout: query
    ``(start, e1, _), (_, e2, _)...``, then one answer step per hop) and read each answer
    step's triple. Every label must be stored in ``labels``."""
    numbers = [labels.edges[e] for e in edges]
    q = [(labels.nodes[start], numbers[0], None)] + [(None, e, None) for e in numbers[1:]]
    runner.run(runner.encode(q, phase=[True]), "query")
    n = len(edges)
    y = runner.run(runner.encode([(None, None, None)] * n, phase=[True], answer=[True] * n),
                   "answer")
    reads = []
    for t in range(n):
        (src, e, dst), p = codec.decode_triple(y[t])
        reads.append(_Read(labels.node_name(src), labels.edge_name(e), labels.node_name(dst),
                           (src, e, dst), p))
    return reads


def _fact_chain(runner: _Runner, labels: LabelMap, query: MultiFactQuery) -> ModelAnswer:
    """A chain of facts as one walk over its relation labels: in one query (the paper's
    layout) up to the walk length the model was trained on (``walk_steps``), else hop by hop,
    each hop one query from the stored memory (the note says so).

    The answer is the walk's last node, taken only when every answer step wrote the fact
    that was asked: its source the node reached so far, its edge the hop's relation, its
    target a node of this graph. Otherwise the model has no answer (``"none"``, its note
    quoting the triple it wrote): a chain with a missing fact is never answered with a name
    the model read from some other triple.
    """
    asked = query
    query = forward_chain(query, labels)
    if any(query.inverse):
        hop = query.inverse.index(True)
        return ModelAnswer(None, note=(
            f"the model reads triples forwards only; hop {hop + 1} asks "
            f"(?, {query.relations[hop]}, _) and this graph stores no inverse label for it"))
    missing = [r for r in query.relations if r not in labels.edges]
    if missing:
        return ModelAnswer(None, note=f"edge label {missing[0]!r} was not stored in memory")
    limit = runner.model.spec.walk_steps
    if limit is None or query.hops <= limit:
        reads = _read_walk(runner, labels, query.subject, query.relations)
        how = ""
    else:
        reads = _read_hops(runner, labels, query)
        how = (f"answered hop by hop: {query.hops} one-hop queries from the stored memory (the "
               f"model was trained on walks of up to {limit} steps)")
    node, walk, prob = query.subject, [query.subject], 1.0
    for i, (read, relation) in enumerate(zip(reads, query.relations, strict=False)):
        if read.source != node or read.edge != relation or read.target is None:
            said = f"the model finds no {relation!r} of {node}"
            detail = (f"at hop {i + 1} the model wrote {read.text()}, not a "
                      f"({node}, {relation}, _) fact")
            return ModelAnswer(Answer("none", note=said), None,
                               note="; ".join(filter(None, [detail, how])))
        node = read.target
        walk.append(f"-[{relation}]-> {node}")
        prob *= read.prob
    note = f"the model's walk: {' '.join(walk)}" if query.hops > 1 or asked != query else ""
    return ModelAnswer(Answer("node", (node,)), prob, note="; ".join(filter(None, [note, how])))


def _read_hops(runner: _Runner, labels: LabelMap, query: MultiFactQuery) -> list[_Read]:
    """The chain as one one-hop query per relation, each from the stored memory, the next
    starting at the node the model's previous answer named; stops at a hop whose answer
    names no node (its read is the last)."""
    stored, node, reads = runner.state, query.subject, []
    for relation in query.relations:
        hop = _Runner(runner.model, stored)
        read = _read_walk(hop, labels, node, (relation,))[0]
        runner.absorb(hop)
        reads.append(read)
        if read.target is None or read.source != node or read.edge != relation:
            break
        node = read.target
    return reads


def _neighbours(model: LoadedModel, state: Any, graph: nx.MultiDiGraph, labels: LabelMap,
                query: NeighboursQuery) -> ModelAnswer:
    """One one-hop traversal per label leaving the node, each from the stored state."""
    out_labels = sorted({k for _, _, k in graph.out_edges(query.node, keys=True)})
    found: list[str] = []
    prob = 1.0
    record = _Runner(model, state)
    for label in out_labels:
        runner = _Runner(model, state)
        result = _traversal(runner, labels, TraversalQuery(query.node, (Step(label),)))
        if result.answer is not None:
            found.extend(result.answer.nodes[1:])
            prob *= result.confidence or 0.0
        record.absorb(runner, suffix=f" {label}")
    answer = Answer("nodes", tuple(sorted(set(found))))
    return ModelAnswer(answer, prob if out_labels else None, trace=record.trace(),
                       phases=record.phases)


def describe_model(model: LoadedModel | None) -> dict[str, Any]:
    """A summary for ``show`` and ``--json``."""
    if model is None:
        return {"ref": "none"}
    return {"ref": model.ref, "kind": model.spec.kind, "task": model.spec.task,
            "trained": model.trained, "digest": model.digest[:16]}


def label_plan(model: LoadedModel | None
               ) -> tuple[tuple[int, int], tuple[int, int], dict[str, int]]:
    """The node and edge label ranges and the fixed edge numbers to number a graph with."""
    if model is None:
        return (0, codec.MAX_LABEL), (0, codec.MAX_LABEL), {}
    return model.spec.node_labels, model.spec.edge_labels, dict(model.spec.edge_numbers)
