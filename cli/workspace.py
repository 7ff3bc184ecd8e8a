"""``dncqa list``, ``dncqa show NAME``, ``dncqa remove NAME``: the stored graphs."""

from __future__ import annotations

from dataclasses import asdict

import typer

from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def list_entries(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List the graphs stored in the workspace ($DNCQA_HOME).

    An entry whose files are damaged is listed as damaged, with the reason;
    the others are listed as usual.

    Examples:

      dncqa list

      dncqa list --json
    """
    from dnc_qa.app.workspace import Workspace, WorkspaceError

    ws = Workspace()
    items: list[tuple[str, object]] = []
    for name in ws.names():
        try:
            items.append((name, ws.meta(name)))
        except WorkspaceError as exc:
            items.append((name, str(exc)))
    if as_json:
        typer.echo(dumps([asdict(m) if not isinstance(m, str) else
                          {"name": n, "damaged": m} for n, m in items]))
        return
    if not items:
        typer.echo(printable(f"no graphs in {ws.graphs}; add one with: dncqa ingest FILE"))
        return
    rows = [("NAME", "NODES", "EDGES", "MODEL", "CREATED")]
    damaged = []
    for n, m in items:
        if isinstance(m, str):
            rows.append((n, "DAMAGED", "-", "-", "-"))
            damaged.append((n, m))
        else:
            rows.append((n, f"{m.nodes} {m.node_kind}s", str(m.edges), m.model,  # type: ignore[attr-defined]
                         m.created))  # type: ignore[attr-defined]
    rows = [tuple(printable(c, newlines=False) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    for n, reason in damaged:
        typer.echo(printable(f"damaged {n}: {' '.join(reason.split())}", newlines=False))


def show(
    name: str = typer.Argument(..., help="The stored graph's name."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show one stored graph: source, sizes, model, labels and files.

    NAME is the name given at ingest (see dncqa list).

    Examples:

      dncqa show metro

      dncqa show metro --json
    """
    from dnc_qa.app.codec import describe_json
    from dnc_qa.app.workspace import Workspace

    ws = Workspace()
    entry = ws.load(name)
    files = {p.name: p.stat().st_size for p in sorted(entry.path.iterdir())}
    data = {**asdict(entry.meta), "labels": describe_json(entry.labels),
            "path": str(entry.path), "files": files}
    if as_json:
        typer.echo(dumps(data))
        return
    for key, value in data.items():
        if key == "files":
            value = ", ".join(f"{k} ({v:,} bytes)" for k, v in value.items())
        typer.echo(printable(f"{key + ':':15} {value}", newlines=False))


def remove(
    name: str = typer.Argument(..., help="The stored graph's name."),
) -> None:
    """Delete a stored graph and its memory.

    The file it was read from is left alone.

    Examples:

      dncqa remove metro
    """
    from dnc_qa.app.workspace import Workspace

    Workspace().remove(name)
    typer.echo(f"removed {name!r}")
