"""Seeded London-Underground-style transit maps.

Each line is a straight chord across the unit square through a point near the centre, at an
angle spread evenly over half a turn (plus jitter), so the lines are far from parallel.  Where
two chords cross, one *interchange* station serves both lines; each line also gets regular
stations spaced along it (with a little sideways jitter).  Stations get invented names; the map
is placed at fictional latitude/longitude so it writes as the public three-CSV transit layout,
and edges are labelled ``"<line> <direction>"`` exactly as the transit reader labels them
(:func:`dnc_qa.graphs.formats.transit.build_transit_graph`), so generate -> write -> read is the
identity.  Maps that come out disconnected are redrawn from the same generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.directions import Mode
from dnc_qa.graphs.formats.transit import (
    TABLES,
    Connection,
    Line,
    Station,
    TransitTables,
    build_transit_graph,
)
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.graphs.names import LINE_NAMES, station_names
from dnc_qa.graphs.rng import Seed, as_rng


@dataclass(frozen=True)
class TransitSpec:
    """Parameters of :func:`transit_map`.

    Attributes:
        lines: number of lines (at most ``len(LINE_NAMES)``).
        stations_per_line: inclusive range of regular (non-interchange) stations per line.
        min_gap: smallest distance between consecutive stations on a line (unit square).
        jitter: sideways jitter of regular stations.
        centre: fictional (latitude, longitude) of the map centre; ``span`` its height in degrees.
    """

    lines: int = 6
    stations_per_line: tuple[int, int] = (4, 7)
    min_gap: float = 0.045
    jitter: float = 0.008
    centre: tuple[float, float] = (52.0, -1.0)
    span: float = 0.12


def _chord(rng: np.random.Generator, angle: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A line ``p + t d`` through a point near the centre, clipped to [0.04, 0.96]^2."""
    p = np.array([0.5, 0.5]) + rng.uniform(-0.22, 0.22, size=2)
    d = np.array([math.cos(angle), math.sin(angle)])
    lo, hi = -np.inf, np.inf
    for axis in range(2):
        if abs(d[axis]) > 1e-9:
            a, b = (0.04 - p[axis]) / d[axis], (0.96 - p[axis]) / d[axis]
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return p, d, float(lo), float(hi)


def _layout(spec: TransitSpec, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Per line, its station points in order; interchange points are shared objects."""
    base = rng.uniform(0, math.pi)
    chords = [_chord(rng, base + i * math.pi / spec.lines + rng.uniform(-0.2, 0.2))
              for i in range(spec.lines)]
    stops: list[list[tuple[float, np.ndarray]]] = [[] for _ in chords]
    for i in range(len(chords)):
        for j in range(i + 1, len(chords)):
            (p, d, lo, hi), (q, e, lo2, hi2) = chords[i], chords[j]
            m = np.array([d, -e]).T
            if abs(np.linalg.det(m)) < 1e-6:
                continue
            t, s = np.linalg.solve(m, q - p)
            if lo <= t <= hi and lo2 <= s <= hi2:
                point = p + t * d
                stops[i].append((float(t), point))
                stops[j].append((float(s), point))
    for i, (p, d, lo, hi) in enumerate(chords):
        n = int(rng.integers(spec.stations_per_line[0], spec.stations_per_line[1] + 1))
        normal = np.array([-d[1], d[0]])
        for t in np.linspace(lo, hi, n) + rng.uniform(-0.02, 0.02, size=n):
            t = float(np.clip(t, lo, hi))
            if all(abs(t - t2) >= spec.min_gap for t2, _ in stops[i]):
                stops[i].append((t, p + t * d + normal * rng.uniform(-spec.jitter, spec.jitter)))
    return [[pt for _, pt in sorted(s, key=lambda x: x[0])] for s in stops]


def transit_tables(spec: TransitSpec = TransitSpec(), seed: Seed = None) -> TransitTables:
    """The three tables of a connected random map (see module docstring)."""
    if not 2 <= spec.lines <= len(LINE_NAMES):
        raise DncQaError(f"lines must be in 2..{len(LINE_NAMES)}, not {spec.lines}")
    rng = as_rng(seed)
    for _ in range(200):
        layout = _layout(spec, rng)
        ids: dict[int, int] = {}
        for line in layout:
            for pt in line:
                ids.setdefault(id(pt), len(ids))
        g = nx.Graph()
        g.add_nodes_from(range(len(ids)))
        for line in layout:
            g.add_edges_from((ids[id(a)], ids[id(b)]) for a, b in zip(line, line[1:], strict=False))
        if nx.is_connected(g):
            break
    else:  # pragma: no cover - vanishingly unlikely with >= 2 lines through the centre
        raise DncQaError("could not draw a connected transit map; change the seed or spec")
    points = {ids[id(pt)]: pt for line in layout for pt in line}
    names = station_names(len(points), rng)
    lat0, lon0 = spec.centre
    scale_lon = spec.span / math.cos(math.radians(lat0))
    path = Path("<generated>")
    stations = [
        Station(str(k + 1), names[k], round(float(lat0 + (points[k][1] - 0.5) * spec.span), 5),
                round(float(lon0 + (points[k][0] - 0.5) * scale_lon), 5), f"station {k + 1}")
        for k in range(len(points))
    ]
    lines = [Line(str(i + 1), f"{LINE_NAMES[i]} Line", f"line {i + 1}")
             for i in range(spec.lines)]
    conns = []
    for i, line in enumerate(layout):
        for a, b in zip(line, line[1:], strict=False):
            minutes = max(1, round(float(np.linalg.norm(a - b)) * 20))
            conns.append(Connection(str(ids[id(a)] + 1), str(ids[id(b)] + 1), str(i + 1),
                                    float(minutes), f"line {i + 1}"))
    return TransitTables(stations, lines, conns, {t: path for t in TABLES})


def transit_map(
    spec: TransitSpec = TransitSpec(), seed: Seed = None, *, directions: Mode = "line"
) -> nx.MultiDiGraph:
    """A connected random transit map as a canonical graph (labels like ``"Amber E"``)."""
    return build_transit_graph(transit_tables(spec, seed), directions=directions)


def lesson_map(lesson: Lesson, seed: Seed = None, *, tries: int = 200) -> nx.MultiDiGraph:
    """A transit map for a curriculum ``lesson`` of transit maps: ``lesson.lines`` lines
    (drawn uniformly), 2-5 regular stations per line, redrawn until the station count lies
    in ``lesson.nodes``.

    Edge labels are ``"<line> <direction>"`` as on every map ``dncqa ingest`` reads, so a
    model trained on these sees the structure the application's maps have: each label runs
    along one line in one direction.
    """
    rng = as_rng(seed)
    lo, hi = lesson.lines
    if not 2 <= lo <= hi <= len(LINE_NAMES):
        raise DncQaError(f"a transit lesson needs 2..{len(LINE_NAMES)} lines, not {lesson.lines}")
    for _ in range(tries):
        lines = int(rng.integers(lo, hi + 1))
        per_line = max(1, round(lesson.nodes[1] / lines) - 1)
        spec = TransitSpec(lines=lines, stations_per_line=(max(1, per_line - 2), per_line))
        graph = transit_map(spec, rng)
        if lesson.nodes[0] <= graph.number_of_nodes() <= lesson.nodes[1]:
            return graph
    raise DncQaError(f"no transit map of {lesson.nodes} stations on {lesson.lines} lines "
                     f"in {tries} tries")
