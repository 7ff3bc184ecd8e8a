"""Help panels: which ``--help`` box each option of a long command is listed in.

A command's options are put into panels by :func:`with_panels` from a table of panel title ->
long option names, so the table sits in one place and the option declarations stay as they
are. An option the table does not name stays in the usual "Options" panel; one that already
names its own ``rich_help_panel`` keeps it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

TRAIN_PANELS: dict[str, tuple[str, ...]] = {
    "Task": ("--task", "--babi-task", "--babi-dir", "--planning-steps", "--planning-per-edge",
             "--beta", "--ponder-steps"),
    "Model": ("--model", "--controller", "--hidden-size", "--controller-layers", "--init-from",
              "--init-partial"),
    "Memory": ("--num-cells", "--cell-width", "--num-reads", "--masking", "--deallocation",
               "--link-sharpness", "--fit-cells", "--sparse-links", "--backend"),
    "Optimiser": ("--batch-size", "--optimizer", "--lr", "--clip-norm"),
    "Curriculum": ("--curriculum", "--warmup", "--bridge", "--threshold"),
    "Evaluation and logs": ("--eval-every", "--eval-episodes", "--final-eval-episodes",
                            "--stop-bit-error", "--log-every", "--checkpoint-every",
                            "--tensorboard"),
    "Run": ("--out", "--steps", "--minutes", "--resume", "--seed", "--device", "--threads",
            "--processes", "--amp", "--deterministic", "--progress", "--json"),
}
"""``dncqa train``'s panels."""

EVAL_PANELS: dict[str, tuple[str, ...]] = {
    "Episodes": ("--task", "--episodes", "--min-length", "--max-length", "--num-cells",
                 "--seed", "--batch-size", "--lesson"),
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


def with_panels(panels: Mapping[str, Sequence[str]]) -> Callable[[F], F]:
    """A decorator putting the Typer options of a command function into ``panels`` (title ->
    long option names), listed panel by panel in the table's order.

    The function is returned as it is, with its options' ``rich_help_panel`` set and its
    ``__signature__`` listing the parameters in panel order (Typer draws the panels in the
    order their first option appears, and calls the function with keyword arguments).
    """
    where = {name: title for title, names in panels.items() for name in names}
    rank = {title: i for i, title in enumerate(panels)}

    def apply(fn: F) -> F:
        signature = inspect.signature(fn)
        for param in signature.parameters.values():
            info = param.default
            name = long_name(getattr(info, "param_decls", None) or ())
            if name in where and getattr(info, "rich_help_panel", None) is None:
                info.rich_help_panel = where[name]  # type: ignore[union-attr]

        def order(item: tuple[int, inspect.Parameter]) -> tuple[int, int, int]:
            info = item[1].default
            panel = getattr(info, "rich_help_panel", None)
            name = long_name(getattr(info, "param_decls", None) or ())
            listed = panels[panel].index(name) if panel in panels and name in panels[panel] \
                else -1
            return (rank.get(panel, -1) if panel else -1, listed, item[0])

        params = [p for _, p in sorted(enumerate(signature.parameters.values()), key=order)]
        fn.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return fn

    return apply
