"""Command-line options declared on config dataclasses, turned into Typer options.

A config field that a command sets carries its option in its annotation, in Typer's
``Annotated`` style (:class:`dnc_qa.train.config.Opt`)::

    hidden_size: Annotated[int, Opt("--hidden-size", help="Controller width.",
                                    panel=MODEL)] = 64

:func:`config_options` adds one Typer option per such field to a command (its name, default,
type, help and ``--help`` panel from the annotation and the field) and :func:`configs_from`
builds the dataclasses back from the parsed values. Adding an option to ``dncqa train`` is
adding one annotated field to ``ModelConfig`` (or ``OptimConfig``, ``CurriculumConfig``,
``GraphConfig``); the command's body does not change. A field that no option sets is marked
``NoOption(reason)``; ``tests/cli/test_config_options.py`` checks that every field of those
dataclasses is one or the other.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import typer

from dnc_qa.cli.panels import option_info, order_by_panel
from dnc_qa.train.config import FromOption, Opt, cli_fields

F = TypeVar("F", bound=Callable[..., object])


def parameter_name(option: str) -> str:
    """The Typer parameter of an option: ``"--hidden-size"`` -> ``"hidden_size"``."""
    return option.split("/")[0].strip().lstrip("-").replace("-", "_")


def declared_options(*classes: type) -> Iterator[tuple[type, str, Any, Opt]]:
    """``(class, field, field type, Opt)`` for every field of ``classes`` with an option."""
    for cls in classes:
        for name, (hint, meta) in cli_fields(cls).items():
            if isinstance(meta, Opt):
                yield cls, name, hint, meta


def config_parameters(*classes: type, panels: Sequence[str] | None = None
                      ) -> list[inspect.Parameter]:
    """One keyword-only Typer parameter per option declared on ``classes``: named after the
    long option, its default the field's (or the option's own), its type the field's (or
    the option's own). ``panels``: the panel titles allowed (a misspelt one is an error)."""
    params: list[inspect.Parameter] = []
    seen: dict[str, str] = {}
    for cls, name, hint, opt in declared_options(*classes):
        where = f"{cls.__name__}.{name}"
        pname = parameter_name(opt.name)
        if pname in seen:
            raise TypeError(f"{where}: option {opt.name} is declared twice (also {seen[pname]})")
        seen[pname] = where
        if panels is not None and opt.panel not in panels:
            raise TypeError(f"{where}: unknown --help panel {opt.panel!r}; one of {panels}")
        default = opt.default
        if default is dataclasses.MISSING:
            default = field_default(cls, name)
        info = typer.Option(*opt.decls, help=opt.help, rich_help_panel=opt.panel)
        params.append(inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[opt.type or hint, info]))
    return params


def field_default(cls: type, name: str) -> Any:
    """The default of field ``name`` of dataclass ``cls``."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"{cls.__name__}.{name} has no default: a command-line option needs one")


def configs_from(values: Mapping[str, Any], *classes: type) -> list[Any]:
    """One instance of each of ``classes`` from option values by parameter name (as
    :func:`config_options` passes them): each field with an option gets its option's value
    (through ``convert``), a field marked ``FromOption`` gets the named option's value
    through its own ``convert``; an option not in ``values``, and a field without an option,
    keep the field's default."""
    out = []
    for cls in classes:
        kwargs: dict[str, Any] = {}
        for name, (_, meta) in cli_fields(cls).items():
            if isinstance(meta, Opt | FromOption):
                option = meta.name if isinstance(meta, Opt) else meta.option
                key = parameter_name(option)
                if key in values:
                    value = values[key]
                    kwargs[name] = meta.convert(value) if meta.convert is not None else value
        out.append(cls(**kwargs))
    return out


def config_options(*classes: type, panels: Sequence[str]) -> Callable[[F], F]:
    """A decorator adding the options declared on ``classes`` to a Typer command function.

    The function takes them as ``**kwargs`` (pass those to :func:`configs_from`) and is
    returned as it is, its ``__signature__`` listing its own parameters and the added ones
    (keyword-only) panel by panel in the order of ``panels``; in a panel the added options
    come first, in field order, then the function's own, in its order. The options are built
    when the command is decorated (when the CLI is imported), so ``classes`` must be
    importable without torch.
    """

    def apply(fn: F) -> F:
        signature = inspect.signature(fn, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        if len(own) == len(signature.parameters):
            raise TypeError(f"{fn.__name__} must take **kwargs for the config options")
        added = config_parameters(*classes, panels=panels)
        clash = {p.name for p in own} & {p.name for p in added}
        if clash:
            raise TypeError(f"{fn.__name__}: parameters {sorted(clash)} are also config options")
        context = [p for p in own if option_info(p) is None]
        options = [p for p in own if option_info(p) is not None]
        params = [*context, *order_by_panel([*added, *options], panels)]
        fn.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return fn

    return apply
