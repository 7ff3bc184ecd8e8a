"""Read any supported graph file into the canonical graph; write it back out.

==============  =============================  =====================================
format          recognised by                  notes
==============  =============================  =====================================
``node-link``   ``.json``                      networkx node-link ("links"/"edges");
                                               an undirected map labelled by ``line``
                                               gets directions (:mod:`.formats.linemap`)
``transit``     a folder; a ``.json`` object   three CSVs stations/lines/connections,
                with ``stations``/``lines``/   or the same tables as one JSON object
                ``connections``
``graphml``     ``.graphml``, ``.xml``         ``edgedefault`` honoured
``gml``         ``.gml``
``csv``         ``.csv``                       ``source,target,label[,weight]``
``text``        ``.txt``                       sentences read by :mod:`dnc_qa.kb.extract`
==============  =============================  =====================================

Every reader returns a :class:`networkx.MultiDiGraph` with ``str`` node names and a ``str``
``label`` on each edge (see :mod:`dnc_qa.graphs.model`) and raises
:class:`~dnc_qa.graphs.errors.GraphFormatError` for anything it cannot use.

:func:`read_graph` then normalises every node name and edge label once
(:func:`~dnc_qa.graphs.names.clean_name`: Unicode NFC, white space stripped and collapsed), so
``"Bank "`` and ``"Bank"`` are one name; two names of the file that become the same name are
refused, naming both (they would otherwise answer for each other).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from dnc_qa.graphs.directions import Mode
from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.formats.edgelist import edge_csv_text, read_edge_csv
from dnc_qa.graphs.formats.gml import gml_text, read_gml
from dnc_qa.graphs.formats.graphml import graphml_text, read_graphml
from dnc_qa.graphs.formats.linemap import direct_lines, is_line_map
from dnc_qa.graphs.formats.nodelink import (
    DEFAULT_LABEL_KEYS,
    graph_from_node_link,
    load_json,
    node_link_text,
)
from dnc_qa.graphs.formats.transit import is_transit_json, read_transit
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits
from dnc_qa.graphs.model import LABEL
from dnc_qa.graphs.names import clean_name

READ_FORMATS = ("node-link", "transit", "graphml", "gml", "csv", "text")
WRITE_FORMATS = ("node-link", "graphml", "gml", "csv", "pyg")
_BY_SUFFIX = {".json": "node-link", ".graphml": "graphml", ".xml": "graphml", ".gml": "gml",
              ".csv": "csv", ".txt": "text"}
_ALIASES = {"json": "node-link", "nodelink": "node-link", "node_link": "node-link",
            "edgelist": "csv", "edge-list": "csv", "transit-csv": "transit"}


@dataclass(frozen=True)
class ReadOptions:
    """Reader settings shared by every format.

    Attributes:
        label_keys: edge attributes tried, in order, for the label (node-link, GraphML, GML).
        default_label: label for edges with none of ``label_keys`` (``None``: such an edge is an
            error).
        undirected: CSV edge lists only: every row is an undirected edge.
        directions: transit maps: ``"line"`` or ``"edge"`` (see :mod:`dnc_qa.graphs.directions`).
        limits: size limits.
    """

    label_keys: Sequence[str] = DEFAULT_LABEL_KEYS
    default_label: str | None = None
    undirected: bool = False
    directions: Mode = "line"
    limits: Limits = field(default_factory=Limits)


def normalise_format(name: str) -> str:
    """Canonical format name; unknown names raise :class:`GraphFormatError`."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in READ_FORMATS:
        raise GraphFormatError(f"unknown format {name!r}; known: {', '.join(READ_FORMATS)}")
    return key


def detect_format(path: Path) -> str:
    """Guess the format from the path: a folder is ``transit``, else the file extension.

    A ``.json`` file is reported as ``node-link``; :func:`read_graph` reads it as ``transit``
    when its top-level object has ``stations``, ``lines`` and ``connections`` and no ``nodes``.
    """
    if path.is_dir():
        return "transit"
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        if not path.exists():
            raise GraphFormatError("no such file or folder", path=path)
        raise GraphFormatError(
            f"unknown format (extension {path.suffix or 'none'!r}); pass --format, one of "
            f"{', '.join(READ_FORMATS)}", path=path)
    return fmt


def read_graph(
    path: str | os.PathLike[str],
    format: str | None = None,
    options: ReadOptions | None = None,
) -> nx.MultiDiGraph:
    """Read ``path`` (file or transit folder) into the canonical :class:`~nx.MultiDiGraph`.

    Args:
        path: the file, or a transit folder.
        format: one of :data:`READ_FORMATS` (or an alias); ``None`` detects it.
        options: reader settings (:class:`ReadOptions`).
    """
    graph = _read_graph(Path(path), format, options or ReadOptions())
    return normalise_names(graph, Path(path))


def _clean_names(names, what: str, path: Path | None) -> dict[str, str]:
    """``{clean form: name}`` for distinct ``names``; two names with one clean form, or a
    name that is empty once cleaned, raise :class:`GraphFormatError` (``what``: "node name",
    "edge label")."""
    out: dict[str, str] = {}
    for name in names:
        clean = clean_name(name)
        if clean in out:
            raise GraphFormatError(
                f"{what}s {out[clean]!r} and {name!r} are the same {what.split()[-1]} once "
                "white space and Unicode forms are normalised; rename one of them", path=path)
        if not clean:
            raise GraphFormatError(f"{what} {name!r} is empty once white space is removed",
                                   path=path)
        out[clean] = name
    return out


def normalise_names(graph: nx.MultiDiGraph, path: Path | None = None) -> nx.MultiDiGraph:
    """``graph`` with every node name and edge label in :func:`clean_name` form (the same
    object when nothing changes); two names that become equal raise :class:`GraphFormatError`
    naming both."""
    nodes = _clean_names(graph.nodes, "node name", path)
    labels = _clean_names(dict.fromkeys(k for _, _, k in graph.edges(keys=True)),
                          "edge label", path)
    if all(c == n for c, n in nodes.items()) and all(c == k for c, k in labels.items()):
        return graph
    rename = {n: c for c, n in nodes.items()}
    out = nx.MultiDiGraph()
    out.graph.update(graph.graph)
    out.add_nodes_from((rename[n], d) for n, d in graph.nodes(data=True))
    for u, v, k, d in graph.edges(keys=True, data=True):
        label = clean_name(k)
        out.add_edge(rename[u], rename[v], key=label, **{**d, LABEL: label})
    return out


def _read_graph(p: Path, format: str | None, opts: ReadOptions) -> nx.MultiDiGraph:
    fmt = normalise_format(format) if format else detect_format(p)
    if fmt != "transit" and p.is_dir():
        raise GraphFormatError(f"is a folder, not a {fmt} file", path=p)
    if not p.exists():
        raise GraphFormatError("no such file or folder", path=p)
    kw = {"label_keys": tuple(opts.label_keys), "default_label": opts.default_label,
          "limits": opts.limits}
    if fmt == "node-link":
        loaded = load_json(p, opts.limits)
        if format is None and is_transit_json(loaded[1]):
            return read_transit(p, directions=opts.directions, limits=opts.limits, loaded=loaded)
        graph = graph_from_node_link(loaded[1], path=p, text=loaded[0], **kw)
        if is_line_map(loaded[1], opts.label_keys):
            return direct_lines(graph, path=p, directions=opts.directions, limits=opts.limits)
        return graph
    if fmt == "graphml":
        return read_graphml(p, **kw)
    if fmt == "transit" and p.is_file():
        return read_transit(p, directions=opts.directions, limits=opts.limits)
    if fmt == "gml":
        return read_gml(p, **kw)
    if fmt == "text":
        from dnc_qa.kb.textkb import read_text_kb  # spaCy loads only when needed

        # Only the graph comes back, so a sentence that cannot be read is refused, never
        # dropped unseen; ``dncqa ingest`` skips such sentences and lists them.
        return read_text_kb(p, strict=True, limits=opts.limits,
                            strict_hint="rephrase them; `dncqa ingest` stores the rest and "
                            "lists them").graph
    if fmt == "csv":
        return read_edge_csv(p, undirected=opts.undirected, limits=opts.limits)
    return read_transit(p, directions=opts.directions, limits=opts.limits)


_WRITERS: dict[str, Callable[[nx.MultiDiGraph], str]] = {
    "node-link": node_link_text, "graphml": graphml_text, "gml": gml_text, "csv": edge_csv_text,
}


def write_graph(
    graph: nx.MultiDiGraph, path: str | os.PathLike[str], format: str | None = None
) -> str:
    """Write ``graph`` to ``path`` (format from ``format`` or the extension); returns the format.

    Node-link JSON is the lossless canonical output; CSV drops isolated nodes and graph
    attributes, GraphML/GML drop attribute values that are not strings or numbers; ``pyg``
    (``.pt``) is :func:`dnc_qa.graphs.pyg.write_pyg` (names, labels and positions only).
    """
    p = Path(path)
    if format:
        fmt = _ALIASES.get(format.lower(), format.lower())
        fmt = "pyg" if fmt in ("torch_geometric", "torch-geometric") else fmt
    else:
        fmt = "pyg" if p.suffix.lower() == ".pt" else _BY_SUFFIX.get(p.suffix.lower(), "")
    if fmt == "pyg":  # binary, and needs torch: imported only here
        from dnc_qa.graphs.pyg import write_pyg

        write_pyg(graph, p)
        return fmt
    if fmt not in _WRITERS:
        raise GraphFormatError(
            f"cannot write format {fmt or p.suffix or 'unknown'!r}; writable: "
            f"{', '.join(WRITE_FORMATS)} (by extension .json, .graphml, .gml, .csv, .pt)",
            path=p)
    p.write_text(_WRITERS[fmt](graph), encoding="utf-8")
    return fmt


def graph_to_json(graph: nx.MultiDiGraph) -> str:
    """The canonical node-link JSON text of ``graph`` (for hashing / comparison)."""
    return node_link_text(graph)


__all__ = ["READ_FORMATS", "WRITE_FORMATS", "ReadOptions", "detect_format", "read_graph",
           "write_graph", "graph_to_json", "normalise_format", "DEFAULT_LIMITS"]
