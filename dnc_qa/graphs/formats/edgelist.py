"""Edge-list CSV: a header ``source,target,label[,weight]`` then one edge per row.

Nodes are created from the endpoints.  Extra columns are kept as edge attributes (numbers
when they read as numbers); ``weight`` must be a number.  ``undirected=True`` turns every
row into two directed edges.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import networkx as nx

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.formats.csvutil import parse_float, read_csv
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits
from dnc_qa.graphs.model import LABEL, GraphBuilder

COLUMNS = ("source", "target", "label")


def read_edge_csv(
    path: Path, *, undirected: bool = False, limits: Limits = DEFAULT_LIMITS
) -> nx.MultiDiGraph:
    """Read an edge-list CSV into the canonical graph."""
    table = read_csv(path, COLUMNS, limits)
    if len(table.rows) * (2 if undirected else 1) > limits.max_edges:
        raise GraphFormatError(
            f"graph has over {limits.max_edges:,} edges (raise it with --max-edges)", path=path
        )
    builder = GraphBuilder(path, limits=limits, implicit_nodes=True)
    for row in table.rows:
        for column in COLUMNS:
            if not row.fields[column]:
                raise GraphFormatError(f"empty {column!r}", path=path, place=row.place)
        attrs: dict[str, object] = {
            k: _scalar(v) for k, v in row.fields.items()
            if k not in COLUMNS and k != "weight" and v != ""
        }
        if "weight" in row.fields:
            weight = parse_float(row, "weight", path)
            if weight is not None:
                attrs["weight"] = weight
        builder.add_edge(
            row.fields["source"], row.fields["target"], row.fields["label"], attrs, row.place,
            undirected=undirected,
        )
    return builder.build()


def _scalar(text: str) -> object:
    """An extra column's value: ``int`` or ``float`` when it reads as one, else the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def edge_csv_text(graph: nx.MultiDiGraph) -> str:
    """``graph`` as edge-list CSV; isolated nodes cannot be represented and are left out."""
    extra = sorted({a for *_, d in graph.edges(data=True) for a in d} - {LABEL, "weight"})
    has_weight = any("weight" in d for *_, d in graph.edges(data=True))
    header = ["source", "target", "label"] + (["weight"] if has_weight else []) + extra
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for u, v, k, d in graph.edges(keys=True, data=True):
        row = [u, v, k] + ([d.get("weight", "")] if has_weight else [])
        writer.writerow(row + [d.get(a, "") for a in extra])
    return out.getvalue()
