"""Help panels: which ``--help`` box each option of a long command is listed in.

``dncqa train``'s options name their panel where they are declared: the config options in
their field's annotation (``Opt(..., panel=MODEL)``, :mod:`dnc_qa.train.config`), the run
options as ``rich_help_panel`` in ``cli/train.py``; :data:`TRAIN_PANELS` orders the panels.
Other commands put their options into panels with :func:`with_panels` and a table of panel
title -> long option names, so the table sits in one place and the option declarations stay
as they are. An option no panel names stays in the usual "Options" panel.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dnc_qa.train.config import (
    CURRICULUM,
    EVALUATION,
    GRAPH_TASKS,
    MEMORY,
    MODEL,
    OPTIMISER,
)

F = TypeVar("F", bound=Callable[..., object])

TASK, RUN = "Task", "Run"
"""``dncqa train``'s panels of its own options: the task, and the run itself (budget,
output, processes)."""

TRAIN_PANELS: tuple[str, ...] = (TASK, GRAPH_TASKS, MODEL, MEMORY, OPTIMISER, CURRICULUM,
                                 EVALUATION, RUN)
"""``dncqa train``'s panels, in the order ``--help`` lists them."""

EVAL_PANELS: dict[str, tuple[str, ...]] = {
    "Episodes": ("--task", "--episodes", "--min-length", "--max-length", "--num-cells",
                 "--seed", "--batch-size", "--lesson", "--planning-per-edge"),
    "bAbI": ("--babi-task", "--babi-dir", "--babi-split"),
}
"""``dncqa eval``'s panels (the rest: Options)."""


def long_name(param_decls: Sequence[str]) -> str | None:
    """The first long option name of a declaration (``"--curriculum/--no-curriculum"`` ->
    ``"--curriculum"``), ``None`` for an argument."""
    for decl in param_decls:
        first = decl.split("/")[0].strip()
        if first.startswith("--"):
            return first
    return None


def option_info(param: inspect.Parameter) -> Any:
    """The Typer ``OptionInfo`` / ``ArgumentInfo`` of a parameter, declared in its
    ``Annotated`` type or as its default (``None`` for neither, e.g. the context)."""
    if typing.get_origin(param.annotation) is typing.Annotated:
        for extra in typing.get_args(param.annotation)[1:]:
            if hasattr(extra, "param_decls"):
                return extra
    return param.default if hasattr(param.default, "param_decls") else None


def option_name(info: Any) -> str | None:
    """The long option name of a Typer ``OptionInfo`` (in ``Annotated`` style its first
    declaration is kept as its ``default``)."""
    if info is None:
        return None
    decls = list(info.param_decls or ())
    if isinstance(info.default, str) and info.default.startswith("-"):
        decls.insert(0, info.default)
    return long_name(decls)


def order_by_panel(params: Sequence[inspect.Parameter],
                   panels: Mapping[str, Sequence[str]] | Sequence[str]
                   ) -> list[inspect.Parameter]:
    """``params`` listed panel by panel in the order of ``panels`` (titles, or a table of
    title -> long option names, which also orders the options it names); the rest keep their
    order. Typer draws the panels in the order their first option appears."""
    rank = {title: i for i, title in enumerate(panels)}

    def order(item: tuple[int, inspect.Parameter]) -> tuple[int, int, int]:
        info = option_info(item[1])
        panel = getattr(info, "rich_help_panel", None)
        listed = -1
        if isinstance(panels, Mapping) and panel in panels:
            names = panels[panel]
            name = option_name(info)
            listed = names.index(name) if name in names else -1
        return (rank.get(panel, -1) if panel else -1, listed, item[0])

    return [p for _, p in sorted(enumerate(params), key=order)]


def with_panels(panels: Mapping[str, Sequence[str]]) -> Callable[[F], F]:
    """A decorator putting the Typer options of a command function into ``panels`` (title ->
    long option names), listed panel by panel in the table's order.

    The function is returned as it is, with its options' ``rich_help_panel`` set and its
    ``__signature__`` listing the parameters in panel order (Typer draws the panels in the
    order their first option appears, and calls the function with keyword arguments).
    """
    where = {name: title for title, names in panels.items() for name in names}

    def apply(fn: F) -> F:
        signature = inspect.signature(fn, eval_str=True)
        for param in signature.parameters.values():
            info = option_info(param)
            name = option_name(info)
            if name in where and getattr(info, "rich_help_panel", None) is None:
                info.rich_help_panel = where[name]
        params = order_by_panel(list(signature.parameters.values()), panels)
        fn.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return fn

    return apply
