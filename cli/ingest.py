"""``dncqa ingest FILE``: store a graph or text knowledge base and write it into memory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dnc_qa.cli.graph import (
    DEFAULT_LABEL_HELP,
    DIRECTIONS_HELP,
    LABEL_KEY_HELP,
    READING,
    UNDIRECTED_HELP,
)

if TYPE_CHECKING:
    from dnc_qa.kb.extract import UnreadSentence


MEMORY = "Model and memory"


def ingest(
    file: Path = typer.Argument(..., help="Graph file (node-link JSON, GraphML, GML, CSV), "
                                "transit folder, or text knowledge base (.txt)."),
    name: str = typer.Option(None, "--name", "-n", help="Name to store it under (default: "
                             "from the file name); replaces an entry of that name."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored entry as JSON, "
                                 "with 'unread': the skipped sentences."),
    model: str = typer.Option("auto", "--model", "-m", rich_help_panel=MEMORY,
                              help="Model that writes the memory: a shipped model's name, a "
                              "checkpoint folder, 'untrained', or 'none' (exact answers "
                              "only). 'auto': the shipped model for this kind of graph."),
    seed: int = typer.Option(0, "--seed", rich_help_panel=MEMORY,
                             help="Seed for label numbers and triple order."),
    fmt: str = typer.Option(None, "--format", "-f", rich_help_panel=READING,
                            help="Input format: node-link, transit, graphml, gml, csv, kb "
                            "(default: from the file name)."),
    label_key: list[str] | None = typer.Option(None, "--label-key", help=LABEL_KEY_HELP,
                                               metavar="KEY", rich_help_panel=READING),
    default_label: str | None = typer.Option(None, "--default-label",
                                             help=DEFAULT_LABEL_HELP, rich_help_panel=READING),
    undirected: bool = typer.Option(False, "--undirected", help=UNDIRECTED_HELP,
                                    rich_help_panel=READING),
    directions: str = typer.Option("line", "--directions", help=DIRECTIONS_HELP,
                                   rich_help_panel=READING),
    max_nodes: int = typer.Option(1000, "--max-nodes", rich_help_panel=READING,
                                  help="Refuse graphs with more nodes."),
    max_edges: int = typer.Option(1000, "--max-edges", rich_help_panel=READING,
                                  help="Refuse graphs with more directed edges (the memory "
                                  "has one cell per edge)."),
    strict: bool = typer.Option(False, "--strict", rich_help_panel=READING,
                                help="Text knowledge bases: refuse a file with any sentence "
                                "that cannot be read."),
    allow_unread: bool = typer.Option(False, "--allow-unread", rich_help_panel=READING,
                                      help="Text knowledge bases: skip sentences that cannot "
                                      "be read. The default; kept for scripts."),
) -> None:
    """Read a graph, write it into a model's memory and store it.

    The workspace is $DNCQA_HOME (default: your user data folder). Ingesting
    a stored name again replaces that entry; a failed ingest leaves it as it
    was.

    A node-link JSON map with undirected edges named by "line" gets
    directions of travel: compass points (Red N, Red S) for lines whose
    stations have coordinates (x/y, lat/lon or pos), else the line's ends
    (Red towards Zed).

    A text knowledge base (.txt) holds simple English sentences ("Orla is
    the mother of Tobin.", "Jonah likes apples."). Sentences that cannot be
    read are skipped: ingest shows the first few, --json lists them all.

    Examples:

      dncqa ingest data/transit --name metro

      dncqa ingest dnc_qa/app/demo_data/family-tree.json --name family

      dncqa ingest data/kb/facts.txt --name town --json
    """
    from dataclasses import asdict

    from dnc_qa.app.ingest import IngestOptions, ingest_report
    from dnc_qa.errors import DncQaError
    from dnc_qa.jsonout import dumps

    if strict and allow_unread:
        raise DncQaError("--strict refuses unread sentences and --allow-unread skips them; "
                         "pass one of them")
    options = IngestOptions(name=name, model=model, format=fmt, max_nodes=max_nodes,
                            max_edges=max_edges, seed=seed, strict=strict,
                            label_keys=tuple(label_key) if label_key else None,
                            default_label=default_label, undirected=undirected,
                            directions=directions)
    report = ingest_report(file, options)
    meta = report.meta
    if as_json:
        unread = [{"line": u.line, "sentence": u.sentence, "reason": u.reason}
                  for u in report.unread]
        typer.echo(dumps({**asdict(meta), "unread": unread}))
        return
    memory = f"memory {meta.memory_cells} cells" if meta.memory_cells else "no memory"
    typer.echo(f"stored {meta.name!r}: {meta.nodes} {meta.node_kind}s, {meta.edges} edges, "
               f"model {meta.model}, {memory}")
    if report.unread:
        _echo_unread(report.unread)
    typer.echo(f'ask it: dncqa ask "QUESTION" --graph {meta.name}')


SHOWN_UNREAD = 3
"""How many skipped sentences the console shows (``--json`` lists them all)."""


def _echo_unread(unread: Sequence[UnreadSentence]) -> None:
    """How many sentences were skipped and the first few, one per line, escaped and cut."""
    from dnc_qa.kb.textkb import describe_unread
    from dnc_qa.textout import printable

    n = len(unread)
    typer.echo(f"skipped {n} sentence{'s' if n != 1 else ''} that cannot be read "
               "(all of them with --json):")
    for item in unread[:SHOWN_UNREAD]:
        typer.echo(printable(f"  {describe_unread(item, limit=60)}", newlines=False))
    if n > SHOWN_UNREAD:
        typer.echo(f"  and {n - SHOWN_UNREAD} more")
