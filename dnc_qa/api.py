"""The public Python API: ingest a graph or knowledge base, ask it questions, train and
evaluate models.

>>> import dnc_qa
>>> g = dnc_qa.ingest("data/transit", name="metro")            # doctest: +SKIP
>>> ans = g.ask("how do I get from Fenford Square to Larkton")   # doctest: +SKIP
>>> ans.answer, ans.confidence, ans.exact, ans.agrees           # doctest: +SKIP

Everything here is a thin layer over what the ``dncqa`` commands call: :func:`ingest` is
``dncqa ingest``, :meth:`Graph.ask` is ``dncqa ask``, :func:`train` is ``dncqa train``,
:func:`evaluate` is ``dncqa eval``. Stored graphs live in a workspace folder (``home``;
default ``$DNCQA_HOME`` or the user data folder), shared with the command line.

Errors are :class:`dnc_qa.errors.DncQaError` (bad input, a name that is not stored, ...),
with the same one-line messages the command line prints.

Importing :mod:`dnc_qa` is cheap: this module imports torch, spaCy and networkx only inside
the functions that need them, and :meth:`Graph.ask` answers with the NumPy engine when the
model allows it (no torch import).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

    from dnc_qa.app.ask import AskResult
    from dnc_qa.app.workspace import EntryMeta, Workspace
    from dnc_qa.kb.extract import UnreadSentence

__all__ = ["Answer", "EvalResult", "Graph", "evaluate", "ingest", "list_graphs",
           "load_model", "open_graph", "train"]


def _workspace(home: str | Path | None) -> Workspace:
    from dnc_qa.app.workspace import Workspace

    return Workspace(Path(home).expanduser() if home is not None else None)


@dataclass(frozen=True)
class Answer:
    """One answered question: the model's answer beside the exact one.

    Attributes:
        question: the question as asked.
        graph: the stored graph it was asked of.
        model: the model whose memory answered (``none`` for a graph stored without one).
        query: what the question was read as, in words ("shortest path from A to B").
        answer: the model's answer (a node name, a list of names, a path as
            ``[[source, label, target], ...]``), or ``None`` when the model gave none.
        answer_text: the model's answer as one line for people, or ``None``.
        confidence: the probability the model gives its answer, also a withheld one
            (``None`` without one).
        exact: the exact answer (networkx on the stored graph), same shapes as ``answer``;
            ``None`` when the graph holds no answer.
        exact_text: the exact answer as one line for people.
        agrees: whether the model's answer is right (``None`` without a model answer).
        note: why there is no model answer, or a warning about it.
        trace: the model's memory activity while answering (``read_weights`` [T, R, N],
            ``write_weights`` [T, W, N], ``usage`` [T, N], ...), for plots.
        phases: ``[(name, first_step, end_step)]`` within ``trace``.
        withheld: when the model's confidence was below ``min_confidence``, its answer held
            back (``answer``, ``answer_text``, ``agrees``, ``text``: "no answer (confidence
            0.12 below 0.30)"); ``answer`` and ``agrees`` are then ``None`` (``confidence``
            stays the model's). ``None`` otherwise.
        min_confidence: the threshold the answer was held to (0: never withheld).
        votes: ``{"agreeing": a, "asked": k}`` when ``k`` relabelled memories voted
            (``views``), else ``None``.
    """

    question: str
    graph: str
    model: str
    query: str
    answer: Any
    answer_text: str | None
    confidence: float | None
    exact: Any
    exact_text: str
    agrees: bool | None
    note: str = ""
    trace: dict[str, Any] = field(default_factory=dict, repr=False)
    phases: list[tuple[str, int, int]] = field(default_factory=list, repr=False)
    withheld: dict[str, Any] | None = None
    min_confidence: float = 0.0
    votes: dict[str, int] | None = None

    @classmethod
    def from_result(cls, result: AskResult) -> Answer:
        """The API's view of the application's :class:`~dnc_qa.app.ask.AskResult`."""
        return cls(
            question=result.question,
            graph=result.graph,
            model=result.model,
            query=result.query.describe(),
            answer=None if result.answer is None else result.answer.to_json(),
            answer_text=None if result.answer is None else result.answer.text(),
            confidence=result.confidence,
            exact=result.exact.to_json(),
            exact_text=result.exact.text(),
            agrees=result.agrees,
            note=result.note,
            trace=dict(result.trace),
            phases=list(result.phases),
            withheld=None if result.withheld is None else result.withheld.to_json(),
            min_confidence=result.min_confidence,
            votes=result.to_json()["votes"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The answer as plain JSON-ready data (without the trace)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("trace", "phases")}

    def __str__(self) -> str:
        conf = "" if self.confidence is None else f" (confidence {self.confidence:.3g})"
        if self.withheld is not None:
            model = f"model: {self.withheld['text']}"
        elif self.answer_text is not None:
            model = f"model: {self.answer_text}{conf}"
        else:
            model = f"model: unavailable: {self.note}"
        lines = [f"query: {self.query}", model, f"exact: {self.exact_text}"]
        if self.agrees is not None:
            lines.append(f"agrees: {'yes' if self.agrees else 'no'}")
        if self.note and self.answer_text is not None:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


class Graph:
    """A graph or knowledge base stored in the workspace, ready to be asked.

    Get one from :func:`ingest` (read a file and write it into a model's memory) or
    :func:`open_graph` (one stored before, by this API or ``dncqa ingest``).

    Attributes:
        name: the entry name.
        home: the workspace folder.
        unread: for a text knowledge base just ingested, the sentences that could not be
            read and were skipped (``sentence``, ``line``, ``reason``), in file order;
            empty otherwise.
    """

    def __init__(self, name: str, home: str | Path | None = None,
                 unread: tuple[UnreadSentence, ...] = ()) -> None:
        ws = _workspace(home)
        ws.require(name)  # a one-line error naming the stored graphs when absent
        self.name = name
        self.home = ws.home
        self.unread = tuple(unread)

    def __repr__(self) -> str:
        meta = self.meta
        return (f"Graph({self.name!r}: {meta.nodes} {meta.node_kind}s, {meta.edges} edges, "
                f"model {meta.model})")

    @property
    def meta(self) -> EntryMeta:
        """The stored entry's metadata (source, format, sizes, model, memory cells)."""
        return _workspace(self.home).meta(self.name)

    def info(self) -> dict[str, Any]:
        """The stored entry's metadata as a dict (what ``dncqa ingest --json`` prints)."""
        return asdict(self.meta)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The stored graph (edge attribute ``label``)."""
        return _workspace(self.home).load(self.name).graph

    def ask(self, question: str, *, exact_only: bool = False, backend: str = "auto",
            min_confidence: float | None = None, views: int = 5, beam: int = 3) -> Answer:
        """Answer ``question`` with the model's memory and exactly.

        Args:
            question: in English: shortest paths, traversals along lines or labels,
                neighbours, family relations, facts (see ``dncqa ask --help``).
            exact_only: skip the model (only the exact answer).
            backend: how the model runs: ``auto`` (NumPy when it can, else torch),
                ``numpy`` or ``torch``.
            min_confidence: withhold a model answer whose confidence is below this (0 to
                1; :attr:`Answer.withheld`); ``None``: ``dncqa ask``'s default, 0.3 for the
                shipped models (measured, ``docs/application.md``) and 0 for others.
            views: ask the model in this many memories of the graph, each numbered afresh,
                and take the answer most give (``dncqa ask --views``; 1: the stored memory).
            beam: shortest paths are decoded by a beam search of this width over the model's
                moves (``dncqa ask --beam``; 1: greedy).
        """
        from dnc_qa.app.ask import ask

        result = ask(question, self.name, _workspace(self.home), with_model=not exact_only,
                     backend=backend, min_confidence=min_confidence, views=views, beam=beam)
        return Answer.from_result(result)

    def ask_many(self, questions: list[str], *, exact_only: bool = False,
                 backend: str = "auto", min_confidence: float | None = None, views: int = 5,
                 beam: int = 3) -> list[Answer | str]:
        """:meth:`ask` each question in turn (what ``dncqa ask --file`` does): one
        :class:`Answer` per question, or the one-line error (a ``str``) of a question that
        could not be answered (not parsed, an unknown name); the rest are still asked."""
        from dnc_qa.app.ask import ask_many

        return [Answer.from_result(item.result) if item.result is not None
                else str(item.error)
                for item in ask_many(questions, self.name, _workspace(self.home),
                                     with_model=not exact_only, backend=backend,
                                     min_confidence=min_confidence, views=views,
                                     beam=beam)]

    def plot_memory(self, answer: Answer, path: str | Path) -> Path:
        """Write a PNG of the memory's weightings while the graph was written and ``answer``
        was asked (what ``dncqa ask --plot`` draws)."""
        from dnc_qa.app.engine import load_arrays
        from dnc_qa.app.plots import check_plot_path, join_traces, plot_memory
        from dnc_qa.app.workspace import check_trace, read_meta
        from dnc_qa.errors import DncQaError

        out = check_plot_path(path)
        if not answer.trace:
            raise DncQaError(f"no model run to plot ({answer.note or 'no model'})")
        trace, phases = answer.trace, answer.phases
        entry = _workspace(self.home).require(self.name)
        stored = entry / "trace.safetensors"
        if stored.exists():
            desc, _ = load_arrays(stored)
            check_trace(desc, stored, read_meta(entry / "meta.json", self.name))
            steps = next(iter(desc.values())).shape[0] if desc else 0
            trace, phases = join_traces(desc, [("description", 0, steps)], trace, phases)
        return plot_memory(trace, phases, out, title=answer.question)

    def remove(self) -> None:
        """Delete the stored entry."""
        _workspace(self.home).remove(self.name)


def ingest(
    source: str | Path,
    name: str | None = None,
    *,
    model: str = "auto",
    format: str | None = None,
    max_nodes: int | None = None,
    max_edges: int | None = None,
    seed: int = 0,
    strict: bool = False,
    label_keys: str | list[str] | tuple[str, ...] | None = None,
    default_label: str | None = None,
    directions: str = "line",
    home: str | Path | None = None,
    verbose: bool = False,
) -> Graph:
    """Read a graph or text knowledge base, write it into a model's memory and store it.

    Args:
        source: a graph file (node-link JSON, GraphML, GML, edge-list CSV), a transit-map
            folder, or a text knowledge base (``.txt``: simple English sentences).
        name: the name to store it under (default: from the file name); an existing entry
            of that name is replaced.
        model: the model that writes the memory: a shipped model's name, a checkpoint folder,
            ``untrained``, ``none`` (exact answers only) or ``auto`` (a shipped model for
            this kind of graph).
        format: the input format when the file name does not tell (``node-link``,
            ``transit``, ``graphml``, ``gml``, ``csv``, ``kb``).
        max_nodes, max_edges: refuse larger graphs (defaults as ``dncqa ingest``).
        seed: seeds the label numbers and the order the triples are written in.
        strict: refuse a text knowledge base with any sentence the extractor cannot read.
            Without it such sentences are skipped and listed in :attr:`Graph.unread`; a
            file with no readable sentence is refused either way.
        label_keys: the edge attribute (or attributes, tried in order) holding each edge's
            label (default: ``label``, ``line``, ``relation``, ``type``).
        default_label: the label of edges with none of ``label_keys``.
        directions: transit maps whose stations have coordinates: ``line`` (one compass
            axis per line, "Red N") or ``edge`` (each edge's own compass point).
        home: the workspace folder (default: ``$DNCQA_HOME`` or the user data folder).
        verbose: print progress ("writing N triples into memory...") to stderr.
    """
    import sys

    from dnc_qa.app.ingest import DEFAULT_MAX_EDGES, DEFAULT_MAX_NODES, IngestOptions, ingest_report

    options = IngestOptions(
        name=name, model=model, format=format,
        max_nodes=DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
        max_edges=DEFAULT_MAX_EDGES if max_edges is None else max_edges,
        seed=seed, strict=strict,
        label_keys=(label_keys,) if isinstance(label_keys, str) else
        None if label_keys is None else tuple(label_keys),
        default_label=default_label, directions=directions)
    ws = _workspace(home)
    report = ingest_report(source, options, ws, log=sys.stderr if verbose else io.StringIO())
    return Graph(report.meta.name, ws.home, report.unread)


def open_graph(name: str | None = None, *, home: str | Path | None = None) -> Graph:
    """A graph stored before (the only one stored, when ``name`` is ``None``)."""
    ws = _workspace(home)
    return Graph(name or ws.default_name(), ws.home)


def list_graphs(*, home: str | Path | None = None) -> list[str]:
    """The names of the stored graphs."""
    return _workspace(home).names()


def load_model(ref: str, *, device: str = "cpu"):
    """A trained network as a ``torch.nn.Module`` in eval mode.

    Args:
        ref: a shipped model's name (``traversal-dnc``), a folder holding
            ``model.safetensors`` and ``config.json`` (what the application loads), or a
            training run or checkpoint folder written by :func:`train` / ``dncqa train``.
        device: where to put it (``cpu``, ``cuda``, ``auto``).

    The network is called as ``y, state = model(x)`` (``x``: ``[batch, time, inputs]``).
    """
    from dnc_qa.device import resolve_device
    from dnc_qa.errors import DncQaError

    dev = resolve_device(device)
    path = Path(ref).expanduser()
    if path.exists():
        from dnc_qa.train.checkpoint import TRAINER, resolve_checkpoint

        try:
            checkpoint = resolve_checkpoint(path)
        except DncQaError:
            checkpoint = None
        if checkpoint is not None and (Path(checkpoint) / TRAINER).is_file():
            from dnc_qa.train.evaluate import load_trained_model

            net, _ = load_trained_model(path, dev)
            return net.eval()
    from dnc_qa.app import engine

    if ref in ("auto", "none"):
        raise DncQaError(f"load_model needs a model, not {ref!r}; shipped: "
                         f"{', '.join(engine.shipped_models()) or 'none'}")
    loaded = engine.load_model(ref, backend="torch")
    return loaded.net.to(dev).eval()


# Keyword arguments of train(), by the part of the configuration they set.
_MODEL_KEYS = ("hidden_size", "controller_layers", "num_cells", "cell_width", "num_reads",
               "num_writes", "controller", "clip", "masking", "deallocation", "link_sharpness",
               "fit_cells")
_OPTIM_KEYS = {"optimizer": "name", "lr": "lr", "momentum": "momentum",
               "clip_norm": "clip_norm"}
_CURRICULUM_KEYS = {"curriculum": "enabled", "threshold": "threshold",
                    "eval_every": "eval_every", "eval_episodes": "eval_episodes",
                    "warmup": "warmup"}


def train(task: str = "copy", model: str = "dnc", *, out: str | Path,
          steps: int | None = None, minutes: float | None = None, resume: bool = False,
          progress: bool = False, babi_task: int | None = None,
          babi_dir: str | Path | None = None, **options: Any):
    """Train a DNC, NTM or LSTM on a task; what ``dncqa train`` runs.

    Args:
        task: ``copy``, ``repeat_copy``, ``associative_recall``, ``traversal``,
            ``shortest_path``, ``inference``, ``babi``, ... (``dncqa train --help``).
        model: ``dnc``, ``ntm`` or ``lstm``.
        out: the run folder (checkpoints, ``metrics.jsonl``).
        steps, minutes: the budget (at least one, unless resuming).
        resume: continue the run in ``out`` from its latest checkpoint.
        progress: show the progress bar.
        babi_task, babi_dir: for ``task="babi"``: the task (1-20; default all 20) and the
            data folder holding ``en-10k/`` (default ``$DNCQA_BABI``).
        **options: any other setting of ``dncqa train``, by its option name with
            underscores: model (``hidden_size``, ``num_cells``, ``cell_width``,
            ``num_reads``, ``controller``, ``masking``, ...), optimiser (``optimizer``,
            ``lr``, ``clip_norm``), curriculum (``curriculum``, ``threshold``,
            ``eval_every``, ``warmup``, ...) and run (``batch_size``, ``seed``, ``device``,
            ``final_eval_episodes``, ...).

    Returns:
        the run's :class:`~dnc_qa.train.trainer.TrainResult` (``checkpoint``, ``steps``,
        ``final`` metrics, ``stop_reason``, ...); load the model with :func:`load_model`.
    """
    from dataclasses import replace

    from dnc_qa.errors import DncQaError
    from dnc_qa.tasks.registry import check_task_name
    from dnc_qa.train.config import (
        BabiConfig,
        CurriculumConfig,
        ModelConfig,
        OptimConfig,
        TrainConfig,
    )
    from dnc_qa.train.model_factory import check_model_name
    from dnc_qa.train.trainer import train as run_training

    if not resume and steps is None and minutes is None:
        raise DncQaError("give steps=N or minutes=M")
    task_name = check_task_name(task)
    model_kw = {k: options.pop(k) for k in _MODEL_KEYS if k in options}
    optim_kw = {v: options.pop(k) for k, v in _OPTIM_KEYS.items() if k in options}
    curr_kw = {v: options.pop(k) for k, v in _CURRICULUM_KEYS.items() if k in options}
    run_keys = {f.name for f in fields(TrainConfig)} - {"task", "model", "optim", "curriculum",
                                                         "babi", "steps", "minutes"}
    unknown = sorted(set(options) - run_keys)
    if unknown:
        raise DncQaError(f"unknown training option(s): {', '.join(unknown)}")
    babi = BabiConfig()
    if task_name == "babi" and not resume:
        from dnc_qa.tasks.babi import resolve_data_dir

        root = resolve_data_dir(Path(babi_dir) if babi_dir is not None else None).resolve()
        babi = BabiConfig(task=babi_task or 0, data_dir=str(root))
    elif task_name != "babi" and (babi_task is not None or babi_dir is not None):
        raise DncQaError("babi_task and babi_dir apply to task='babi' only")
    if "controller" in model_kw:
        model_kw["controller"] = str(model_kw["controller"]).strip().lower()
    if "name" in optim_kw:
        optim_kw["name"] = str(optim_kw["name"]).strip().lower()
    config = TrainConfig(task=task_name, model=replace(ModelConfig(), kind=check_model_name(model),
                                                       **model_kw),
                         optim=replace(OptimConfig(), **optim_kw),
                         curriculum=replace(CurriculumConfig(), **curr_kw),
                         steps=steps, minutes=minutes, babi=babi, **options)
    config.validate()
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise DncQaError(f"out {out_dir} exists and is not a folder")
    return run_training(config, out_dir, resume=resume, show_progress=progress)


@dataclass(frozen=True)
class EvalResult:
    """A trained model's scores on fresh episodes (what ``dncqa eval`` reports).

    Attributes:
        checkpoint: the checkpoint folder evaluated.
        task: the task it was scored on.
        model: ``dnc``, ``ntm`` or ``lstm``.
        step: the training step of the checkpoint.
        episodes: episodes scored.
        accuracy: the fraction of episodes entirely right.
        per_step_accuracy: the fraction of answer steps right.
        bit_error_per_sequence: mean wrong bits per episode (bit tasks).
        loss: mean loss.
    """

    checkpoint: str
    task: str
    model: str
    step: int
    episodes: int
    accuracy: float
    per_step_accuracy: float
    bit_error_per_sequence: float
    loss: float


def evaluate(checkpoint: str | Path, *, task: str | None = None, lesson: int | None = None,
             episodes: int = 1000, seed: int = 0, batch_size: int = 64,
             device: str = "auto") -> EvalResult:
    """Score a training run or checkpoint on fresh episodes of its task (or ``task``).

    Args:
        checkpoint: a run folder (its latest checkpoint) or a checkpoint folder.
        task: the task to score on (default: the one it was trained on).
        lesson: for the graph tasks, score on this curriculum lesson (1-based) instead of
            the full task.
        episodes, seed, batch_size: how many fresh episodes, drawn from which seed, how
            many at a time.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    ``dncqa eval`` has more (lengths, memory sizes, bAbI per-task tables, shortest-path
    breakdowns); this scores the common case.
    """
    from dataclasses import replace

    import torch

    from dnc_qa.device import resolve_device
    from dnc_qa.errors import DncQaError
    from dnc_qa.tasks.registry import check_task_name, make_task
    from dnc_qa.train.evaluate import evaluate_counts, load_trained_model

    if episodes < 1 or batch_size < 1:
        raise DncQaError("episodes and batch_size must be >= 1")
    dev = resolve_device(device)
    net, ckpt = load_trained_model(checkpoint, dev)
    name = check_task_name(task) if task is not None else ckpt.config.task
    if name == "babi":
        raise DncQaError("evaluate bAbI runs with `dncqa eval --task babi` (per-task tables)")
    the_task = (make_task(name, **ckpt.config.task_options()) if name == ckpt.config.task
                else make_task(name))
    if (the_task.input_size, the_task.output_size) != (net.input_size, net.output_size):
        raise DncQaError(f"task {name} does not fit this model (it was trained on "
                         f"{ckpt.config.task})")
    if lesson is not None:
        lessons = the_task.lessons() if hasattr(the_task, "warmup_lessons") else None
        if not lessons:
            raise DncQaError(f"lesson applies to the graph tasks, not {name}")
        if not 1 <= lesson <= len(lessons):
            raise DncQaError(f"lesson must be in 1..{len(lessons)} for {name}")
        the_task = lessons[lesson - 1]
    fit = ckpt.config.model.fit_cells
    if fit and "fit_cells" in getattr(the_task, "__dataclass_fields__", {}):
        the_task = replace(the_task, fit_cells=True)
    counts = evaluate_counts(net, the_task, episodes, torch.Generator().manual_seed(seed), dev,
                             batch_size, ckpt.config.model.num_cells if fit else None,
                             fit_cells=fit)
    m = counts.summary()
    return EvalResult(str(ckpt.path), name, ckpt.config.model.kind, ckpt.trainer.step,
                      m.episodes, m.accuracy, m.per_step_accuracy, m.bit_error_per_sequence,
                      m.loss)
