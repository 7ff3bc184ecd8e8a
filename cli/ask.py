"""``dncqa ask "QUESTION"``: answer a question from a stored graph's memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dnc_qa.app.answer.shortest_path import ASK_BEAM
from dnc_qa.app.ask import DEFAULT_MIN_CONFIDENCE, DEFAULT_VIEWS, SHORTEST_PATH_MIN_CONFIDENCE
from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def _echo(text: str) -> None:
    typer.echo(printable(text))


def ask(
    question: str = typer.Argument(None, help="The question, in English (quote it).",
                                   show_default=False),
    file: Path = typer.Option(None, "--file", help="Ask each line of this file (blank "
                              "lines and # comments skipped); --json: JSON lines."),
    graph: str = typer.Option(None, "--graph", "-g", help="Stored graph to ask (default: the "
                              "only one stored)."),
    min_confidence: float = typer.Option(
        None, "--min-confidence", metavar="P", show_default=False,
        help="Withhold the model's answer when its confidence is below P (0 to 1): it is "
        "reported as no answer; --json keeps it under 'withheld'. Default: "
        f"{DEFAULT_MIN_CONFIDENCE:g} for shipped models ({SHORTEST_PATH_MIN_CONFIDENCE:g} for "
        "shortest paths), 0 for others."),
    views: int = typer.Option(
        DEFAULT_VIEWS, "--views", metavar="K",
        help="Ask the model in K memories of the graph, each under other random numbers, and "
        "take the answer most give (1: the stored memory only)."),
    beam: int = typer.Option(
        ASK_BEAM, "--beam", metavar="B",
        help="Shortest paths: keep the B most likely partial paths of the model's moves and "
        "answer with the most likely that arrives (1: greedy, the paper's decoding)."),
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

      dncqa ask "shortest path from Kelstead to Larkton" -g metro --beam 1

    The model's numbers for names are random, so its mistakes depend on the
    numbering: by default it is asked in 5 memories of the graph, each
    numbered afresh, and the answer most of them give is its answer (the
    note and --json's votes say how many agreed). Shortest paths are decoded
    by a beam search of width 3 over the model's moves (--beam 1: greedy).

    With --file, a question that cannot be answered prints its error and the
    rest are asked; the exit status is then 2.
    """
    from dnc_qa.app.ask import ask as run_ask
    from dnc_qa.app.ask import (
        check_beam,
        check_min_confidence,
        check_views,
        import_spacy_without_torch,
    )

    import_spacy_without_torch()  # cold start: spaCy's thinc would import torch

    if file is not None:
        if question is not None or plot is not None:
            raise DncQaError("--file asks the questions in the file: give no QUESTION "
                             "and no --plot with it")
        _ask_file(file, graph, check_min_confidence(min_confidence), as_json, exact_only,
                  check_views(views), check_beam(beam))
        return
    if question is None:
        raise DncQaError('give a question (dncqa ask "QUESTION") or --file FILE')
    if plot is not None:
        from dnc_qa.app.plots import check_plot_path

        check_plot_path(plot)
    result = run_ask(question, graph, with_model=not exact_only,
                     min_confidence=check_min_confidence(min_confidence),
                     views=check_views(views), beam=check_beam(beam))
    if plot is not None:
        _plot(result, plot)
    if as_json:
        typer.echo(dumps(result.to_json(), ensure_ascii=False))
        return
    _print_result(result)
    if plot is not None:
        _echo(f"plot:       {plot}")


def _print_result(result: object) -> None:
    r: Any = result
    _echo(f"graph:      {r.graph} (model: {r.model})")
    _echo(f"query:      {r.query.describe()}")
    if r.answer is None and r.withheld is None:
        _echo(f"model:      unavailable: {r.note}")
    else:
        first, *rest = r.answer_lines()
        _echo(f"model:      {first}")
        for line in rest:
            _echo(f"            {line}")
    _echo(f"exact:      {r.exact.text()}")
    if r.agrees is not None:
        _echo(f"agrees:     {'yes' if r.agrees else 'no'}")


def _ask_file(path: Path, graph: str | None, min_confidence: float | None, as_json: bool,
              exact_only: bool, views: int, beam: int) -> None:
    """Ask each question of ``path``; exit status 2 when any failed."""
    from dnc_qa.app.ask import ask_file

    failed = False
    first = True
    for item in ask_file(path, graph, with_model=not exact_only,
                         min_confidence=min_confidence, views=views, beam=beam):
        failed = failed or item.error is not None
        if as_json:
            typer.echo(dumps(item.to_json(), ensure_ascii=False))
            continue
        if not first:
            typer.echo("")
        first = False
        _echo(f"line {item.line}:    {item.question}")
        if item.error is not None:
            _echo(f"error:      {item.error}")
        else:
            _print_result(item.result)
    if failed:
        raise SystemExit(2)  # main() returns, not exits, on typer.Exit


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
