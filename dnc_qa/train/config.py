"""Training configuration: typed dataclasses, saved as JSON beside every checkpoint.

The fields that ``dncqa train`` sets carry their command-line option in their annotation,
once: ``hidden_size: Annotated[int, Opt("--hidden-size", help=..., panel=MODEL)] = 64``.
``cli/options.py`` (:mod:`dnc_qa.cli.options`) turns these into the command's Typer options
and the parsed values back into these dataclasses, so a new option is one annotated field.
A field that no option sets is marked :class:`NoOption` with the reason; the run options
(``--steps``, ``--out``, ``--resume``, ...) are declared in ``cli/train.py``.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from dnc_qa.errors import DncQaError

MAX_PLANNING_PER_EDGE = 10
"""The largest ``--planning-per-edge`` (planning steps per graph triple) train and eval take."""

MODEL_KINDS = ("dnc", "ntm", "lstm")
OPTIMIZERS = ("adam", "rmsprop")

GRAPH_TASKS, MODEL, MEMORY, OPTIMISER = "Graph tasks", "Model", "Memory", "Optimiser"
CURRICULUM, EVALUATION = "Curriculum", "Evaluation and logs"
"""The ``dncqa train --help`` panels of the options below (their order: ``cli/panels.py``)."""


@dataclass(frozen=True, init=False)
class Opt:
    """The ``dncqa train`` option that sets a config field, in the field's annotation.

    ``decls``: the option's names, the long one first (``"--model", "-m"``; a flag with an
    off switch: ``"--curriculum/--no-curriculum"``); the Typer parameter is the long name
    with underscores (``model``). ``help``: one line; ``panel``: its ``--help`` panel.
    ``type`` / ``default``: the option's own type and default where they differ from the
    field's (``--clip-norm 0`` is ``clip_norm=None``). ``convert``: option value -> field
    value (default: as given).
    """

    decls: tuple[str, ...]
    help: str
    panel: str
    type: Any = None
    default: Any = dataclasses.MISSING
    convert: Callable[[Any], Any] | None = None

    def __init__(self, *decls: str, help: str, panel: str, type: Any = None,
                 default: Any = dataclasses.MISSING,
                 convert: Callable[[Any], Any] | None = None) -> None:
        for name, value in (("decls", decls), ("help", help), ("panel", panel), ("type", type),
                            ("default", default), ("convert", convert)):
            object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        """The long option name (``"--curriculum/--no-curriculum"`` -> ``"--curriculum"``)."""
        return self.decls[0].split("/")[0].strip()


@dataclass(frozen=True)
class FromOption:
    """A field set by another field's option (``link_k`` by ``--sparse-links``):
    ``convert`` maps that option's value to this field's."""

    option: str
    convert: Callable[[Any], Any]


@dataclass(frozen=True)
class NoOption:
    """A field that no ``dncqa train`` option sets (config files and the Python API do):
    ``reason`` says why."""

    reason: str


def cli_fields(cls: type) -> dict[str, tuple[Any, Opt | FromOption | NoOption | None]]:
    """``{field: (type, command-line metadata or None)}`` of a config dataclass, in field
    order (the type without its metadata)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: dict[str, tuple[Any, Opt | FromOption | NoOption | None]] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        meta = None
        if typing.get_origin(hint) is Annotated:
            hint, *extras = typing.get_args(hint)
            found = [x for x in extras if isinstance(x, Opt | FromOption | NoOption)]
            meta = found[0] if found else None
        out[f.name] = (hint, meta)
    return out


def _lowered(value: str) -> str:
    return value.strip().lower()


def _model_name(name: str) -> str:
    from dnc_qa.train.model_factory import check_model_name  # imports torch: not at the top

    return check_model_name(name)


def _link(k: int) -> str:
    return "sparse" if k else "dense"


def _link_k(k: int) -> int:
    return k or ModelConfig.link_k


def _clip_norm(value: float) -> float | None:
    return value if value > 0 else None


@dataclass
class ModelConfig:
    """Which network and its sizes.

    The defaults are a small model that learns the bit tasks quickly on a CPU (not the
    papers' sizes). ``num_cells`` is the training memory size; no weight depends on it.
    """

    kind: Annotated[str, Opt("--model", "-m", help="dnc, ntm or lstm.", panel=MODEL,
                             convert=_model_name)] = "dnc"
    hidden_size: Annotated[int, Opt("--hidden-size", help="Controller width.",
                                    panel=MODEL)] = 64
    controller_layers: Annotated[int, Opt("--controller-layers", help="Controller layers.",
                                          panel=MODEL)] = 1
    num_cells: Annotated[int, Opt("--num-cells", help="Memory cells N (training).",
                                  panel=MEMORY)] = 32
    cell_width: Annotated[int, Opt("--cell-width", help="Memory cell width W.",
                                   panel=MEMORY)] = 16
    num_reads: Annotated[int, Opt("--num-reads", help="Read heads R.", panel=MEMORY)] = 1
    num_writes: Annotated[int, Opt("--num-writes", help="Write heads (DNC, NTM).",
                                   panel=MEMORY)] = 1
    controller: Annotated[str, Opt("--controller", help="DNC/NTM controller: lstm or "
                                   "feedforward.", panel=MODEL, convert=_lowered)] = "lstm"
    clip: Annotated[float | None, NoOption(
        "the controller output's clip, 20 as in the shipped models; config files and dncqa "
        "reproduce's budgets set others")] = 20.0
    """DNC, NTM: the controller's output is clipped to ``[-clip, clip]`` (``None``: not)."""
    masking: Annotated[bool, Opt("--masking", help="DNC: content-lookup masks (Csordas & "
                                 "Schmidhuber 2019).", panel=MEMORY)] = False
    deallocation: Annotated[bool, Opt("--deallocation", help="DNC: erase cells when freed "
                                      "(Csordas & Schmidhuber 2019).", panel=MEMORY)] = False
    link_sharpness: Annotated[bool, Opt("--link-sharpness", help="DNC: link sharpness control "
                                        "(Csordas & Schmidhuber 2019).", panel=MEMORY)] = False
    """DNC only: the improvements of Csordas & Schmidhuber (2019), off by default (the paper's
    DNC): content-lookup masks, erasing freed cells, link sharpness control."""
    fit_cells: Annotated[bool, Opt("--fit-cells", help="Memory of max(--num-cells, episode "
                                   "length) cells: graph batches run in groups of similar "
                                   "lengths, each sized to its longest episode.",
                                   panel=MEMORY)] = False
    """Size the memory to the episodes: ``max(num_cells, episode length)`` cells (the graph
    tasks write about one triple per step, so this is the description plus a margin). A
    traversal, inference or knowledge-base batch runs as groups of rows of similar lengths,
    each with a memory sized to its longest row (:func:`dnc_qa.models.trimmed.run_fitted`);
    other tasks, and shortest-path rollouts, use one memory per batch."""
    link: Annotated[str, Opt("--sparse-links", help="DNC: sparse links keeping K entries per "
                             "row/column (0: dense).", panel=MEMORY, type=int, default=0,
                             convert=_link)] = "dense"
    """DNC only: ``"dense"`` temporal links (the paper) or ``"sparse"`` (SDNC: the
    ``link_k`` largest entries per row and column; ``dncqa train --sparse-links K``)."""
    link_k: Annotated[int, FromOption("--sparse-links", _link_k)] = 8
    """``K`` of sparse links."""
    backend: Annotated[str, Opt("--backend", help="DNC memory: auto, torch, cpp, cpp-sequence, "
                                "sparse or numpy.", panel=MEMORY, convert=_lowered)] = "auto"
    """DNC only: how the memory is computed (``auto``, ``torch``, ``cpp``, ``cpp-sequence``,
    ``sparse``, ``numpy``; :func:`dnc_qa.memory.backends.choose_backend`). Every backend
    computes the same arithmetic, so a model trained with one runs with any other. A config
    saved without this field reads as ``auto``."""


@dataclass
class OptimConfig:
    """Optimizer and gradient clipping.

    ``clip_norm`` clips the global gradient norm (``None``: no clipping); ``momentum`` is used
    by RMSProp only.
    """

    name: Annotated[str, Opt("--optimizer", help="adam or rmsprop.", panel=OPTIMISER,
                             convert=_lowered)] = "adam"
    lr: Annotated[float, Opt("--lr", help="Learning rate.", panel=OPTIMISER)] = 3e-3
    momentum: Annotated[float, NoOption("RMSProp only; the DNC paper's 0.9")] = 0.9
    clip_norm: Annotated[float | None, Opt("--clip-norm", help="Gradient-norm clip (0: off).",
                                           panel=OPTIMISER, type=float,
                                           convert=_clip_norm)] = 10.0


@dataclass
class CurriculumConfig:
    """When to move on to the next lesson.

    Every ``eval_every`` batches the current lesson is evaluated on ``eval_episodes`` fresh
    episodes; the next lesson starts when the episode accuracy is ``>= threshold``. A fraction
    ``earlier_fraction`` of each batch is drawn from earlier lessons (10% in the DNC paper).
    ``enabled=False`` trains on the full task from the start.
    """

    enabled: Annotated[bool, Opt("--curriculum/--no-curriculum", help="Use lessons.",
                                 panel=CURRICULUM)] = True
    threshold: Annotated[float, Opt("--threshold", help="Lesson pass accuracy.",
                                    panel=CURRICULUM)] = 0.9
    eval_every: Annotated[int, Opt("--eval-every", help="Evaluate every K batches.",
                                   panel=EVALUATION)] = 100
    eval_episodes: Annotated[int, Opt("--eval-episodes", help="Episodes per evaluation.",
                                      panel=EVALUATION)] = 128
    earlier_fraction: Annotated[float, Opt("--earlier-fraction", help="Share of each batch "
                                           "drawn from earlier lessons (the paper's 0.1).",
                                           panel=CURRICULUM)] = 0.1
    warmup: Annotated[int, Opt("--warmup", help="Graph tasks: easier lessons before the "
                               "paper's first (0-5).", panel=CURRICULUM)] = 0
    """Lessons easier than the paper's first, prepended (graph tasks only; not in the paper)."""


@dataclass
class GraphConfig:
    """Options of the graph tasks' episodes (``shortest_path`` and ``inference``).

    The defaults are the paper's setup. ``planning_steps`` blank steps follow the query,
    plus ``planning_per_edge`` per triple of the graph (rounded up): a planning budget that
    grows with the graph (Shamshoum et al. 2024). ``beta``: shortest path's DAgger mixing
    (probability of feeding back an optimal move rather than the network's own).
    ``bridge``: the warm-up lessons (``--warmup``) also ask one-hop questions (distance 1,
    relations of one edge), a bridge below the paper's first lesson (not in the paper).
    ``ponder_steps``: shortest path, extra steps the network runs on each answer step's input
    before it chooses the move (0, the paper: one step per move); each lets it chain one
    more memory lookup per decision (not in the paper). ``graphs``: shortest path on the
    paper's random graphs (``"random"``) or on generated transit maps (``"transit"``, with
    their own lessons, ``dnc_qa/graphs/curricula/shortest_path_transit.json``; not in the
    paper). ``hints``: inference, the weight of a loss on the intermediate hops of each
    relation during planning (hop ``k`` of the walk at planning step ``2k``; 0: the paper,
    only the answer is supervised; not in the paper).
    """

    planning_steps: Annotated[int, Opt("--planning-steps", help="Shortest path, inference: "
                                       "blank steps after the query.",
                                       panel=GRAPH_TASKS)] = 10
    planning_per_edge: Annotated[float, Opt("--planning-per-edge", help="... plus this many "
                                            "per graph triple (rounded up).",
                                            panel=GRAPH_TASKS)] = 0.0
    beta: Annotated[float, Opt("--beta", help="Shortest path: DAgger, chance of feeding back "
                               "an optimal move.", panel=GRAPH_TASKS)] = 0.8
    bridge: Annotated[bool, Opt("--bridge", help="Shortest path, inference: warm-ups ask "
                                "one-hop questions too.", panel=CURRICULUM)] = False
    ponder_steps: Annotated[int, Opt("--ponder-steps", help="Shortest path: extra steps per "
                                     "move before it is chosen.", panel=GRAPH_TASKS)] = 0
    graphs: Annotated[str, Opt("--graphs", help="Shortest path: random (the paper's graphs) "
                               "or transit (generated maps of lines).", panel=GRAPH_TASKS,
                               convert=_lowered)] = "random"
    hints: Annotated[float, Opt("--hints", help="Inference: loss weight on each relation's "
                                "intermediate hops during planning (0: the paper).",
                                panel=GRAPH_TASKS)] = 0.0


@dataclass
class BabiConfig:
    """The bAbI task's options (``--task babi`` only): ``task`` 1-20, or 0 for all 20 jointly
    (the paper); ``data_dir`` the data folder (``None``: ``$DNCQA_BABI`` when the task is made;
    ``dncqa train`` records the folder it used)."""

    task: int = 0
    data_dir: str | None = None


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    ``deterministic`` (CPU): before the first matrix product, sets ``MKL_CBWR=COMPATIBLE``
    (MKL's default GEMM kernels may round differently from one process to the next) unless
    it is already set. With it, a run resumed in a new process is bit-identical to an
    uninterrupted one. The native kernels of :mod:`dnc_qa.memory.native` stay on: their
    scratch buffers are aligned, so they round the same in every process.

    ``cuda_graph`` (CUDA): capture each batch shape's training step as a CUDA graph and
    replay it (:mod:`dnc_qa.train.captured`; batches padded to a multiple of 32 steps); runs
    that cannot (DDP, ``amp``, rollout tasks) train eagerly and say why.

    ``steps`` and ``minutes`` bound the run (whichever comes first; at least one is set).
    ``batch_size`` is per process under DDP. ``stop_bit_error``: stop once the final lesson's
    evaluation has a bit error per sequence below this. Checkpoints go to
    ``<out>/checkpoints/`` every ``checkpoint_every`` steps and at the end.
    """

    task: str = "copy"
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    batch_size: int = 16
    steps: int | None = 1000
    minutes: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    cuda_graph: bool = True
    deterministic: bool = True
    log_every: int = 50
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    max_bad_batches: int = 5
    max_rollbacks: int = 3
    stop_bit_error: float | None = None
    final_eval_episodes: int = 1000
    babi: BabiConfig = field(default_factory=BabiConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)

    def task_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~dnc_qa.tasks.registry.make_task` (bAbI and the
        graph tasks with options; empty where the task's defaults apply)."""
        if self.task == "babi":
            return {"task_id": self.babi.task, "data_dir": self.babi.data_dir}
        g = self.graph
        if self.task in ("shortest_path", "inference") and g != GraphConfig():
            options: dict[str, Any] = {"planning_steps": g.planning_steps,
                                       "planning_per_edge": g.planning_per_edge,
                                       "bridge": g.bridge}
            if self.task == "shortest_path":
                options["beta"] = g.beta
                if g.ponder_steps:
                    options["ponder_steps"] = g.ponder_steps
                if g.graphs != "random":
                    options["graphs"] = g.graphs
            elif g.hints:
                options["hints"] = g.hints
            return options
        return {}

    def validate(self) -> None:
        """Raise :class:`DncQaError` for values no run could use: a field of the wrong type
        (a config file edited by hand), a non-finite number (``--lr inf``), a value out of
        range."""
        import math

        for where, part in (("", self), ("model.", self.model), ("optim.", self.optim),
                            ("curriculum.", self.curriculum), ("babi.", self.babi),
                            ("graph.", self.graph)):
            for name, (hint, _) in cli_fields(type(part)).items():
                value = getattr(part, name)
                if where == "" and name in ("model", "optim", "curriculum", "babi", "graph"):
                    if not dataclasses.is_dataclass(value):
                        raise DncQaError(f"{name!r} must be an object, not {value!r}")
                    continue
                allowed = ["None" if t is type(None) else t.__name__
                           for t in (typing.get_args(hint) or (hint,))]
                kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,),
                         "None": (type(None),)}
                ok = any(
                    isinstance(value, kinds[t]) and not (t in ("int", "float")
                                                         and isinstance(value, bool))
                    for t in allowed if t in kinds
                )
                if not ok:
                    want = " or ".join("null" if t == "None" else t for t in allowed)
                    raise DncQaError(f"{where}{name} must be {want}, not {value!r:.40}")
                if isinstance(value, float) and not math.isfinite(value):
                    flag = f"--{name.replace('_', '-')}"
                    raise DncQaError(f"{flag} must be a finite number, not {value}")
        m, o, c = self.model, self.optim, self.curriculum
        if m.kind not in MODEL_KINDS:
            raise DncQaError(f"unknown model {m.kind!r}; choose one of {', '.join(MODEL_KINDS)}")
        if o.name not in OPTIMIZERS:
            raise DncQaError(f"unknown optimizer {o.name!r}; choose adam or rmsprop")
        if m.controller not in ("lstm", "feedforward"):
            raise DncQaError(f"unknown controller {m.controller!r}; choose lstm or feedforward")
        dnc_only = [f"--{name.replace('_', '-')}" for name in
                    ("masking", "deallocation", "link_sharpness") if getattr(m, name)]
        if m.link != "dense":
            dnc_only.append("--sparse-links")
        if m.backend not in ("auto", "torch"):
            dnc_only.append(f"--backend {m.backend}")
        if dnc_only and m.kind != "dnc":
            raise DncQaError(f"{', '.join(dnc_only)}: only for --model dnc, not {m.kind}")
        if m.link not in ("dense", "sparse"):
            raise DncQaError(f"unknown link {m.link!r}; choose dense or sparse")
        from dnc_qa.memory.backends import BACKEND_NAMES  # (imports torch: here, not at the top)

        if m.backend not in BACKEND_NAMES:
            raise DncQaError(f"unknown backend {m.backend!r}; choose one of "
                             f"{', '.join(BACKEND_NAMES)}")
        if self.steps is None and self.minutes is None:
            raise DncQaError("give --steps or --minutes")
        from dnc_qa.tasks.shortest_path import check_graphs

        check_graphs(self.graph.graphs)
        if self.graph.graphs != "random" and self.task != "shortest_path":
            raise DncQaError(f"--graphs {self.graph.graphs}: only for --task shortest_path")
        if self.graph.hints and self.task != "inference":
            raise DncQaError("--hints: only for --task inference")
        if self.graph.graphs == "transit" and self.curriculum.warmup:
            raise DncQaError("--warmup: the transit-map lessons start small already; "
                             "leave it out with --graphs transit")
        checks = [
            ("--steps", self.steps is None or self.steps >= 1),
            ("--minutes", self.minutes is None or self.minutes > 0),
            ("--batch-size", self.batch_size >= 1),
            ("--lr", o.lr > 0),
            ("momentum", 0 <= o.momentum < 1),
            ("--log-every", self.log_every >= 1),
            ("--checkpoint-every", self.checkpoint_every >= 1),
            ("--keep-checkpoints", self.keep_checkpoints >= 1),
            ("--eval-every", c.eval_every >= 1),
            ("--eval-episodes", c.eval_episodes >= 1),
            ("--final-eval-episodes", self.final_eval_episodes >= 1),
            ("--threshold", 0 <= c.threshold <= 1),
            ("earlier fraction", 0 <= c.earlier_fraction < 1),
            ("--warmup", 0 <= c.warmup <= 5),
            ("--clip-norm", o.clip_norm is None or o.clip_norm > 0),
            ("clip", m.clip is None or m.clip > 0),
            ("--babi-task", 0 <= self.babi.task <= 20),
            ("max_bad_batches", self.max_bad_batches >= 1),
            ("max_rollbacks", self.max_rollbacks >= 0),
            ("--stop-bit-error", self.stop_bit_error is None or self.stop_bit_error >= 0),
            ("--planning-steps", 0 <= self.graph.planning_steps <= 1000),
            ("--planning-per-edge", 0 <= self.graph.planning_per_edge <= MAX_PLANNING_PER_EDGE),
            ("--sparse-links", m.link_k >= 1),
            ("--beta", 0 <= self.graph.beta <= 1),
            ("--ponder-steps", 0 <= self.graph.ponder_steps <= 20),
            ("--hints", 0 <= self.graph.hints < 1),
        ]
        for size in ("hidden_size", "controller_layers", "num_cells", "cell_width", "num_reads",
                     "num_writes"):
            checks.append((f"--{size.replace('_', '-')}", getattr(m, size) >= 1))
        for name, ok in checks:
            if not ok:
                raise DncQaError(f"{name} is out of range")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_json`'s output; unknown keys are an error."""
        data = dict(data)
        parts = {
            "model": ModelConfig,
            "optim": OptimConfig,
            "curriculum": CurriculumConfig,
            "babi": BabiConfig,
            "graph": GraphConfig,
        }
        for key, kind in parts.items():
            if key in data:
                data[key] = kind(**data[key])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))
