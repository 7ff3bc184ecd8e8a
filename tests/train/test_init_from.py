"""``--init-from``: a new run starts from the weights of a shipped model, a run folder or a
checkpoint folder, only when it builds the same network; the start record names the source."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.config import CurriculumConfig, ModelConfig, TrainConfig
from dnc_qa.train.metrics_log import read_metrics
from dnc_qa.train.trainer import METRICS_FILE, Trainer, train
from tests.cli.test_train_cli import TINY, assert_user_error, run_main
from tests.train.train_helpers import tiny_config

SHIPPED = Path(__file__).resolve().parents[2] / "dnc_qa" / "pretrained" / "traversal-dnc"
# the shipped traversal model's network (its config.json), for the kb_qa task
TRAVERSAL_DNC = ModelConfig(kind="dnc", hidden_size=128, num_cells=16, cell_width=64,
                            num_reads=3, controller="lstm", masking=True, fit_cells=True)


def _kb_config(**overrides) -> TrainConfig:
    config = TrainConfig(task="kb_qa", model=TRAVERSAL_DNC, batch_size=2, steps=1,
                         device="cpu", final_eval_episodes=2, log_every=1,
                         curriculum=CurriculumConfig(eval_every=100, eval_episodes=2))
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def _same_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> bool:
    state = model.state_dict()
    return set(state) == set(weights) and all(torch.equal(state[k], weights[k]) for k in state)


def test_shipped_model_by_name(tmp_path: Path) -> None:
    shipped = load_file(str(SHIPPED / "model.safetensors"))
    trainer = Trainer(_kb_config(), tmp_path / "run", show_progress=False,
                      init_from="traversal-dnc")
    assert _same_weights(trainer.model, shipped)
    trainer.run()
    start = read_metrics(tmp_path / "run" / METRICS_FILE)[0]
    assert start["event"] == "start"
    assert start["init_from"]["ref"] == "traversal-dnc"
    assert start["init_from"]["task"] == "traversal"
    assert Path(start["init_from"]["path"]) == SHIPPED
    step0 = load_file(str(tmp_path / "run" / "checkpoints" / "step-00000000" /
                          "model.safetensors"))
    assert step0.keys() == shipped.keys()  # the run began from the shipped weights
    assert all(torch.equal(step0[k], shipped[k]) for k in shipped)


def test_run_folder_and_checkpoint_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    train(tiny_config(steps=3, final_eval_episodes=4), source, show_progress=False)
    latest = latest_checkpoint(source)
    assert latest is not None
    weights = load_file(str(latest / "model.safetensors"))
    for i, ref in enumerate((source, latest, latest / "model.safetensors")):
        out = tmp_path / f"from-{i}"
        trainer = Trainer(tiny_config(seed=5), out, show_progress=False, init_from=ref)
        assert _same_weights(trainer.model, weights)
    fresh = Trainer(tiny_config(seed=5), tmp_path / "fresh", show_progress=False)
    assert not _same_weights(fresh.model, weights)


def test_a_different_network_is_refused(tmp_path: Path) -> None:
    smaller = ModelConfig(**{**TRAVERSAL_DNC.__dict__, "hidden_size": 64, "num_reads": 1})
    with pytest.raises(DncQaError) as info:
        Trainer(_kb_config(model=smaller), tmp_path / "run", show_progress=False,
                init_from="traversal-dnc")
    message = str(info.value)
    assert "hidden_size: 128 (this run: 64)" in message and "num_reads: 3 (this run: 1)" in message
    assert "\n" not in message
    assert not (tmp_path / "run").exists()  # nothing written


def test_other_task_sizes_are_refused(tmp_path: Path) -> None:
    copy_like = tiny_config(model=ModelConfig(**{**TRAVERSAL_DNC.__dict__}))
    with pytest.raises(DncQaError, match="input_size: 92 for traversal"):
        Trainer(copy_like, tmp_path / "run", show_progress=False, init_from="traversal-dnc")


def test_unknown_source_and_resume(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such run, checkpoint or shipped model"):
        Trainer(tiny_config(), tmp_path / "run", show_progress=False,
                init_from=str(tmp_path / "nothing"))
    train(tiny_config(steps=2, final_eval_episodes=4), tmp_path / "run", show_progress=False)
    with pytest.raises(DncQaError, match="starts a new run"):
        Trainer(tiny_config(steps=4), tmp_path / "run", resume=True, show_progress=False,
                init_from=str(tmp_path / "run"))


def test_cli_refuses_a_different_network_in_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["train", "--task", "kb_qa", "--steps", "1", "--out",
                             str(tmp_path / "run"), "--init-from", "traversal-dnc", *TINY],
                            capsys)
    assert_user_error(code, err, "--init-from traversal-dnc", "hidden_size: 128 (this run: 16)")


def test_cli_starts_from_the_shipped_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code, _, err = run_main([
        "train", "--task", "kb_qa", "--steps", "1", "--out", str(out), "--init-from",
        "traversal-dnc", "--model", "dnc", "--controller", "lstm", "--masking",
        "--hidden-size", "128", "--num-cells", "16", "--cell-width", "64", "--num-reads", "3",
        "--fit-cells", "--batch-size", "2", "--threads", "1", "--no-progress",
        "--final-eval-episodes", "2", "--eval-episodes", "2"], capsys)
    assert code == 0, err
    start = read_metrics(out / METRICS_FILE)[0]
    assert start["init_from"]["ref"] == "traversal-dnc"


def test_partial_copies_only_what_fits(tmp_path: Path) -> None:
    """--init-partial: a feed-forward DNC of the shipped model's width takes its memory
    interface and output layer from the LSTM-controller model; the controller stays fresh; the
    start record lists what was copied."""
    source = load_file(str(SHIPPED / "model.safetensors"))
    feedforward = TrainConfig(task="kb_qa", model=ModelConfig(
        kind="dnc", hidden_size=128, num_cells=16, cell_width=64, num_reads=3,
        controller="feedforward", masking=True, fit_cells=True), batch_size=2, steps=1,
        device="cpu",
        final_eval_episodes=2, log_every=1,
        curriculum=CurriculumConfig(eval_every=100, eval_episodes=2))
    with pytest.raises(DncQaError, match="controller"):
        Trainer(feedforward, tmp_path / "strict", show_progress=False, init_from="traversal-dnc")
    trainer = Trainer(feedforward, tmp_path / "run", show_progress=False,
                      init_from="traversal-dnc",
                      init_partial=True)
    state = trainer.model.state_dict()
    copied = trainer.init_from["copied"]
    assert copied and all(torch.equal(state[k], source[k]) for k in copied)
    fresh = [k for k in state if k not in copied]
    assert fresh and all(k not in source or state[k].shape != source[k].shape
                         or not torch.equal(state[k], source[k]) for k in fresh)
    trainer.run()
    start = next(r for r in read_metrics(tmp_path / "run" / METRICS_FILE)
                 if r["event"] == "start")
    assert start["init_from"]["copied"] == copied


def test_partial_needs_init_from(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["train", "--task", "copy", "--steps", "1", "--init-partial",
                             "--out", str(tmp_path / "r"), *TINY], capsys)
    assert_user_error(code, err, "--init-partial needs --init-from")
