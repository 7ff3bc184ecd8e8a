"""``dncqa ingest FILE``: store a graph or text knowledge base and write it into memory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from dnc_qa.kb.extract import UnreadSentence


def ingest(
    file: Path = typer.Argument(..., help="Graph file (node-link JSON, GraphML, GML, CSV), "
                                "transit folder, or text knowledge base."),
    name: str = typer.Option(None, "--name", "-n", help="Name to store it under "
                             "(default: from the file name). An existing entry is replaced."),
    model: str = typer.Option("auto", "--model", "-m", help="Model that writes the memory: a "
                              "checkpoint folder, a shipped model's name, 'untrained' or "
                              "'none' (exact answers only). 'auto': a shipped model for this "
                              "kind of graph, else 'none'."),
    fmt: str = typer.Option(None, "--format", "-f", help="Input format (default: from the "
                            "file): node-link, transit, graphml, gml, csv, kb."),
    max_nodes: int = typer.Option(1000, "--max-nodes", help="Refuse graphs with more nodes."),
    max_edges: int = typer.Option(1000, "--max-edges", help="Refuse graphs with more "
                                  "(directed) edges; the memory has one cell per edge."),
    seed: int = typer.Option(0, "--seed", help="Seed for label numbers and triple order."),
    strict: bool = typer.Option(False, "--strict", help="Text knowledge bases: refuse a "
                                "file with any sentence that cannot be read (the default "
                                "stores the rest and lists what it skipped)."),
    allow_unread: bool = typer.Option(False, "--allow-unread", help="Text knowledge bases: "
                                      "skip sentences that cannot be read. The default; "
                                      "kept for scripts."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored entry as JSON "
                                 "(with 'unread': the skipped sentences and their lines)."),
) -> None:
    """Read a graph, write it into a model's memory and store it in the workspace.

    The workspace is $DNCQA_HOME (default: your user data folder).
    Re-ingesting a name replaces that entry; a failed ingest leaves it as it was.

    A text knowledge base (.txt) holds simple English sentences ("Orla is the
    mother of Tobin.", "Jonah likes apples.", "Hamlet was written by
    Shakespeare."). Sentences that cannot be read are skipped: ingest says how
    many and shows the first few, --json lists them all under 'unread'. A file
    with no readable sentence is an error; with --strict, so is any unread one.

    Examples:

      dncqa ingest data/transit --name metro

      dncqa ingest dnc_qa/app/demo_data/family-tree.json --name family --model untrained

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
                            max_edges=max_edges, seed=seed, strict=strict)
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
