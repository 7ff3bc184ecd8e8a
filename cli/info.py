"""``dncqa info``: versions, device and threads."""

from __future__ import annotations

import platform

import typer

import dnc_qa
from dnc_qa.jsonout import dumps


def collect_info() -> dict[str, object]:
    """What a bug report needs to know about this installation."""
    import torch  # imported here: every dncqa command loads this module at start-up

    cuda = torch.cuda.is_available()
    return {
        "dnc_qa": dnc_qa.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda_available": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "default_device": "cuda" if cuda else "cpu",
        "torch_threads": torch.get_num_threads(),
    }


def info(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show versions, the device `--device auto` picks, and torch's thread count.

    What a bug report needs: dnc_qa, Python, platform, torch and CUDA.

    Examples:

      dncqa info

      dncqa info --json
    """
    data = collect_info()
    if as_json:
        typer.echo(dumps(data))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="dnc-qa", show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    Console().print(table)
