"""``ingest``: read a graph or text knowledge base, write it into a model's memory, store it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dnc_qa.app import codec
from dnc_qa.app.workspace import EntryMeta, Workspace, check_name, name_from_path
from dnc_qa.errors import DncQaError

if TYPE_CHECKING:
    import networkx as nx

    from dnc_qa.graphs.io import ReadOptions
    from dnc_qa.kb.extract import UnreadSentence

DEFAULT_MAX_NODES = codec.MAX_LABEL + 1
DEFAULT_MAX_EDGES = 1000


@dataclass(frozen=True)
class IngestOptions:
    """Settings of one ingest.

    Attributes:
        name: the entry name (default: from the file name).
        model: the model reference (see :mod:`dnc_qa.app.engine`).
        format: the input format (``None``: from the file; ``text`` (or ``kb``) for a text
            knowledge base, which ``.txt`` files are by default).
        max_nodes, max_edges: size limits (``--max-nodes``, ``--max-edges``).
        seed: seeds the label numbers and the description order.
        strict: refuse a text knowledge base with any sentence the extractor cannot read
            (``--strict``). Without it such sentences are skipped and reported
            (:attr:`IngestReport.unread`); a file with no readable sentence is refused
            either way.
        label_keys: edge attributes tried, in order, for an edge's label (``--label-key``;
            ``None``: ``label``, ``line``, ``relation``, ``type``).
        default_label: the label of edges with none of them (``--default-label``).
        undirected: CSV edge lists: every row is an undirected edge (``--undirected``).
        directions: transit maps: ``line`` or ``edge`` compass labels (``--directions``).
    """

    name: str | None = None
    model: str = "auto"
    format: str | None = None
    max_nodes: int = DEFAULT_MAX_NODES
    max_edges: int = DEFAULT_MAX_EDGES
    seed: int = 0
    strict: bool = False
    label_keys: tuple[str, ...] | None = None
    default_label: str | None = None
    undirected: bool = False
    directions: str = "line"

    def read_options(self) -> ReadOptions:
        """The graph readers' settings for this ingest."""
        from dnc_qa.graphs.io import ReadOptions
        from dnc_qa.graphs.limits import Limits

        if self.directions not in ("line", "edge"):
            raise DncQaError(f"--directions must be 'line' or 'edge', not {self.directions!r}")
        extra = {} if self.label_keys is None else {"label_keys": tuple(self.label_keys)}
        return ReadOptions(default_label=self.default_label, undirected=self.undirected,
                           directions=self.directions,  # type: ignore[arg-type]
                           limits=Limits(max_nodes=self.max_nodes, max_edges=self.max_edges),
                           **extra)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest stored, and for a text knowledge base the sentences it skipped
    (in file order, each with its line and why)."""

    meta: EntryMeta
    unread: tuple[UnreadSentence, ...] = ()


def read_input(path: Path, fmt: str | None, max_nodes: int, max_edges: int,
               strict: bool = False, options: IngestOptions | None = None,
               ) -> tuple[nx.MultiDiGraph, str, tuple[UnreadSentence, ...]]:
    """The graph in ``path``, the format it was read as and (text knowledge bases) the
    sentences that could not be read; ``options`` gives the readers' other settings."""
    from dataclasses import replace

    from dnc_qa.graphs.io import detect_format, read_graph

    base = options or IngestOptions()
    read_options = replace(base, max_nodes=max_nodes, max_edges=max_edges).read_options()
    if fmt is not None and fmt.lower() in ("kb", "text-kb", "txt"):
        fmt = "text"
    fmt = fmt or detect_format(path)
    if fmt == "text":
        from dnc_qa.kb.textkb import read_text_kb

        kb = read_text_kb(path, strict=strict, limits=read_options.limits)
        return kb.graph, fmt, kb.unread
    return read_graph(path, fmt, read_options), fmt, ()


def check_limits(graph: nx.MultiDiGraph, max_nodes: int, max_edges: int) -> None:
    """Refuse graphs over the limits, naming the limit and the option that raises it."""
    n, e = graph.number_of_nodes(), graph.number_of_edges()
    if n > max_nodes:
        raise DncQaError(f"graph has {n:,} nodes, over the limit of {max_nodes:,} "
                         "(raise it with --max-nodes)")
    if e > max_edges:
        raise DncQaError(f"graph has {e:,} edges, over the limit of {max_edges:,} "
                         "(raise it with --max-edges; memory and time grow with its square)")
    if n > codec.MAX_LABEL + 1:
        raise DncQaError(f"graph has {n:,} nodes; the model's 3-digit labels allow at most "
                         f"{codec.MAX_LABEL + 1:,} (no option can raise this)")


def ingest(path: str | Path, options: IngestOptions, workspace: Workspace | None = None,
           log: TextIO | None = None) -> EntryMeta:
    """Read ``path``, write it into memory and store the entry; returns its metadata.

    Nothing is stored unless every step succeeds: a failed ingest leaves an existing entry of
    the same name as it was. :func:`ingest_report` also returns the skipped sentences.
    """
    return ingest_report(path, options, workspace, log).meta


def ingest_report(path: str | Path, options: IngestOptions, workspace: Workspace | None = None,
                  log: TextIO | None = None) -> IngestReport:
    """:func:`ingest`, returning the entry's metadata and the sentences a text knowledge base
    skipped."""
    from dnc_qa.app import engine
    from dnc_qa.app.questions import guess_node_kind

    ws = workspace or Workspace()
    src = Path(path)
    name = check_name(options.name or name_from_path(src))
    if options.max_nodes < 1 or options.max_edges < 1:
        raise DncQaError("--max-nodes and --max-edges must be at least 1")
    graph, fmt, unread = read_input(src, options.format, options.max_nodes, options.max_edges,
                                    options.strict, options)
    check_limits(graph, options.max_nodes, options.max_edges)
    if graph.number_of_edges() == 0:
        raise DncQaError(f"{src}: the graph has no edges; there is nothing to ask about")
    kind = guess_node_kind(graph)
    ref = engine.resolve_model_ref(options.model, kind)
    model = engine.load_model(ref)
    node_range, edge_range, fixed_edges = engine.label_plan(model)
    try:
        labels = codec.assign_labels(graph, options.seed, node_range, edge_range, fixed_edges)
    except ValueError as exc:
        raise DncQaError(f"{src}: {exc}") from None
    memory = trace = None
    cells = None
    if model is not None:
        out = log or sys.stderr
        print(f"writing {graph.number_of_edges()} triples into memory "
              f"({engine.memory_cells_for(graph)} cells, model {ref})...", file=out)
        desc = engine.describe_graph(model, graph, labels, options.seed)
        memory, trace, cells = desc.state, desc.trace, desc.num_cells
    meta = EntryMeta(
        name=name,
        source=str(src.resolve()),
        format=fmt,
        node_kind=kind,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        model=ref if model is None or ref in ("none", "untrained") or not Path(ref).exists()
        else str(Path(ref).resolve()),
        model_digest=None if model is None else model.digest,
        memory_cells=cells,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    ws.clean()
    ws.save(meta, graph, labels, memory, trace,
            memory_metadata=None if model is None else {"model_digest": model.digest})
    return IngestReport(meta, unread)
