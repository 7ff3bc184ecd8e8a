"""``dncqa ask "QUESTION"``: answer a question from a stored graph's memory."""

from __future__ import annotations

from pathlib import Path

import typer

from dnc_qa.app.ask import DEFAULT_MIN_CONFIDENCE
from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def _echo(text: str) -> None:
    typer.echo(printable(text))


def ask(
    question: str = typer.Argument(..., help="The question, in English (quote it)."),
    graph: str = typer.Option(None, "--graph", "-g", help="Stored graph to ask (default: the "
                              "only one stored)."),
    min_confidence: float = typer.Option(
        None, "--min-confidence", metavar="P", show_default=False,
        help="Withhold the model's answer when its confidence is below P (0 to 1): it is "
        "reported as no answer; --json keeps it under 'withheld'. Default: "
        f"{DEFAULT_MIN_CONFIDENCE:g} for shipped models, 0 for others."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (question, "
                                 "query, answer, confidence, exact, agrees, ...)."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the memory's reads, "
                              "writes and usage while answering."),
    exact_only: bool = typer.Option(False, "--exact-only", help="Skip the model; exact "
                                    "answer only."),
) -> None:
    """Ask a stored graph a question; print the model's answer and the exact one.

    Forms: shortest paths, traversals along a line or over labels,
    neighbours, family relations and facts. Names are matched ignoring case
    and punctuation ("St." / "St", "&" / "and").

    The examples ask the bundled map and family tree, stored first with
    dncqa ingest data/transit --name metro and dncqa ingest
    dnc_qa/app/demo_data/family-tree.json --name family.

    Examples:

      dncqa ask "shortest path from Kelstead to Marley Square" --graph metro

      dncqa ask "from Kelstead take the Amber line north for 2 stops" -g metro

      dncqa ask "which stations are next to Quillgate Hill" -g metro --json

      dncqa ask "who is Cai's maternal grandmother" --graph family

      dncqa ask "who are Eli's grandchildren" -g family --min-confidence 0.5
    """
    from dnc_qa.app.ask import ask as run_ask
    from dnc_qa.app.ask import check_min_confidence, import_spacy_without_torch

    import_spacy_without_torch()  # cold start: spaCy's thinc would import torch

    if plot is not None:
        from dnc_qa.app.plots import check_plot_path

        check_plot_path(plot)
    result = run_ask(question, graph, with_model=not exact_only,
                     min_confidence=check_min_confidence(min_confidence))
    if plot is not None:
        _plot(result, plot)
    if as_json:
        typer.echo(dumps(result.to_json(), ensure_ascii=False))
        return
    _echo(f"graph:      {result.graph} (model: {result.model})")
    _echo(f"query:      {result.query.describe()}")
    if result.answer is None and result.withheld is None:
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
