"""``dncqa ingest FILE``: store a graph or text knowledge base and write it into memory."""

from __future__ import annotations

import json
from pathlib import Path

import typer


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
    allow_unread: bool = typer.Option(False, "--allow-unread", help="Text knowledge bases: "
                                      "store the sentences that can be read and skip the "
                                      "rest (listed with --json) instead of refusing."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored entry as JSON "
                                 "(with 'unread': the skipped sentences)."),
) -> None:
    """Read a graph, write it into a model's memory and store it in the workspace.

    The workspace is $DNCQA_HOME (default: your user data folder). Re-ingesting a name
    replaces that entry; a failed ingest leaves it as it was.

    A text knowledge base (.txt) holds simple English sentences ("Orla is the mother of
    Tobin.", "Jonah likes apples.", "Hamlet was written by Shakespeare."). A sentence that
    cannot be read is an error naming it, unless --allow-unread skips it.

    Examples:

      dncqa ingest data/transit --name metro

      dncqa ingest data/family/family-tree.json --name family --model untrained

      dncqa ingest data/kb/facts.txt --name town --allow-unread --json
    """
    from dataclasses import asdict

    from dnc_qa.app.ingest import IngestOptions, ingest_report

    options = IngestOptions(name=name, model=model, format=fmt, max_nodes=max_nodes,
                            max_edges=max_edges, seed=seed, allow_unread=allow_unread)
    report = ingest_report(file, options)
    meta = report.meta
    if as_json:
        unread = [{"line": u.line, "sentence": u.sentence, "reason": u.reason}
                  for u in report.unread]
        typer.echo(json.dumps({**asdict(meta), "unread": unread}, allow_nan=False))
        return
    memory = f"memory {meta.memory_cells} cells" if meta.memory_cells else "no memory"
    typer.echo(f"stored {meta.name!r}: {meta.nodes} {meta.node_kind}s, {meta.edges} edges, "
               f"model {meta.model}, {memory}")
    if report.unread:
        typer.echo(f"skipped {len(report.unread)} sentence(s) that cannot be read "
                   f"(first: line {report.unread[0].line}: {report.unread[0].sentence!r}; "
                   "all of them with --json)")
    typer.echo(f'ask it: dncqa ask "QUESTION" --graph {meta.name}')
