"""GML, parsed by networkx; its errors are re-raised with the file and line named.

A node's name is its ``label`` when every node has one (networkx's convention), else its ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from dnc_qa.graphs.errors import GraphFormatError, line_col
from dnc_qa.graphs.formats.nodelink import DEFAULT_LABEL_KEYS
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import LABEL, GraphBuilder

_AT = re.compile(r"\s*at \((\d+), (\d+)\)\s*$")


def read_gml(
    path: Path,
    *,
    label_keys: Sequence[str] = DEFAULT_LABEL_KEYS,
    default_label: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """Read a GML file into the canonical graph (``directed 0`` gives two edges per edge)."""
    text = read_text(path, limits)
    if not text.strip():
        raise GraphFormatError("empty file (no GML graph)", path=path)
    try:
        raw = nx.parse_gml(text, label=None)
    except (nx.NetworkXError, ValueError, KeyError, TypeError, RecursionError) as exc:
        message = str(exc) or type(exc).__name__
        match = _AT.search(message)
        place = line_col(int(match[1]), int(match[2])) if match else None
        message = _AT.sub("", message)
        m = re.match(r"(edge #\d+)", message)
        if m and place is None:
            place = m[1]
        raise GraphFormatError(f"invalid GML: {message}", path=path, place=place) from None
    if raw.number_of_nodes() > limits.max_nodes:
        raise GraphFormatError(f"graph has more than {limits.max_nodes:,} nodes "
                               "(raise it with --max-nodes)", path=path)
    use_label = raw.number_of_nodes() > 0 and all("label" in d for _, d in raw.nodes(data=True))
    names: dict[object, str] = {}
    builder = GraphBuilder(path, limits=limits)
    builder.graph.graph.update(raw.graph)
    for i, (n, d) in enumerate(raw.nodes(data=True)):
        name = d["label"] if use_label else n
        rest = {k: v for k, v in d.items() if not (use_label and k == "label")}
        names[n] = builder.add_node(name, rest, f"node #{i}")
    edges = raw.edges(data=True, keys=True) if raw.is_multigraph() else (
        (u, v, 0, d) for u, v, d in raw.edges(data=True))
    for i, (u, v, _, d) in enumerate(edges):
        key = next((k for k in label_keys if k in d), None)
        if key is None and default_label is None:
            raise GraphFormatError(
                f"edge has no label (looked for {', '.join(label_keys)}; "
                "pass --label-key or --default-label)", path=path, place=f"edge #{i}")
        label = default_label if key is None else d[key]
        rest = {a: b for a, b in d.items() if a not in (key, LABEL)}
        builder.add_edge(names[u], names[v], label, rest, f"edge #{i}",
                         undirected=not raw.is_directed())
    return builder.build()


def gml_text(graph: nx.MultiDiGraph) -> str:
    """``graph`` as GML (networkx numbers the nodes and puts each name in ``label``)."""
    clean = nx.MultiDiGraph()
    clean.graph.update({k: v for k, v in graph.graph.items() if isinstance(v, (str, int, float))})
    for n, d in graph.nodes(data=True):
        clean.add_node(n, **{k: v for k, v in d.items()
                             if isinstance(v, (str, int, float)) and k not in ("label", "id")})
    for u, v, k, d in graph.edges(keys=True, data=True):
        clean.add_edge(u, v, key=k, **{a: b for a, b in d.items()
                                       if isinstance(b, (str, int, float))})
    return "\n".join(nx.generate_gml(clean)) + "\n"
