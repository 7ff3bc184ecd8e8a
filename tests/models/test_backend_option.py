"""The memory backend and sparse links as model options: ``ModelConfig.backend`` / ``link`` /
``link_k`` (recorded in a run's config.json, read as ``auto`` / dense from a config saved
without them), checked by ``TrainConfig.validate``, built by the model factory, and reachable
from ``dncqa train --backend`` / ``--sparse-links``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dnc_qa.cli.main import main
from dnc_qa.errors import DncQaError
from dnc_qa.memory import native
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.config import ModelConfig, TrainConfig
from dnc_qa.train.model_factory import build_model

TINY = [
    "--hidden-size", "8", "--num-cells", "6", "--cell-width", "4", "--batch-size", "2",
    "--no-progress", "--final-eval-episodes", "4", "--eval-episodes", "4", "--threads", "1",
    "--no-curriculum",
]


def test_defaults_and_configs_saved_without_the_fields():
    assert (ModelConfig().backend, ModelConfig().link, ModelConfig().link_k) == ("auto", "dense", 8)
    data = json.loads(TrainConfig().to_json())
    assert data["model"]["backend"] == "auto" and data["model"]["link"] == "dense"
    for key in ("backend", "link", "link_k"):
        del data["model"][key]  # a config.json written before these fields existed
    config = TrainConfig.from_dict(data)
    assert (config.model.backend, config.model.link, config.model.link_k) == ("auto", "dense", 8)
    config.validate()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ModelConfig(backend="fast"), "unknown backend 'fast'"),
        (ModelConfig(kind="lstm", backend="cpp"), "--backend cpp: only for --model dnc"),
        (ModelConfig(kind="ntm", link="sparse"), "--sparse-links: only for --model dnc"),
        (ModelConfig(link="csr"), "unknown link"),
        (ModelConfig(link="sparse", link_k=0), "--sparse-links is out of range"),
    ],
)
def test_validate_names_the_bad_option(model, message):
    with pytest.raises(DncQaError, match=message):
        TrainConfig(model=model).validate()


def test_the_factory_builds_the_backend_and_says_why_not():
    model = build_model(ModelConfig(backend="torch", link="dense"), 6, 5)
    assert model.memory.backend == "torch"
    sparse = build_model(ModelConfig(link="sparse", link_k=3), 6, 5)
    assert (sparse.memory.link, sparse.memory.link_k) == ("sparse", 3)
    assert sparse.backend_for(torch.zeros(1, 2, 6)).name == "sparse"
    with pytest.raises(DncQaError, match="backend 'torch' cannot run here: it computes dense"):
        build_model(ModelConfig(link="sparse", backend="torch"), 6, 5)
    if native.kernels() is not None:
        with pytest.raises(DncQaError, match="2 write heads"):
            build_model(ModelConfig(num_writes=2, backend="cpp"), 6, 5)


def _saved_model(run: Path) -> dict:
    """The model part of the config.json of ``run``'s latest checkpoint."""
    checkpoint = latest_checkpoint(run)
    assert checkpoint is not None
    return json.loads((Path(checkpoint) / "config.json").read_text())["model"]


def _train(args: list[str], capsys) -> tuple[int, str]:
    try:
        main(["train", "--task", "copy", "--steps", "2", *TINY, *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_the_train_command_records_the_options(tmp_path: Path, capsys):
    threads = torch.get_num_threads()
    try:
        code, err = _train(["--backend", "torch", "--out", str(tmp_path / "dense")], capsys)
        assert code == 0, err
        saved = _saved_model(tmp_path / "dense")
        assert (saved["backend"], saved["link"]) == ("torch", "dense")
        code, err = _train(["--sparse-links", "3", "--out", str(tmp_path / "sparse")], capsys)
        assert code == 0, err
        saved = _saved_model(tmp_path / "sparse")
        assert (saved["backend"], saved["link"], saved["link_k"]) == ("auto", "sparse", 3)
        code, err = _train(["--backend", "gpu", "--out", str(tmp_path / "bad")], capsys)
        assert code == 2 and "unknown backend 'gpu'" in err
    finally:
        torch.set_num_threads(threads)
