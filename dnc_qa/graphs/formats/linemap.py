"""Transit maps written as plain node-link JSON: undirected edges named by their ``line``.

A node-link file is read as a line map when it is undirected (``"directed": false``) and every
edge takes its label from its ``line`` key (``{"source": "A", "target": "B", "line": "Red"}``).
Each edge then becomes two directed edges labelled with a direction of travel, as the
transit-folder reader labels them, with attributes ``line`` and ``direction``:

* a line whose every station has coordinates gets compass labels (``"Red N"`` / ``"Red S"``)
  from :func:`dnc_qa.graphs.directions.label_line` (``--directions line`` or ``edge``);
* a line with any station lacking coordinates is named by its terminals (``"Red towards
  Zed"`` / ``"Red towards Alder"``, :func:`dnc_qa.graphs.directions.terminal_directions`);
  such a line must be a simple path: one that branches or is a loop is refused, since
  "towards" would name no single station.

Coordinates are read from node keys, the first pair present of ``latitude``/``longitude``,
``lat``/``lon``, ``lat``/``lng`` (geographic), ``x``/``y`` or ``pos`` (``[x, y]``, planar). A
file may use geographic or planar coordinates, not both. A trailing " Line" is dropped from
line names, as in transit folders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from dnc_qa.graphs.directions import (
    LineShapeError,
    Mode,
    Point,
    label_line,
    project,
    short_line_name,
    terminal_directions,
)
from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits
from dnc_qa.graphs.model import LABEL, GraphBuilder

LINE_KEY = "line"
GEOGRAPHIC_KEYS: tuple[tuple[str, str], ...] = (
    ("latitude", "longitude"), ("lat", "lon"), ("lat", "lng"))
PLANAR_KEYS: tuple[tuple[str, str], ...] = (("x", "y"),)
POS_KEY = "pos"


def is_line_map(data: Any, label_keys: Sequence[str]) -> bool:
    """Whether parsed node-link ``data`` is an undirected map whose every edge is labelled by
    its ``line`` key (the first of ``label_keys`` present on it)."""
    if not isinstance(data, Mapping) or data.get("directed", True) is not False:
        return False
    links = data.get("edges", data.get("links"))
    if not isinstance(links, list) or not links:
        return False
    return all(isinstance(link, Mapping)
               and next((k for k in label_keys if k in link), None) == LINE_KEY
               for link in links)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def node_point(attrs: Mapping[str, Any]) -> tuple[bool, tuple[float, float]] | None:
    """``(geographic, (a, b))`` from a node's coordinate keys, ``None`` when it has none.

    Geographic points are ``(latitude, longitude)``, planar ones ``(x, y)``. A key pair that
    is half present, or a value that is not a finite number, raises :class:`ValueError`.
    """
    for geographic, pairs in ((True, GEOGRAPHIC_KEYS), (False, PLANAR_KEYS)):
        for a, b in pairs:
            if a in attrs or b in attrs:
                if a not in attrs or b not in attrs:
                    raise ValueError(f"has {a if a in attrs else b!r} without "
                                     f"{b if a in attrs else a!r}")
                point = _number(attrs[a]), _number(attrs[b])
                if point[0] is None or point[1] is None:
                    raise ValueError(f"{a!r} and {b!r} must be finite numbers")
                if geographic and not -90 <= point[0] <= 90:
                    raise ValueError(f"latitude {point[0]} is outside -90..90")
                return geographic, (point[0], point[1])
    if POS_KEY in attrs:
        pos = attrs[POS_KEY]
        values = [_number(v) for v in pos] if isinstance(pos, list) else []
        if len(values) != 2 or None in values:
            raise ValueError(f"'{POS_KEY}' must be a list of two finite numbers")
        return False, (values[0], values[1])  # type: ignore[return-value]
    return None


def station_positions(graph: nx.MultiDiGraph, path: Path | None = None) -> dict[str, Point]:
    """``{station: (east, north)}`` for the nodes of ``graph`` that have coordinates."""
    points: dict[str, tuple[float, float]] = {}
    kinds: dict[bool, str] = {}
    for node, attrs in graph.nodes(data=True):
        try:
            found = node_point(attrs)
        except ValueError as exc:
            raise GraphFormatError(f"node {node!r} {exc}", path=path) from None
        if found is None:
            continue
        geographic, point = found
        kinds.setdefault(geographic, node)
        points[node] = point
    if len(kinds) > 1:
        raise GraphFormatError(
            f"node {kinds[True]!r} has latitude/longitude but node {kinds[False]!r} has "
            "planar x/y or pos; use one kind of coordinates", path=path)
    return project(points, geographic=bool(kinds) and next(iter(kinds)))


def line_pairs(graph: nx.MultiDiGraph) -> dict[str, list[tuple[str, str]]]:
    """``{line: [(u, v), ...]}``: each undirected pair once, in edge order."""
    out: dict[str, list[tuple[str, str]]] = {}
    seen: set[tuple[frozenset[str], str]] = set()
    for u, v, label in graph.edges(keys=True):
        key = (frozenset((u, v)), label)
        if key not in seen:
            seen.add(key)
            out.setdefault(label, []).append((u, v))
    return out


def line_labels(
    pairs: Sequence[tuple[str, str]],
    positions: Mapping[str, Point],
    order: Mapping[str, int],
    mode: Mode,
) -> dict[tuple[str, str], str]:
    """``{(u, v): direction}`` for one line: compass points when every station has
    coordinates, else ``"towards <terminal>"``; :class:`LineShapeError` when neither works."""
    stations = {s for pair in pairs for s in pair}
    if stations <= positions.keys():
        return label_line(pairs, positions, order, mode)
    return {k: f"towards {end}" for k, end in terminal_directions(pairs, order).items()}


def direct_lines(
    graph: nx.MultiDiGraph,
    *,
    path: Path | None = None,
    directions: Mode = "line",
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """The line map ``graph`` (edges labelled by line name, both ways) with every edge
    labelled ``"<line> <direction>"`` instead (see the module docstring)."""
    for u, v, label in graph.edges(keys=True):
        if u == v:
            raise GraphFormatError(f"station {u!r} is connected to itself on line {label!r}",
                                   path=path)
    positions = station_positions(graph, path)
    order = {n: i for i, n in enumerate(graph.nodes)}
    builder = GraphBuilder(path, limits=limits)
    builder.graph.graph.update(graph.graph)
    for node, attrs in graph.nodes(data=True):
        builder.add_node(node, attrs)
    for label, pairs in line_pairs(graph).items():
        short = short_line_name(label)
        try:
            dirs = line_labels(pairs, positions, order, directions)
        except LineShapeError as exc:
            split = "split it into two line names" if exc.loop else \
                "give each branch its own line name"
            raise GraphFormatError(
                f"line {label!r} {exc} and not all its stations have coordinates, so its "
                "directions cannot be named by its terminals; give every station of the line "
                f"coordinates (x/y, lat/lon or pos) or {split}", path=path) from None
        for u, v in pairs:
            rest = {k: val for k, val in graph.edges[u, v, label].items() if k != LABEL}
            for a, b in ((u, v), (v, u)):
                attrs = {**rest, "line": short, "direction": dirs[(a, b)]}
                builder.add_edge(a, b, f"{short} {dirs[(a, b)]}", attrs)
    out = builder.build()
    out.graph["kind"] = "transit"
    return out
