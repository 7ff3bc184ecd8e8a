"""The root of the ``dncqa`` command: sub-commands are registered here.

Every user error (:class:`dnc_qa.errors.DncQaError`) is printed as one line on stderr and the
process exits with status 2; so is an error of the user's environment (a folder that cannot be
written, a full disk: any ``OSError`` with an error number).  Messages have their control
characters escaped and are cut to :data:`MAX_MESSAGE` characters.  ``--debug`` (anywhere on
the command line) shows the traceback.

Every command module is imported here to register its command, so none of them may import
torch (or anything heavy it does not need to describe its options) at module level: they import
it inside the command function. ``tests/inference/test_torch_free_cli.py`` checks that this
module and a cold ``dncqa ask`` load no torch.
"""

from __future__ import annotations

import gc
import os
import sys

import typer

from dnc_qa.cli import ask as ask_cmd
from dnc_qa.cli import bench as bench_cmd
from dnc_qa.cli import demo as demo_cmd
from dnc_qa.cli import eval as eval_cmd
from dnc_qa.cli import graph as graph_cmd
from dnc_qa.cli import info as info_cmd
from dnc_qa.cli import ingest as ingest_cmd
from dnc_qa.cli import models as models_cmd
from dnc_qa.cli import reproduce as reproduce_cmd
from dnc_qa.cli import search as search_cmd
from dnc_qa.cli import train as train_cmd
from dnc_qa.cli import workspace as workspace_cmd
from dnc_qa.errors import CommandFailed, DncQaError
from dnc_qa.textout import clip, printable

PATH_OPTIONS = ("--out", "-o", "--plot", "--babi-dir", "--data-dir",
                "--tensorboard", "--file")
"""Options naming a file or folder: an empty value would mean the current folder."""

MAX_MESSAGE = 1000
"""Longest error message printed (a message quoting a huge input is cut)."""

app = typer.Typer(
    name="dncqa",
    help=(
        "Differentiable Neural Computers on graphs and knowledge bases.\n\n"
        "Each command's --help has examples on the bundled data.\n\n"
        "Examples:\n\n"
        "  dncqa demo\n\n"
        "  dncqa ingest data/transit --name metro\n\n"
        '  dncqa ask "shortest path from Kelstead to Larkton" --graph metro\n\n'
        "  dncqa train --task copy --model dnc --minutes 5 --out runs/copy\n\n"
        "Add --debug anywhere to see a traceback instead of a one-line error."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ASK, RESEARCH, DATA = "Ask graphs", "Train and measure", "Data and installation"
"""The panels of ``dncqa --help``."""

# The application: a graph or text knowledge base in DNC memory, questions against it.
app.command("ingest", rich_help_panel=ASK)(ingest_cmd.ingest)
app.command("ask", rich_help_panel=ASK)(ask_cmd.ask)
app.command("list", rich_help_panel=ASK)(workspace_cmd.list_entries)
app.command("show", rich_help_panel=ASK)(workspace_cmd.show)
app.command("remove", rich_help_panel=ASK)(workspace_cmd.remove)
app.command("demo", rich_help_panel=ASK)(demo_cmd.demo)
app.command("models", rich_help_panel=ASK)(models_cmd.models)
# Research: training, evaluation, speed.
app.command("train", rich_help_panel=RESEARCH)(train_cmd.train)
app.command("eval", rich_help_panel=RESEARCH)(eval_cmd.evaluate)
app.command("search", rich_help_panel=RESEARCH)(search_cmd.search)
app.command("bench", rich_help_panel=RESEARCH)(bench_cmd.bench)
app.add_typer(reproduce_cmd.app, name="reproduce", rich_help_panel=RESEARCH)
# Data and the installation.
app.add_typer(graph_cmd.app, name="graph", rich_help_panel=DATA)
app.command("info", rich_help_panel=DATA)(info_cmd.info)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    empty = _empty_path_option(args)
    if empty is not None:
        _error(f"{empty} needs a file or folder name, not an empty string")
        raise SystemExit(2)
    try:
        # without standalone mode click returns a command's typer.Exit code instead of
        # exiting: pass it on (a failed DDP relaunch or benchmark must not exit 0)
        code = app(args=args, prog_name="dncqa", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            raise SystemExit(code)
    except DncQaError as exc:
        if debug:
            raise
        if os.environ.get("RANK", "0") == "0":  # DDP processes all check the same input
            _error(str(exc))
        raise SystemExit(2) from None
    except CommandFailed as exc:
        if debug:
            raise
        _error(str(exc))
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except Exception as exc:
        # Usage errors from Typer's (vendored) click: one line, their exit status (2).
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _error(f"{exc.format_message()}{hint}")
            raise SystemExit(exc.exit_code) from None
        if type(exc).__name__ == "Abort":
            raise SystemExit(1) from None
        if debug:
            raise
        if isinstance(exc, OSError) and exc.errno is not None:
            # the environment, not the program: a folder without permission, a full disk
            where = f": {exc.filename}" if exc.filename else ""
            _error(f"{exc.strerror or exc}{where}")
            raise SystemExit(2) from None
        _error(f"{type(exc).__name__}: {exc} (rerun with --debug)", prefix="internal error")
        raise SystemExit(1) from None


def _empty_path_option(args: list[str]) -> str | None:
    """The first path option given an empty (or blank) value, e.g. ``--out ""``."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        name, eq, value = arg.partition("=")
        if name in PATH_OPTIONS:
            if eq:
                if not value.strip():
                    return name
            elif i + 1 < len(args) and not args[i + 1].strip():
                return name
    return None


def _error(message: str, prefix: str = "error") -> None:
    """Print ``message`` as one safe line on stderr."""
    line = " ".join(message.split())
    print(f"{prefix}: {printable(clip(line, MAX_MESSAGE))}", file=sys.stderr)


def run(argv: list[str] | None = None) -> None:
    """The ``dncqa`` console script, ``python -m dnc_qa`` and each DDP process of
    ``dncqa train``: :func:`main`, then a quick exit. Everything the command made is freed
    with the process, so its objects are first set aside from the garbage collector: the
    interpreter's last collection would otherwise walk every object torch made, 0.4-0.8 s of
    each process's exit."""
    try:
        main(argv)
    finally:
        gc.freeze()


if __name__ == "__main__":
    run()
