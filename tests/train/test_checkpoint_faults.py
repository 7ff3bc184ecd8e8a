"""Checkpoints that must be refused before anything uses them: non-finite tensors, crafted
pickles, configs of the wrong types; and the trainer's options that no run can use."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.train import checkpoint as C
from dnc_qa.train.config import TrainConfig
from dnc_qa.train.model_factory import build_model

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import tiny_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _run_dir(tmp_path: Path) -> Path:
    config = tiny_config()
    torch.manual_seed(0)
    model = build_model(config.model, 10, 8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(2, 3, 10))[0].sum().backward()
    opt.step()
    state = C.TrainerState(step=10, optimizer=opt.state_dict(),
                           rng_states=torch.Generator().manual_seed(1).get_state()[None])
    C.save_checkpoint(tmp_path, model, config, state)
    return C.latest_checkpoint(tmp_path)


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    ckpt = _run_dir(tmp_path)
    weights = load_file(str(ckpt / C.WEIGHTS))
    name = sorted(weights)[1]
    weights[name] = weights[name].clone()
    weights[name].view(-1)[0] = math.nan
    save_file(weights, str(ckpt / C.WEIGHTS))
    with pytest.raises(CheckpointError, match=rf"model\.safetensors: tensor '{name}' holds NaN"):
        C.load_checkpoint(tmp_path)
    weights[name].view(-1)[0] = math.inf
    save_file(weights, str(ckpt / C.WEIGHTS))
    with pytest.raises(CheckpointError, match="infinite"):
        C.load_checkpoint(ckpt)


def test_non_finite_optimizer_state_is_refused(tmp_path: Path) -> None:
    ckpt = _run_dir(tmp_path)
    payload = torch.load(ckpt / C.TRAINER, weights_only=True)
    first = next(iter(payload["optimizer"]["state"].values()))
    first["exp_avg"].view(-1)[0] = math.nan
    torch.save(payload, ckpt / C.TRAINER)
    with pytest.raises(CheckpointError, match=r"trainer\.pt: optimizer state .*exp_avg"):
        C.load_checkpoint(ckpt)


class _Payload:
    def __reduce__(self):  # pragma: no cover - never run: the loader refuses it
        return (print, ("pwned",))


def test_crafted_pickle_is_refused_without_unsafe_advice(tmp_path: Path) -> None:
    ckpt = _run_dir(tmp_path)
    with open(ckpt / C.TRAINER, "wb") as fh:
        pickle.dump({"format_version": 1, "x": _Payload()}, fh)
    with pytest.raises(CheckpointError) as err:
        C.load_checkpoint(ckpt)
    message = str(err.value)
    assert "trainer.pt" in message and "refused" in message
    assert "weights_only" not in message and "False" not in message


@pytest.mark.parametrize(("path", "value"), [
    (("batch_size",), "16"),
    (("optim", "lr"), "fast"),
    (("model", "hidden_size"), 8.5),
    (("model",), [1, 2]),
    (("steps",), True),
    (("model", "unknown_field"), 1),
])
def test_config_of_wrong_types_is_refused(tmp_path: Path, path: tuple, value: object) -> None:
    ckpt = _run_dir(tmp_path)
    data = json.loads((ckpt / C.CONFIG).read_text())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (ckpt / C.CONFIG).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"config\.json"):
        C.load_checkpoint(ckpt)


def test_config_with_nan_is_refused(tmp_path: Path) -> None:
    ckpt = _run_dir(tmp_path)
    text = (ckpt / C.CONFIG).read_text().replace('"lr": 0.003', '"lr": NaN')
    assert "NaN" in text
    (ckpt / C.CONFIG).write_text(text)
    with pytest.raises(CheckpointError, match=r"config\.json"):
        C.load_checkpoint(ckpt)


@pytest.mark.parametrize("lr", [math.inf, -math.inf, math.nan, 0.0])
def test_non_finite_or_zero_lr_is_refused(lr: float) -> None:
    config = TrainConfig()
    config.optim.lr = lr
    with pytest.raises(DncQaError, match="--lr"):
        config.validate()


def test_resume_from_a_nan_checkpoint_is_refused_before_training(tmp_path: Path) -> None:
    from dnc_qa.train.trainer import Trainer

    ckpt = _run_dir(tmp_path)
    weights = load_file(str(ckpt / C.WEIGHTS))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], math.nan)
    save_file(weights, str(ckpt / C.WEIGHTS))
    with pytest.raises(CheckpointError, match="NaN"):
        Trainer(tiny_config(steps=None), tmp_path, resume=True, show_progress=False)
    assert not (tmp_path / "metrics.jsonl").exists() or "rollback" not in (
        tmp_path / "metrics.jsonl").read_text()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dnc_qa.cli.main", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=180)


def _user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_cli_refuses_bad_training_options(tmp_path: Path) -> None:
    _user_error(_cli("train", "--task", "copy", "--steps", "1", "--out", ""), "--out")
    _user_error(_cli("train", "--task", "copy", "--steps", "1", "--out="), "--out")
    _user_error(_cli("train", "--task", "copy", "--steps", "1", "--lr", "inf", "--out",
                     str(tmp_path / "run")), "--lr", "finite")
    assert not (tmp_path / "run").exists()


def test_cli_eval_refuses_a_nan_checkpoint(tmp_path: Path) -> None:
    ckpt = _run_dir(tmp_path)
    weights = load_file(str(ckpt / C.WEIGHTS))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], math.nan)
    save_file(weights, str(ckpt / C.WEIGHTS))
    _user_error(_cli("eval", str(tmp_path), "--task", "copy", "--json"), name, "NaN")
