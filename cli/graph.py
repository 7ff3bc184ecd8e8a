"""``dncqa graph ...``: inspect and convert graph files."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect and convert graph files.", no_args_is_help=True)
