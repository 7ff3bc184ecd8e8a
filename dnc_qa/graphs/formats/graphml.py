"""GraphML, read with networkx after a streaming pre-scan that locates structural errors.

The pre-scan (expat) rejects any DTD / entity declaration (no entity-expansion attacks), and
reports syntax errors, duplicate node ids and dangling edge endpoints with their line and
column, which networkx alone would not (it silently creates missing nodes).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from xml.parsers import expat

import networkx as nx

from dnc_qa.graphs.errors import GraphFormatError, line_col
from dnc_qa.graphs.formats.nodelink import DEFAULT_LABEL_KEYS
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import LABEL, GraphBuilder


class _Scan:
    """Node ids and edge endpoints with their places, collected by :func:`_prescan`."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, str]] = []
        self.edges: list[tuple[str, str, str]] = []
        self.directed = True
        self.saw_graph = False


def _prescan(text: str, path: Path, limits: Limits) -> _Scan:
    scan = _Scan()
    parser = expat.ParserCreate()

    def here() -> str:
        return line_col(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    def no_dtd(*_: object) -> None:
        raise GraphFormatError("DTD / entity declarations are not allowed", path=path,
                               place=here())

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "graph" and not scan.saw_graph:
            scan.saw_graph = True
            scan.directed = attrs.get("edgedefault", "directed") != "undirected"
        elif local == "node":
            if "id" not in attrs:
                raise GraphFormatError("<node> has no id", path=path, place=here())
            scan.nodes.append((attrs["id"], here()))
            if len(scan.nodes) > limits.max_nodes:
                raise GraphFormatError(f"graph has more than {limits.max_nodes:,} nodes "
                                       "(raise it with --max-nodes)", path=path, place=here())
        elif local == "edge":
            for end in ("source", "target"):
                if end not in attrs:
                    raise GraphFormatError(f"<edge> has no {end}", path=path, place=here())
            scan.edges.append((attrs["source"], attrs["target"], here()))
            if len(scan.edges) > limits.max_edges:
                raise GraphFormatError(f"graph has more than {limits.max_edges:,} edges "
                                       "(raise it with --max-edges)", path=path, place=here())

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = start
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise GraphFormatError(
            f"invalid XML: {expat.ErrorString(exc.code)}", path=path,
            place=line_col(exc.lineno, exc.offset + 1),
        ) from None
    if not scan.saw_graph:
        raise GraphFormatError("no <graph> element (is this GraphML?)", path=path)
    return scan


def read_graphml(
    path: Path,
    *,
    label_keys: Sequence[str] = DEFAULT_LABEL_KEYS,
    default_label: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """Read a GraphML file into the canonical graph (``edgedefault`` decides directedness)."""
    text = read_text(path, limits)
    scan = _prescan(text, path, limits)
    builder = GraphBuilder(path, limits=limits)
    for node_id, place in scan.nodes:
        builder.add_node(node_id, None, place)
    for u, v, place in scan.edges:
        for end, role in ((u, "source"), (v, "target")):
            if not builder.has_node(end):
                raise GraphFormatError(f"edge {role} {end!r} is not a declared node", path=path,
                                       place=place)
    try:
        raw = nx.read_graphml(io.BytesIO(text.encode("utf-8")), node_type=str,
                              force_multigraph=True)
    except Exception as exc:  # networkx raises several types for bad GraphML content
        raise GraphFormatError(f"invalid GraphML: {exc}", path=path) from None
    for n, attrs in raw.nodes(data=True):
        builder.graph.nodes[n].update(attrs)
    builder.graph.graph.update(
        {k: v for k, v in raw.graph.items() if k not in ("node_default", "edge_default")})
    places = iter(place for *_, place in scan.edges)
    for u, v, d in raw.edges(data=True):
        place = next(places, None)
        key = next((k for k in label_keys if k in d), None)
        if key is None and default_label is None:
            raise GraphFormatError(
                f"edge {u!r} -> {v!r} has no label (looked for {', '.join(label_keys)}; "
                "pass --label-key or --default-label)", path=path, place=place,
            )
        label = default_label if key is None else d[key]
        rest = {a: b for a, b in d.items() if a not in (key, LABEL, "id")}
        builder.add_edge(u, v, label, rest, place, undirected=not scan.directed)
    return builder.build()


def graphml_text(graph: nx.MultiDiGraph) -> str:
    """``graph`` as GraphML (directed; attribute types inferred by networkx)."""
    clean = nx.MultiDiGraph()
    clean.graph.update({k: v for k, v in graph.graph.items() if isinstance(v, (str, int, float))})
    for n, d in graph.nodes(data=True):
        clean.add_node(n, **{k: v for k, v in d.items() if isinstance(v, (str, int, float))})
    for u, v, k, d in graph.edges(keys=True, data=True):
        clean.add_edge(u, v, key=k, **{a: b for a, b in d.items()
                                       if isinstance(b, (str, int, float))})
    return "\n".join(nx.generate_graphml(clean)) + "\n"
