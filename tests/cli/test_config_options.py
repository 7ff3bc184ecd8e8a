"""Options declared once on config fields (``Annotated[int, Opt(...)]``): the builder in
``cli/options.py`` makes the Typer options from them and the configs from the parsed
values, and every field of ``dncqa train``'s configs is reachable from the command line or
marked ``NoOption`` with a reason."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import click
import pytest
import typer
import typer.main
from typer.testing import CliRunner

from dnc_qa.cli.main import app
from dnc_qa.cli.options import config_options, config_parameters, configs_from
from dnc_qa.cli.panels import TRAIN_PANELS
from dnc_qa.cli.train import given_options
from dnc_qa.errors import DncQaError
from dnc_qa.train.config import (
    CurriculumConfig,
    FromOption,
    GraphConfig,
    ModelConfig,
    NoOption,
    Opt,
    OptimConfig,
    TrainConfig,
    cli_fields,
)

CONFIGS = (ModelConfig, OptimConfig, CurriculumConfig, GraphConfig)
"""The configs ``dncqa train`` builds from its options."""

INTERNAL = {
    "ModelConfig.clip": "the controller output's clip, 20 as in the shipped models",
    "OptimConfig.momentum": "RMSProp only",
}
"""The fields no option sets (a config file and the Python API do), and why."""


def _half(value: int) -> int:
    return value // 2


@dataclass
class Small:
    """A config of a command (for the builder's tests)."""

    width: Annotated[int, Opt("--width", "-w", help="How wide.", panel="Shape")] = 4
    name: Annotated[str, Opt("--name", help="Its name.", panel="Shape",
                             convert=str.lower)] = "a"
    loud: Annotated[bool, Opt("--loud/--quiet", help="Shout.", panel="Style")] = False
    limit: Annotated[float | None, Opt("--limit", help="A bound (0: none).", panel="Style",
                                       type=float, default=0.0,
                                       convert=lambda v: v or None)] = None
    half: Annotated[int, FromOption("--width", _half)] = 2
    secret: Annotated[int, NoOption("not for the command line")] = 7


def command_for(*classes: type) -> tuple[typer.Typer, list[Any]]:
    """A one-command Typer app with the options of ``classes``; the list receives the configs
    each call builds."""
    seen: list[Any] = []
    cli = typer.Typer(add_completion=False)

    @cli.command()
    @config_options(*classes, panels=("Shape", "Style"))
    def run(count: Annotated[int, typer.Option("--count", help="Times.")] = 1,
            **options: Any) -> None:
        seen.append((count, *configs_from(options, *classes)))

    return cli, seen


def test_the_builder_makes_one_option_per_annotated_field() -> None:
    cli, seen = command_for(Small)
    runner = CliRunner()
    assert runner.invoke(cli, []).exit_code == 0
    assert seen.pop() == (1, Small())
    result = runner.invoke(cli, ["-w", "10", "--name", "BIG", "--loud", "--limit", "2.5",
                                 "--count", "3"])
    assert result.exit_code == 0, result.output
    assert seen.pop() == (3, Small(width=10, name="big", loud=True, limit=2.5, half=5, secret=7))
    assert runner.invoke(cli, ["--secret", "1"]).exit_code == 2  # NoOption: no option
    params = {p.name: p for p in typer.main.get_command(cli).params}
    assert set(params) == {"count", "width", "name", "loud", "limit"}
    assert params["width"].default == 4 and params["limit"].default == 0.0
    assert params["loud"].secondary_opts == ["--quiet"]
    assert params["width"].rich_help_panel == "Shape" and params["loud"].help == "Shout."


def test_adding_an_annotated_field_adds_the_option() -> None:
    extended = dataclasses.make_dataclass(
        "Extended",
        [("depth", Annotated[int, Opt("--depth", help="How deep.", panel="Shape")],
          dataclasses.field(default=3))],
        bases=(Small,),
    )
    cli, seen = command_for(extended)
    runner = CliRunner()
    assert runner.invoke(cli, ["--depth", "9", "--width", "6"]).exit_code == 0
    config = seen.pop()[1]
    assert (config.depth, config.width, config.half) == (9, 6, 3)
    assert runner.invoke(cli, []).exit_code == 0 and seen.pop()[1].depth == 3
    help_text = runner.invoke(cli, ["--help"], env={"COLUMNS": "100"}).output
    assert "--depth" in help_text and "How deep." in help_text


def test_the_builder_refuses_clashes_and_unknown_panels() -> None:
    @dataclass
    class Twice:
        a: Annotated[int, Opt("--width", help="A.", panel="Shape")] = 1

    with pytest.raises(TypeError, match="--width is declared twice"):
        config_parameters(Small, Twice)
    with pytest.raises(TypeError, match="unknown --help panel 'Style'"):
        config_parameters(Small, panels=("Shape",))
    with pytest.raises(TypeError, match=r"\['width'\] are also config options"):
        config_options(Small, panels=("Shape", "Style"))(lambda width=1, **kw: None)
    with pytest.raises(TypeError, match="must take \\*\\*kwargs"):
        config_options(Small, panels=("Shape", "Style"))(lambda width=1: None)


def test_configs_from_keeps_defaults_for_options_not_given() -> None:
    (small,) = configs_from({"width": 8}, Small)
    assert small == Small(width=8, half=4)
    model, optim = configs_from({"backend": " CPP ", "clip_norm": 0.0}, ModelConfig, OptimConfig)
    assert model == ModelConfig(backend="cpp") and optim == OptimConfig(clip_norm=None)


def train_command() -> click.Command:
    return typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]


def test_every_field_of_the_train_configs_is_an_option_or_internal() -> None:
    params = {p.name: p for p in train_command().params}
    options = {opt for p in params.values() for opt in p.opts}
    internal = {}
    for cls in CONFIGS:
        for name, (_, meta) in cli_fields(cls).items():
            where = f"{cls.__name__}.{name}"
            assert meta is not None, f"{where}: declare Opt(...) or NoOption(reason)"
            if isinstance(meta, Opt):
                assert meta.name in options, where
                param = params[meta.name.lstrip("-").replace("-", "_")]
                assert param.rich_help_panel == meta.panel in TRAIN_PANELS, where
                assert param.help == meta.help, where
            elif isinstance(meta, FromOption):
                assert meta.option in options, where
            else:
                assert meta.reason, where
                internal[where] = meta.reason
    assert set(internal) == set(INTERNAL)
    for where, why in INTERNAL.items():
        assert internal[where].startswith(why), where


SAMPLES = {"--model": "ntm", "--controller": "feedforward", "--backend": "cpp",
           "--optimizer": "rmsprop"}
"""A value other than the default for the text options."""


def other_value(param: click.Option) -> list[str]:
    """Command-line words giving ``param`` a value other than its default."""
    if param.is_flag:
        return [param.secondary_opts[0] if param.default else param.opts[0]]
    name = param.opts[0]
    if name in SAMPLES:
        return [name, SAMPLES[name]]
    if isinstance(param.default, int):
        return [name, str(param.default + 3)]
    if isinstance(param.default, float):
        return [name, str(param.default + 0.25)]
    return [name, "other"]


def test_every_option_reaches_its_field() -> None:
    """Each config option of ``dncqa train``, given a value other than its default, changes
    its field (and only it), and :func:`given_options` gives it back as it was given."""
    command = train_command()
    fields_of: dict[str, set[tuple[int, str]]] = {}  # option -> the fields it sets
    for i, cls in enumerate(CONFIGS):
        for name, (_, meta) in cli_fields(cls).items():
            if isinstance(meta, Opt | FromOption):
                option = meta.name if isinstance(meta, Opt) else meta.option
                fields_of.setdefault(option, set()).add((i, name))
    defaults = [dataclasses.asdict(c()) for c in CONFIGS]
    tried = set()
    for param in command.params:
        if param.opts[0] not in fields_of:
            continue
        words = other_value(param)  # type: ignore[arg-type]
        ctx = command.make_context("train", ["--out", "x", *words])
        built = [dataclasses.asdict(c) for c in configs_from(ctx.params, *CONFIGS)]
        changed = {(i, k) for i, (a, b) in enumerate(zip(defaults, built, strict=True))
                   for k in a if a[k] != b[k]}
        assert changed and changed <= fields_of[param.opts[0]], (words, changed)
        assert sorted(given_options(ctx, exclude="processes")) == sorted(["--out", "x", *words])
        tried.add(param.opts[0])
    assert tried == set(fields_of)
    ctx = command.make_context("train", ["--out", "x", "--sparse-links", "3"])
    (model,) = configs_from(ctx.params, ModelConfig)
    assert (model.link, model.link_k) == ("sparse", 3)


def test_a_config_json_without_metadata_still_loads_and_checks_types() -> None:
    data = json.loads(TrainConfig().to_json())
    assert TrainConfig.from_dict(data) == TrainConfig()
    assert "Opt" not in TrainConfig().to_json()
    data["model"]["hidden_size"] = "64"
    with pytest.raises(DncQaError, match="model.hidden_size must be int, not '64'"):
        TrainConfig.from_dict(data).validate()
    data["model"]["hidden_size"] = 64
    data["optim"]["clip_norm"] = "off"
    with pytest.raises(DncQaError, match="optim.clip_norm must be float or null"):
        TrainConfig.from_dict(data).validate()


def test_the_training_docs_list_every_option() -> None:
    """docs/training.md's Options table names every option of ``dncqa train``."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text()
    table = text[text.index("## Options"):text.index("**Declaring an option**")]
    missing = [p.opts[0] for p in train_command().params
               if p.opts and p.opts[0].startswith("--") and f"`{p.opts[0]}" not in table]
    assert not missing, missing
