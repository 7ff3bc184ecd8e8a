"""``dncqa ask "QUESTION"``: answer a question from a stored graph's memory."""

from __future__ import annotations

from pathlib import Path

import typer

from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def _echo(text: str) -> None:
    typer.echo(printable(text))


def ask(
    question: str = typer.Argument(..., help="The question, in English (quote it)."),
    graph: str = typer.Option(None, "--graph", "-g", help="Stored graph to ask (default: the "
                              "only one stored)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: question, "
                                 "query, answer, confidence, exact, agrees, graph, model."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the memory's read/write "
                              "weightings and usage over the episode."),
    exact_only: bool = typer.Option(False, "--exact-only", help="Skip the model; exact "
                                    "answer only."),
) -> None:
    """Ask a stored graph a question; print the model's answer and the exact one.

    Forms: shortest path, traversal, neighbours, family relations and facts. Names are
    matched ignoring case and punctuation ("St." / "St", "&" / "and").

    Examples:

      dncqa ask "shortest path from Bank to Oxford Circus" --graph london

      dncqa ask "from Bank take the Central line east for 2 stops"

      dncqa ask "which stations are next to Holborn" --json

      dncqa ask "who is Freya's maternal great uncle" --graph family --plot memory.png
    """
    from dnc_qa.app.ask import ask as run_ask
    from dnc_qa.app.ask import import_spacy_without_torch

    import_spacy_without_torch()  # cold start: spaCy's thinc would import torch

    if plot is not None:
        from dnc_qa.app.plots import check_plot_path

        check_plot_path(plot)
    result = run_ask(question, graph, with_model=not exact_only)
    if plot is not None:
        _plot(result, plot)
    if as_json:
        typer.echo(dumps(result.to_json(), ensure_ascii=False))
        return
    _echo(f"graph:      {result.graph} (model: {result.model})")
    _echo(f"query:      {result.query.describe()}")
    if result.answer is None:
        _echo(f"model:      unavailable: {result.note}")
    else:
        first, *rest = result.answer_lines()
        _echo(f"model:      {first}")
        for line in rest:
            _echo(f"            {line}")
    _echo(f"exact:      {result.exact.text()}")
    if result.agrees is not None:
        _echo(f"agrees:     {'yes' if result.agrees else 'no'}")
    if plot is not None:
        _echo(f"plot:       {plot}")


def _plot(result: object, path: Path) -> None:
    from dnc_qa.app.engine import load_arrays
    from dnc_qa.app.plots import join_traces, plot_memory
    from dnc_qa.app.workspace import Workspace
    from dnc_qa.errors import DncQaError

    trace, phases = result.trace, result.phases  # type: ignore[attr-defined]
    if not trace:
        raise DncQaError("--plot: there is no model run to plot "
                         f"({result.note or 'no model'})")  # type: ignore[attr-defined]
    entry_path = Workspace().require(result.graph)  # type: ignore[attr-defined]
    stored = entry_path / "trace.safetensors"
    if stored.exists():
        from dnc_qa.app.workspace import check_trace, read_meta

        desc, _ = load_arrays(stored)  # NumPy: plotting needs no torch
        check_trace(desc, stored, read_meta(entry_path / "meta.json", result.graph))
        steps = next(iter(desc.values())).shape[0] if desc else 0
        trace, phases = join_traces(desc, [("description", 0, steps)], trace, phases)
    plot_memory(trace, phases, path, title=result.question)  # type: ignore[attr-defined]
