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
    as_json: bool = typer.Option(False, "--json", help="Print the stored entry as JSON."),
) -> None:
    """Read a graph, write it into a model's memory and store it in the workspace.

    The workspace is $DNCQA_HOME (default: your user data folder). Re-ingesting a name
    replaces that entry; a failed ingest leaves it as it was.

    Examples:

      dncqa ingest data/london --name london

      dncqa ingest family.json --model untrained

      dncqa ingest map.graphml --name tube --model checkpoints/traversal --max-edges 2000
    """
    from dataclasses import asdict

    from dnc_qa.app.ingest import IngestOptions
    from dnc_qa.app.ingest import ingest as run_ingest

    options = IngestOptions(name=name, model=model, format=fmt, max_nodes=max_nodes,
                            max_edges=max_edges, seed=seed)
    meta = run_ingest(file, options)
    if as_json:
        typer.echo(json.dumps(asdict(meta)))
        return
    memory = f"memory {meta.memory_cells} cells" if meta.memory_cells else "no memory"
    typer.echo(f"stored {meta.name!r}: {meta.nodes} {meta.node_kind}s, {meta.edges} edges, "
               f"model {meta.model}, {memory}")
    typer.echo(f'ask it: dncqa ask "QUESTION" --graph {meta.name}')
