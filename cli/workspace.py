"""``dncqa list``, ``dncqa show NAME``, ``dncqa remove NAME``: the stored graphs."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer


def list_entries(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List the graphs stored in the workspace ($DNCQA_HOME).

    Examples:

      dncqa list

      dncqa list --json
    """
    from dnc_qa.app.workspace import Workspace

    ws = Workspace()
    metas = [ws.meta(n) for n in ws.names()]
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in metas]))
        return
    if not metas:
        typer.echo(f"no graphs in {ws.graphs}; add one with: dncqa ingest FILE")
        return
    rows = [("NAME", "NODES", "EDGES", "MODEL", "CREATED")]
    rows += [(m.name, f"{m.nodes} {m.node_kind}s", str(m.edges), m.model, m.created)
             for m in metas]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def show(
    name: str = typer.Argument(..., help="The stored graph's name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show one stored graph: source, sizes, model, labels and files.

    Examples:

      dncqa show london

      dncqa show london --json
    """
    from dnc_qa.app.codec import describe_json
    from dnc_qa.app.workspace import Workspace

    ws = Workspace()
    entry = ws.load(name)
    files = {p.name: p.stat().st_size for p in sorted(entry.path.iterdir())}
    data = {**asdict(entry.meta), "labels": describe_json(entry.labels),
            "path": str(entry.path), "files": files}
    if as_json:
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        if key == "files":
            value = ", ".join(f"{k} ({v:,} bytes)" for k, v in value.items())
        typer.echo(f"{key + ':':15} {value}")


def remove(
    name: str = typer.Argument(..., help="The stored graph's name."),
) -> None:
    """Delete a stored graph and its memory.

    Examples:

      dncqa remove london
    """
    from dnc_qa.app.workspace import Workspace

    Workspace().remove(name)
    typer.echo(f"removed {name!r}")
