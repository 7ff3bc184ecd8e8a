"""Direction-of-travel labels for transit edges ("Central E"), as on the paper's London map.

Coordinates are projected to a local plane: ``east = longitude * cos(mean latitude)``,
``north = latitude`` (planar ``x``/``y`` are used as they are).

Modes:

* ``"line"`` (default): each line gets one compass *axis*, the one (N-S or E-W) closest to the
  principal axis (PCA) of its stations.  An edge is labelled by the sign of its displacement
  along that axis (``E``/``W`` or ``N``/``S``), so a ride along one line keeps one label, as the
  Underground's own "eastbound"/"northbound" do.  A displacement of exactly zero along the axis
  falls back to the other axis.
* ``"edge"``: each edge gets the compass point (N, E, S, W) of its own displacement.

Fallback when a line has a station without coordinates: the line is oriented from its *first
terminus* (the first station, in input order, with one neighbour on that line; for a loop, its
first station).  Moving to a station farther (in hops along the line) from it is ``out``, nearer
is ``in``; between two stations at the same distance (odd loops), towards the later station in
input order is ``out``.

Node-link maps (:mod:`dnc_qa.graphs.formats.linemap`) name a line without coordinates by its
terminals instead (:func:`terminal_directions`): ``"Red towards Zed"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import networkx as nx
import numpy as np

Mode = Literal["line", "edge"]
Point = tuple[float, float]


def project(points: Mapping[str, tuple[float, float]], geographic: bool) -> dict[str, Point]:
    """``{name: (east, north)}`` from ``(latitude, longitude)`` or from planar ``(x, y)``."""
    if not geographic:
        return {k: (float(x), float(y)) for k, (x, y) in points.items()}
    if not points:
        return {}
    lat0 = math.radians(sum(lat for lat, _ in points.values()) / len(points))
    return {k: (lon * math.cos(lat0), lat) for k, (lat, lon) in points.items()}


def line_axis(points: Sequence[Point]) -> Literal["EW", "NS"]:
    """The compass axis nearest the principal axis of ``points`` (E-W on ties)."""
    arr = np.asarray(points, dtype=float)
    if len(arr) < 2:
        return "EW"
    cov = np.cov((arr - arr.mean(0)).T)
    values, vectors = np.linalg.eigh(cov)
    ax = vectors[:, int(np.argmax(values))]
    return "EW" if abs(ax[0]) >= abs(ax[1]) else "NS"


def compass(d_east: float, d_north: float) -> str:
    """The compass point (N, E, S, W) of a displacement (E-W on ties)."""
    if abs(d_east) >= abs(d_north):
        return "E" if d_east > 0 else "W"
    return "N" if d_north > 0 else "S"


def along(d_east: float, d_north: float, axis: str) -> str:
    """The direction of a displacement along ``axis``; zero along it falls back to the other."""
    if axis == "EW" and d_east != 0:
        return "E" if d_east > 0 else "W"
    if axis == "NS" and d_north != 0:
        return "N" if d_north > 0 else "S"
    return compass(d_east, d_north)


def fallback_directions(
    pairs: Sequence[tuple[str, str]], order: Mapping[str, int]
) -> dict[tuple[str, str], str]:
    """``{(u, v): "out" | "in", ...}`` for both orientations of one line's ``pairs``."""
    g = nx.Graph()
    g.add_edges_from(pairs)
    out: dict[tuple[str, str], str] = {}
    for comp in nx.connected_components(g):
        nodes = sorted(comp, key=order.__getitem__)
        ends = [n for n in nodes if g.degree(n) == 1]
        root = ends[0] if ends else nodes[0]
        dist = nx.single_source_shortest_path_length(g.subgraph(comp), root)
        for u, v in g.subgraph(comp).edges():
            key_u, key_v = (dist[u], order[u]), (dist[v], order[v])
            far = key_v > key_u
            out[(u, v)] = "out" if far else "in"
            out[(v, u)] = "in" if far else "out"
    return out


class LineShapeError(ValueError):
    """A line whose directions cannot be named by its terminals (it branches, or is a loop).

    Attributes:
        loop: ``True`` for a loop, ``False`` for a branch.
    """

    def __init__(self, message: str, *, loop: bool) -> None:
        super().__init__(message)
        self.loop = loop


def terminal_directions(
    pairs: Sequence[tuple[str, str]], order: Mapping[str, int]
) -> dict[tuple[str, str], str]:
    """``{(u, v): terminal, ...}``: the end of the line each move heads towards.

    Each connected stretch of the line (``pairs``) must be a simple path; a move from ``u`` to
    ``v`` heads towards the terminal that ``v`` is nearer to (in hops).  A stretch that
    branches or closes into a loop has no two terminals and raises :class:`LineShapeError`
    naming the first such station in ``order``.
    """
    g = nx.Graph()
    g.add_edges_from(pairs)
    out: dict[tuple[str, str], str] = {}
    for comp in nx.connected_components(g):
        sub = g.subgraph(comp)
        nodes = sorted(comp, key=order.__getitem__)
        branch = next((n for n in nodes if sub.degree(n) > 2), None)
        if branch is not None:
            raise LineShapeError(f"branches at {branch!r} ({sub.degree(branch)} neighbours on "
                                 "it)", loop=False)
        ends = [n for n in nodes if sub.degree(n) == 1]
        if not ends:
            raise LineShapeError(f"is a loop (through {nodes[0]!r})", loop=True)
        first, last = ends
        hops = nx.single_source_shortest_path_length(sub, last)
        for u, v in sub.edges():
            towards_last = hops[v] < hops[u]
            out[(u, v)] = last if towards_last else first
            out[(v, u)] = first if towards_last else last
    return out


def label_line(
    pairs: Sequence[tuple[str, str]],
    positions: Mapping[str, Point] | None,
    order: Mapping[str, int],
    mode: Mode = "line",
) -> dict[tuple[str, str], str]:
    """Direction for both orientations of every undirected pair on one line.

    ``positions`` must hold every station of the line, else the fallback is used.
    """
    stations = {s for pair in pairs for s in pair}
    if positions is None or not stations <= positions.keys():
        return fallback_directions(pairs, order)
    axis = line_axis([positions[s] for s in sorted(stations, key=order.__getitem__)])
    out: dict[tuple[str, str], str] = {}
    for u, v in pairs:
        de = positions[v][0] - positions[u][0]
        dn = positions[v][1] - positions[u][1]
        fwd = along(de, dn, axis) if mode == "line" else compass(de, dn)
        back = along(-de, -dn, axis) if mode == "line" else compass(-de, -dn)
        out[(u, v)], out[(v, u)] = fwd, back
    return out


def short_line_name(name: str) -> str:
    """``"Central Line"`` -> ``"Central"`` (a trailing " Line"/" line" is dropped)."""
    stripped = name.strip()
    for suffix in (" Line", " line"):
        if stripped.endswith(suffix) and len(stripped) > len(suffix):
            return stripped[: -len(suffix)]
    return stripped
