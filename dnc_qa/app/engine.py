"""The app's models: loading them, the description phase at ingest, the stored memory state,
and which model answers which question. How each question type is asked at ask time is in
:mod:`dnc_qa.app.answer` (its :func:`~dnc_qa.app.answer.ask_model` is the entry).

Model references (``--model``):

* ``none``: no model; only exact answers.
* ``untrained``: a DNC with seeded random weights, to exercise the pipeline (its answers are
  noise and are reported as such).
* a checkpoint folder (or its ``model.safetensors``) holding ``model.safetensors`` and
  ``config.json``, or the name of a model shipped in :data:`PRETRAINED_DIR`.
* ``auto`` (the default): the first shipped model whose task fits the graph, else ``none``.

A checkpoint's ``config.json`` is the trainer's (``{"task": ..., "model": {...}}``) with an
optional ``"app"`` object for what the engine needs beyond the network (see :class:`ModelSpec`).

The description phase (:func:`describe_graph`, the paper's layout in the
:mod:`dnc_qa.app.codec` encoding) writes every triple once, in a seeded random order, no
channels set, into a fresh memory of one cell per triple plus :data:`MEMORY_SLACK`.

Two backends run a model: torch (ingest's description phase, the ``untrained`` model, and any
model the other cannot run) and NumPy (:mod:`dnc_qa.inference`, the same arithmetic without
importing torch), which ``ask`` uses when it can (``load_model(ref, backend="auto")``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnc_qa.app import codec
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.queries import FactQuery, Query, RelationQuery, ShortestPathQuery
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


# ---------------------------------------------------------------------------- loading


def shipped_models() -> list[str]:
    """Names of the models shipped with the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / WEIGHTS).is_file())


def resolve_model_ref(ref: str, node_kind: str = "node") -> str:
    """Turn ``auto`` into a concrete reference; other references are returned unchanged.

    Every kind of graph takes a traversal model: for generic graphs and text knowledge bases
    (``node``) one trained on knowledge bases (``kb_qa``) first, for transit maps and family
    trees one trained on the paper's random graphs first (it walks any family relation,
    :func:`tasks_for`); a family tree takes an inference model only when no traversal model
    is shipped. Without a fitting shipped model the answer is ``none``.
    """
    if ref != "auto":
        return ref
    wanted = {"person": ("traversal", "kb_qa", "inference"),
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

    num_cells = memory_cells_for(graph)
    state = initial_state(model, num_cells)
    x = description_input(graph, labels, seed)
    with torch.no_grad(), threads_for(num_cells):
        _, state, trace = model.net(x, state, trace=True)
    return Description(flatten_state(state), trace_dict(trace), num_cells)


def description_input(graph: nx.MultiDiGraph, labels: LabelMap, seed: int,
                      backend: str = "torch") -> Any:
    """The description phase's input ``[1, T, 92]``: every triple of ``graph`` under
    ``labels``, in an order shuffled by ``seed``."""
    triples = [(labels.nodes[u], labels.edges[k], labels.nodes[v])
               for u, v, k in graph.edges(keys=True)]
    random.Random(seed).shuffle(triples)
    return codec.encode_triples(triples, backend=backend)[None]


def trace_dict(trace: Any) -> dict[str, Array]:
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


# ------------------------------------------------------------ which model answers


def model_for_task(tasks: tuple[str, ...], exclude: str = "") -> str | None:
    """The first shipped model trained for one of ``tasks`` (in that order of preference),
    other than ``exclude``; ``None`` when there is none. For a task, a model trained on the
    paper's graphs for it comes before one that answers it after training on something else
    (a ``kb_qa`` model answers traversal questions, but was trained on knowledge bases)."""
    specs: list[tuple[str, ModelSpec]] = []
    for name in shipped_models():
        if name == exclude:
            continue
        try:
            specs.append((name, _read_spec(PRETRAINED_DIR / name / CONFIG)))
        except CheckpointError:
            continue
    for task in tasks:
        native = [n for n, spec in specs if spec.task == task and spec.trained_on in ("", task)]
        other = [n for n, spec in specs if spec.task == task]
        if native or other:
            return (native or other)[0]
    return None


def routed_model(current: LoadedModel | None, query: Query) -> str | None:
    """A shipped model trained for ``query``'s type when ``current`` (the model the graph
    was ingested with) answers no such questions; ``None`` when ``current`` does (a family
    tree ingested with an inference model keeps it for relations) or nothing else fits."""
    if current is None or current.spec.task in ("untrained", *tasks_for(query)):
        return None
    return model_for_task(tasks_for(query)[:1], exclude=current.ref)


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
    runs (every triple, shuffled by ``seed``), on ``model``'s own backend, so that a NumPy
    model never imports torch."""
    num_cells = memory_cells_for(graph)
    state = initial_state(model, num_cells)
    x = description_input(graph, labels, seed, model.backend)
    if model.backend == "numpy":
        _, state, _ = model.net(x, state, trace=True)
        return state
    import torch

    with torch.no_grad(), threads_for(num_cells):
        _, state, _ = model.net(x, state, trace=True)
    return state


def tasks_for(query: Query) -> tuple[str, ...]:
    """The tasks whose models answer ``query``, the preferred first.

    A family relation goes to a traversal model first: the app knows the walk of edge labels
    a relation is ("maternal grandmother" = mother, mother) and a traversal model walks it in
    one query, for any relation. An inference model (the paper's task) answers only the
    relations it was trained on, by an opaque label (its card's ``relations``)."""
    if isinstance(query, ShortestPathQuery):
        return ("shortest_path",)
    if isinstance(query, RelationQuery):  # a walk the app spells out: one traversal query
        return ("traversal", "inference")
    if isinstance(query, FactQuery):
        return ("traversal", "inference")
    return ("traversal",)  # traversals, neighbours, chains of facts


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
