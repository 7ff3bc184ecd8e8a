"""Transit maps: a folder of three CSVs (or the same tables as one JSON object).

* ``[prefix.]stations.csv``: ``id``, ``name``, optional ``latitude``/``longitude`` (NULL allowed);
* ``[prefix.]lines.csv``: ``line`` (or ``id``), ``name``;
* ``[prefix.]connections.csv``: ``station1``, ``station2``, ``line``, optional ``time``.

This is the common public London Underground layout (one row per line serving an adjacent
pair).  Nodes are station *names* (which must be unique); every connection becomes two directed
edges labelled ``"<line> <direction>"`` (e.g. ``"Central E"``; see
:mod:`dnc_qa.graphs.directions`) with attributes ``line``, ``direction`` and ``time``.
The JSON variant is ``{"stations": [...], "lines": [...], "connections": [...]}`` with the same
field names (the layout of ``london.json`` in nicola/tubemaps).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx

from dnc_qa.graphs.directions import Mode, label_line, project, short_line_name
from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.formats.csvutil import NULLS, Row, parse_float, read_csv
from dnc_qa.graphs.formats.jsonpos import Place
from dnc_qa.graphs.formats.nodelink import load_json
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits
from dnc_qa.graphs.model import GraphBuilder

TABLES = ("stations", "lines", "connections")


class Station(NamedTuple):
    id: str
    name: str
    latitude: float | None
    longitude: float | None
    place: str | Place


class Line(NamedTuple):
    id: str
    name: str
    place: str | Place


class Connection(NamedTuple):
    station1: str
    station2: str
    line: str
    time: float | None
    place: str | Place


class TransitTables(NamedTuple):
    """The three tables of a transit map, each record tagged with its place for errors."""

    stations: list[Station]
    lines: list[Line]
    connections: list[Connection]
    files: dict[str, Path]


def find_tables(folder: Path) -> dict[str, Path]:
    """``{"stations": path, ...}``: the three CSVs in ``folder`` (any common prefix)."""
    if not folder.is_dir():
        raise GraphFormatError("no such folder", path=folder)
    found: dict[str, Path] = {}
    for table in TABLES:
        hits = sorted(folder.glob(f"*{table}.csv"))
        hits = [h for h in hits if h.name == f"{table}.csv" or h.name.endswith(f".{table}.csv")]
        if not hits:
            raise GraphFormatError(
                f"transit folder has no {table}.csv (expects stations.csv, lines.csv and "
                "connections.csv, optionally with a common prefix such as london.)", path=folder)
        if len(hits) > 1:
            raise GraphFormatError(
                f"transit folder has several {table} tables: {', '.join(h.name for h in hits)}",
                path=folder)
        found[table] = hits[0]
    return found


def _field(row: Row, *names: str) -> str:
    return next((row.fields[n] for n in names if n in row.fields), "")


def _required(value: str, what: str, path: Path, place: str) -> str:
    if value in NULLS:
        raise GraphFormatError(f"{what} is empty", path=path, place=place)
    return value


def read_transit_tables(folder: Path, limits: Limits = DEFAULT_LIMITS) -> TransitTables:
    """Parse the three CSVs of a transit folder (no cross-checks yet)."""
    files = find_tables(folder)
    st = read_csv(files["stations"], ("id", "name"), limits)
    stations = []
    for row in st.rows:
        lat = parse_float(row, "latitude", st.path)
        lon = parse_float(row, "longitude", st.path)
        if (lat is None) != (lon is None):
            raise GraphFormatError("latitude and longitude must both be given or both be empty",
                                   path=st.path, place=row.place)
        if lat is not None and not -90 <= lat <= 90:
            raise GraphFormatError(f"latitude {lat} is outside -90..90", path=st.path,
                                   place=row.place)
        stations.append(Station(_required(row.fields["id"], "station id", st.path, row.place),
                                _required(row.fields["name"], "station name", st.path, row.place),
                                lat, lon, f"{st.path.name} {row.place}"))
    ln = read_csv(files["lines"], ("name",), limits)
    if "line" not in ln.header and "id" not in ln.header:
        raise GraphFormatError("header lacks the line id column (line or id)", path=ln.path,
                               place="line 1")
    lines = [Line(_required(_field(r, "line", "id"), "line id", ln.path, r.place),
                  _required(r.fields["name"], "line name", ln.path, r.place),
                  f"{ln.path.name} {r.place}") for r in ln.rows]
    cn = read_csv(files["connections"], ("station1", "station2", "line"), limits)
    conns = [Connection(_required(r.fields["station1"], "station1", cn.path, r.place),
                        _required(r.fields["station2"], "station2", cn.path, r.place),
                        _required(r.fields["line"], "line", cn.path, r.place),
                        parse_float(r, "time", cn.path), f"{cn.path.name} {r.place}")
             for r in cn.rows]
    return TransitTables(stations, lines, conns, files)


def is_transit_json(data: Any) -> bool:
    """Whether parsed JSON looks like the transit variant rather than node-link."""
    return isinstance(data, Mapping) and "nodes" not in data and all(t in data for t in TABLES)


def read_transit_json_tables(
    path: Path, limits: Limits = DEFAULT_LIMITS, loaded: tuple[str, Any] | None = None
) -> TransitTables:
    """Parse the JSON variant ``{"stations", "lines", "connections"}`` (``loaded``: the file's
    text and parsed value when the caller has them already)."""
    text, data = loaded if loaded is not None else load_json(path, limits)

    def fail(reason: str, *p: str | int) -> GraphFormatError:
        return GraphFormatError(reason, path=path, place=str(Place(text, p)))

    if not isinstance(data, Mapping) or not all(isinstance(data.get(t), list) for t in TABLES):
        raise fail("expected an object with lists 'stations', 'lines' and 'connections'")

    def get(table: str, i: int, rec: Any, *keys: str, required: bool = True) -> str:
        if not isinstance(rec, Mapping):
            raise fail("expected a JSON object", table, i)
        for k in keys:
            if k in rec and rec[k] is not None and str(rec[k]) not in NULLS:
                return str(rec[k])
        if required:
            raise fail(f"missing {keys[0]!r}", table, i)
        return ""

    def num(table: str, i: int, rec: Any, key: str) -> float | None:
        raw = get(table, i, rec, key, required=False)
        if not raw:
            return None
        try:
            return float(raw)
        except ValueError:
            raise fail(f"{key!r} must be a number, not {raw!r}", table, i, key) from None

    stations = [Station(get("stations", i, r, "id"), get("stations", i, r, "name"),
                        num("stations", i, r, "latitude"), num("stations", i, r, "longitude"),
                        Place(text, ("stations", i)))
                for i, r in enumerate(data["stations"])]
    lines = [Line(get("lines", i, r, "line", "id"), get("lines", i, r, "name"),
                  Place(text, ("lines", i))) for i, r in enumerate(data["lines"])]
    conns = [Connection(get("connections", i, r, "station1"),
                        get("connections", i, r, "station2"),
                        get("connections", i, r, "line"), num("connections", i, r, "time"),
                        Place(text, ("connections", i)))
             for i, r in enumerate(data["connections"])]
    return TransitTables(stations, lines, conns, {t: path for t in TABLES})


def build_transit_graph(
    tables: TransitTables,
    *,
    directions: Mode = "line",
    strip_line_suffix: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> nx.MultiDiGraph:
    """Cross-check the tables and build the canonical graph (labels ``"<line> <dir>"``)."""
    spath, lpath, cpath = (tables.files[t] for t in TABLES)
    if len(tables.connections) * 2 > limits.max_edges:
        raise GraphFormatError(f"graph has over {limits.max_edges:,} edges "
                               "(raise it with --max-edges)", path=cpath)
    builder = GraphBuilder(spath, limits=limits)
    by_id: dict[str, Station] = {}
    names: dict[str, Station] = {}
    for s in tables.stations:
        if s.id in by_id:
            raise GraphFormatError(f"duplicate station id {s.id!r} (first at {by_id[s.id].place})",
                                   path=spath, place=s.place)
        if s.name in names:
            raise GraphFormatError(f"duplicate station name {s.name!r} (first at "
                                   f"{names[s.name].place}); names must be unique",
                                   path=spath, place=s.place)
        by_id[s.id], names[s.name] = s, s
        attrs: dict[str, Any] = {"station_id": s.id}
        if s.latitude is not None:
            attrs.update(latitude=s.latitude, longitude=s.longitude)
        builder.add_node(s.name, attrs, s.place)
    line_names: dict[str, str] = {}
    seen_names: dict[str, Line] = {}
    for ln in tables.lines:
        short = short_line_name(ln.name) if strip_line_suffix else ln.name.strip()
        if ln.id in line_names:
            raise GraphFormatError(f"duplicate line id {ln.id!r}", path=lpath, place=ln.place)
        if short in seen_names:
            raise GraphFormatError(f"duplicate line name {short!r} (first at "
                                   f"{seen_names[short].place})", path=lpath, place=ln.place)
        line_names[ln.id], seen_names[short] = short, ln
    per_line: dict[str, list[Connection]] = {}
    seen_pairs: dict[tuple[frozenset[str], str], str] = {}
    for c in tables.connections:
        for end in (c.station1, c.station2):
            if end not in by_id:
                raise GraphFormatError(f"station {end!r} is not in the stations table",
                                       path=cpath, place=c.place)
        if c.line not in line_names:
            raise GraphFormatError(f"line {c.line!r} is not in the lines table", path=cpath,
                                   place=c.place)
        if c.station1 == c.station2:
            raise GraphFormatError(f"station {c.station1!r} is connected to itself", path=cpath,
                                   place=c.place)
        key = (frozenset((c.station1, c.station2)), c.line)
        if key in seen_pairs:
            raise GraphFormatError(f"duplicate connection on line {line_names[c.line]!r} (first "
                                   f"at {seen_pairs[key]})", path=cpath, place=c.place)
        seen_pairs[key] = c.place
        per_line.setdefault(c.line, []).append(c)
    order = {s.name: i for i, s in enumerate(tables.stations)}
    geo = {s.name: (s.latitude, s.longitude) for s in tables.stations if s.latitude is not None}
    positions = project(geo, geographic=True)  # type: ignore[arg-type]
    for line_id, conns in per_line.items():
        short = line_names[line_id]
        pairs = [(by_id[c.station1].name, by_id[c.station2].name) for c in conns]
        dirs = label_line(pairs, positions, order, directions)
        for c, (u, v) in zip(conns, pairs, strict=True):
            for a, b in ((u, v), (v, u)):
                attrs = {"line": short, "direction": dirs[(a, b)]}
                if c.time is not None:
                    attrs["time"] = c.time
                builder.add_edge(a, b, f"{short} {dirs[(a, b)]}", attrs, c.place)
    graph = builder.build()
    graph.graph["kind"] = "transit"
    return graph


def read_transit(
    path: Path, *, directions: Mode = "line", strip_line_suffix: bool = True,
    limits: Limits = DEFAULT_LIMITS, loaded: tuple[str, Any] | None = None,
) -> nx.MultiDiGraph:
    """Read a transit folder (three CSVs) or transit JSON file into the canonical graph."""
    tables = (read_transit_json_tables(path, limits, loaded) if path.is_file()
              else read_transit_tables(path, limits))
    return build_transit_graph(tables, directions=directions,
                               strip_line_suffix=strip_line_suffix, limits=limits)


def _csv(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue()


def write_transit(graph: nx.MultiDiGraph, folder: Path, prefix: str = "") -> dict[str, Path]:
    """Write a transit graph (edges with ``line`` attributes) as the three-CSV folder.

    Station ids are 1.. in node order, line ids 1.. in order of first appearance; each
    undirected (pair, line) becomes one connection row.  Returns the written paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ids = {n: i + 1 for i, n in enumerate(graph.nodes)}
    lines: dict[str, int] = {}
    conns: list[tuple[int, int, int, object]] = []
    seen: set[tuple[frozenset[str], str]] = set()
    for u, v, d in graph.edges(data=True):
        if "line" not in d:
            raise GraphFormatError(f"edge {u!r} -> {v!r} has no 'line' attribute; "
                                   "only transit graphs can be written as a transit folder")
        line_id = lines.setdefault(d["line"], len(lines) + 1)
        key = (frozenset((u, v)), d["line"])
        if key not in seen:
            seen.add(key)
            conns.append((ids[u], ids[v], line_id, d.get("time", "")))
    stem = f"{prefix}." if prefix else ""
    paths = {t: folder / f"{stem}{t}.csv" for t in TABLES}
    paths["stations"].write_text(_csv(
        [("id", "name", "latitude", "longitude")]
        + [(ids[n], n, d.get("latitude", ""), d.get("longitude", ""))
           for n, d in graph.nodes(data=True)]), encoding="utf-8")
    paths["lines"].write_text(_csv([("line", "name")] + [(i, n) for n, i in lines.items()]),
                              encoding="utf-8")
    paths["connections"].write_text(_csv([("station1", "station2", "line", "time")] + conns),
                                    encoding="utf-8")
    return paths
