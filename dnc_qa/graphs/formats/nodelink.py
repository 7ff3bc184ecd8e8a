"""networkx node-link JSON: ``{"directed", "graph", "nodes": [{"id"}], "links"|"edges": [...]}``.

Reading accepts either ``"links"`` (networkx < 3.4, D3) or ``"edges"`` (networkx >= 3.4) and
honours ``"directed"`` (absent means directed).  The edge label is taken from the first key of
``label_keys`` present on the edge (default ``label``, ``line``, ``relation``, ``type``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from dnc_qa.graphs.errors import GraphFormatError, line_col
from dnc_qa.graphs.formats.jsonpos import Place
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import LABEL, GraphBuilder

DEFAULT_LABEL_KEYS: tuple[str, ...] = ("label", "line", "relation", "type")
_EDGE_SKIP = {"source", "target", "key"}


def load_json(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[str, Any]:
    """The file's text and parsed value; syntax errors name the line and column."""
    text = read_text(path, limits)
    if not text.strip():
        raise GraphFormatError("empty file (no JSON value)", path=path)
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphFormatError(
            f"invalid JSON: {exc.msg}", path=path, place=line_col(exc.lineno, exc.colno)
        ) from None
    except RecursionError:
        raise GraphFormatError("invalid JSON: nested too deeply", path=path) from None


def graph_from_node_link(
    data: Any,
    *,
    path: Path | None = None,
    text: str = "",
    label_keys: Sequence[str] = DEFAULT_LABEL_KEYS,
    default_label: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """Build the canonical graph from parsed node-link data (``text`` locates errors)."""

    def where(*p: str | int) -> Place:
        return Place(text, p)  # the position is found only if an error names it

    def fail(reason: str, *p: str | int) -> GraphFormatError:
        return GraphFormatError(reason, path=path, place=where(*p))

    if not isinstance(data, Mapping):
        raise fail(f"expected a JSON object at the top, found {type(data).__name__}")
    directed = data.get("directed", True)
    if not isinstance(directed, bool):
        raise fail(f"'directed' must be true or false, not {directed!r}", "directed")
    nodes = data.get("nodes")
    if nodes is None:
        raise fail("no 'nodes' list (is this a node-link JSON file?)")
    if not isinstance(nodes, list):
        raise fail("'nodes' must be a list", "nodes")
    if "links" in data and "edges" in data:
        raise fail("both 'links' and 'edges' are present; keep one", "edges")
    edge_key = "edges" if "edges" in data else "links"
    links = data.get(edge_key, [])
    if not isinstance(links, list):
        raise fail(f"'{edge_key}' must be a list", edge_key)
    if len(nodes) > limits.max_nodes:
        raise fail(f"graph has {len(nodes):,} nodes, over the limit of {limits.max_nodes:,} "
                   "(raise it with --max-nodes)", "nodes")
    if len(links) * (1 if directed else 2) > limits.max_edges:
        raise fail(f"graph has over {limits.max_edges:,} edges (raise it with --max-edges)",
                   edge_key)

    builder = GraphBuilder(path, limits=limits)
    attrs = data.get("graph", {})
    if isinstance(attrs, Mapping):
        builder.graph.graph.update(attrs)
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping):
            raise fail("each node must be a JSON object", "nodes", i)
        if "id" not in node:
            raise fail("node has no 'id'", "nodes", i, "id")
        rest = {k: v for k, v in node.items() if k != "id"}
        builder.add_node(node["id"], rest, where("nodes", i, "id"))
    for i, link in enumerate(links):
        if not isinstance(link, Mapping):
            raise fail("each edge must be a JSON object", edge_key, i)
        for end in ("source", "target"):
            if end not in link:
                raise fail(f"edge has no '{end}'", edge_key, i, end)
        key = next((k for k in label_keys if k in link), None)
        if key is None and default_label is None:
            raise fail(
                f"edge has no label (looked for {', '.join(label_keys)}; "
                "pass --label-key or --default-label)",
                edge_key,
                i,
            )
        label = default_label if key is None else link[key]
        rest = {k: v for k, v in link.items() if k not in _EDGE_SKIP and k != key and k != LABEL}
        builder.add_edge(
            link["source"], link["target"], label, rest, where(edge_key, i), undirected=not directed
        )
    return builder.build()


def read_node_link(
    path: Path,
    *,
    label_keys: Sequence[str] = DEFAULT_LABEL_KEYS,
    default_label: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """Read a node-link JSON file into the canonical graph."""
    text, data = load_json(path, limits)
    return graph_from_node_link(
        data, path=path, text=text, label_keys=label_keys, default_label=default_label,
        limits=limits,
    )


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def node_link_text(graph: nx.MultiDiGraph) -> str:
    """The canonical node-link JSON text (``"links"``, ``"directed": true``, one edge per label)."""
    data = {
        "directed": True,
        "multigraph": True,
        "graph": dict(graph.graph),
        "nodes": [{"id": n, **attrs} for n, attrs in graph.nodes(data=True)],
        "links": [
            {"source": u, "target": v, LABEL: k, **{a: b for a, b in d.items() if a != LABEL}}
            for u, v, k, d in graph.edges(keys=True, data=True)
        ],
    }
    return json.dumps(data, indent=1, ensure_ascii=False, default=_jsonable) + "\n"


def write_node_link(graph: nx.MultiDiGraph, path: Path) -> None:
    """Write ``graph`` as node-link JSON (UTF-8)."""
    path.write_text(node_link_text(graph), encoding="utf-8")
