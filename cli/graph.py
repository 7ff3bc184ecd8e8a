"""``dncqa graph ...``: inspect and convert graph files.

Every read error (bad syntax, dangling endpoints, duplicate ids, limits, unknown format...) is a
:class:`dnc_qa.graphs.errors.GraphFormatError`, which the root command prints as one line
(``error: FILE: PLACE: REASON``) before exiting with status 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.formats.nodelink import DEFAULT_LABEL_KEYS
from dnc_qa.graphs.io import READ_FORMATS, WRITE_FORMATS, ReadOptions, read_graph, write_graph
from dnc_qa.graphs.limits import MB, Limits
from dnc_qa.graphs.stats import graph_stats
from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable

app = typer.Typer(
    help=(
        "Inspect and convert graph files (node-link, GraphML, GML, CSV, transit).\n\n"
        "Every reader checks its input and names the place of the first problem.\n\n"
        "Examples:\n\n"
        "  dncqa graph info data/transit\n\n"
        "  dncqa graph convert data/transit transit.json\n\n"
        "  dncqa graph info transit.json --json\n\n"
        "Formats and options: docs/data.md."
    ),
    no_args_is_help=True,
)

FORMAT_HELP = f"Input format ({', '.join(READ_FORMATS)}); default: from the extension."


def _options(
    label_key: list[str] | None, default_label: str | None, undirected: bool, directions: str,
    max_mb: float, max_nodes: int, max_edges: int,
) -> ReadOptions:
    if directions not in ("line", "edge"):
        raise GraphFormatError(f"--directions must be 'line' or 'edge', not {directions!r}")
    if max_mb <= 0 or max_nodes <= 0 or max_edges <= 0:
        raise GraphFormatError("--max-mb, --max-nodes and --max-edges must be positive")
    return ReadOptions(
        label_keys=tuple(label_key) if label_key else DEFAULT_LABEL_KEYS,
        default_label=default_label, undirected=undirected, directions=directions,  # type: ignore[arg-type]
        limits=Limits(max_bytes=int(max_mb * MB), max_nodes=max_nodes, max_edges=max_edges),
    )


READING = "Reading the file"
"""The help panel of the readers' options (``graph info``, ``graph convert``, ``ingest``)."""
LABEL_KEY_HELP = ("Edge attribute holding the label; repeatable (default: label, line, "
                  "relation, type).")
DEFAULT_LABEL_HELP = "Label for edges that have none of the label keys."
UNDIRECTED_HELP = "CSV edge lists: each row is an undirected edge."
DIRECTIONS_HELP = ("Transit maps with coordinates: one compass axis per 'line' (Red N/S) or "
                   "a compass point per 'edge'.")

LabelKey = typer.Option(None, "--label-key", help=LABEL_KEY_HELP, metavar="KEY",
                        rich_help_panel=READING)
DefaultLabel = typer.Option(None, "--default-label", help=DEFAULT_LABEL_HELP,
                            rich_help_panel=READING)
Undirected = typer.Option(False, "--undirected", help=UNDIRECTED_HELP, rich_help_panel=READING)
Directions = typer.Option("line", "--directions", help=DIRECTIONS_HELP, rich_help_panel=READING)
MaxMb = typer.Option(50.0, "--max-mb", help="Refuse files larger than this (MB).",
                     rich_help_panel=READING)
MaxNodes = typer.Option(100_000, "--max-nodes", help="Refuse graphs with more nodes.",
                        rich_help_panel=READING)
MaxEdges = typer.Option(1_000_000, "--max-edges", help="Refuse graphs with more edges.",
                        rich_help_panel=READING)


@app.command("info")
def info(
    path: Path = typer.Argument(..., help="Graph file, or transit folder."),
    format: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    label_key: list[str] | None = LabelKey,
    default_label: str | None = DefaultLabel,
    undirected: bool = Undirected,
    directions: str = Directions,
    max_mb: float = MaxMb,
    max_nodes: int = MaxNodes,
    max_edges: int = MaxEdges,
) -> None:
    """Print a graph's size, labels, connectivity, diameter and degrees.

    Reads any supported file the way dncqa ingest does: an undirected
    node-link map whose edges are named by "line" gets directions of travel
    (Red N, or Red towards Zed without coordinates).

    Examples:

      dncqa graph info data/transit

      dncqa graph info dnc_qa/app/demo_data/family-tree.json --json

      dncqa graph info dnc_qa/app/demo_data/meridian.json --directions edge
    """
    opts = _options(label_key, default_label, undirected, directions, max_mb, max_nodes,
                    max_edges)
    graph = read_graph(path, format, opts)
    stats = graph_stats(graph)
    if as_json:
        typer.echo(dumps({"path": str(path), **stats.to_dict()}, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(printable(path, newlines=False)), show_header=False)
    shown = ", ".join(stats.labels[:12]) + (" ..." if len(stats.labels) > 12 else "")
    rows = [
        ("nodes", f"{stats.nodes:,}"),
        ("edges (directed)", f"{stats.edges:,}"),
        ("adjacent pairs", f"{stats.adjacent_pairs:,}"),
        ("labels", f"{len(stats.labels)}: {shown}"),
        ("connected", f"{stats.connected} (weak components {stats.weak_components}, "
                      f"strong components {stats.strong_components})"),
        ("diameter (undirected hops)", str(stats.diameter)),
        ("diameter (directed hops)", str(stats.directed_diameter)),
        ("out-degree", f"{stats.out_degree[0]}..{stats.out_degree[1]}"),
        ("in-degree", f"{stats.in_degree[0]}..{stats.in_degree[1]}"),
        ("self-loops", str(stats.self_loops)),
        ("ambiguous (node, label)", str(stats.ambiguous_out_labels)),
    ]
    for key, value in rows:
        table.add_row(key, escape(printable(value, newlines=False)))
    Console().print(table)


@app.command("convert")
def convert(
    source: Path = typer.Argument(..., help="Graph file, or transit folder."),
    target: Path = typer.Argument(None, help="Output file (.json, .graphml, .gml, .csv or "
                                  ".pt); or --out.", show_default=False),
    out: Path = typer.Option(None, "--out", "-o", help="Output file (instead of TARGET)."),
    format: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    to: str | None = typer.Option(
        None, "--to", help=f"Output format ({', '.join(WRITE_FORMATS)}); default: extension."),
    force: bool = typer.Option(False, "--force", help="Overwrite TARGET if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    label_key: list[str] | None = LabelKey,
    default_label: str | None = DefaultLabel,
    undirected: bool = Undirected,
    directions: str = Directions,
    max_mb: float = MaxMb,
    max_nodes: int = MaxNodes,
    max_edges: int = MaxEdges,
) -> None:
    """Read any supported graph and write it out (node-link JSON is lossless).

    The output format comes from TARGET's extension (.json, .graphml, .gml,
    .csv, .pt) or --to. CSV keeps no isolated nodes and no node attributes.
    --to pyg (.pt) saves a PyTorch Geometric graph as plain tensors and
    lists: Data(**torch.load(FILE, weights_only=True)) rebuilds it
    (docs/data.md).

    Examples:

      dncqa graph convert data/transit transit.json

      dncqa graph convert transit.json transit.graphml --force

      dncqa graph convert dnc_qa/app/demo_data/family-tree.json family.csv

      dncqa graph convert data/transit --to pyg --out transit.pt
    """
    if (target is None) == (out is None):
        raise GraphFormatError("give the output file once: TARGET or --out FILE")
    target = target or out
    opts = _options(label_key, default_label, undirected, directions, max_mb, max_nodes,
                    max_edges)
    if target.exists() and not force:
        raise GraphFormatError("output exists; pass --force to overwrite it", path=target)
    graph = read_graph(source, format, opts)
    fmt = write_graph(graph, target, to)
    isolated = sum(1 for n in graph if graph.degree(n) == 0)
    note = (f"; {isolated} isolated node(s) cannot be stored in CSV and were left out"
            if fmt == "csv" and isolated else "")
    if as_json:
        typer.echo(dumps({"source": str(source), "target": str(target), "format": fmt,
                               "nodes": graph.number_of_nodes(),
                               "edges": graph.number_of_edges(), "dropped_isolated":
                               isolated if fmt == "csv" else 0}))
        return
    typer.echo(printable(f"wrote {target} ({fmt}): {graph.number_of_nodes():,} nodes, "
                         f"{graph.number_of_edges():,} edges{note}", newlines=False))
