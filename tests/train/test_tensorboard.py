"""``dncqa train --tensorboard DIR``: the metrics' scalars through a SummaryWriter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from dnc_qa.cli.main import main
from dnc_qa.train import metrics_log
from dnc_qa.train.metrics_log import MetricsLog, read_metrics

TINY = ["--hidden-size", "16", "--num-cells", "8", "--cell-width", "8", "--batch-size", "4",
        "--no-progress", "--final-eval-episodes", "8", "--eval-episodes", "8", "--threads", "1",
        "--processes", "1"]


class FakeWriter:
    made: list[FakeWriter] = []

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.scalars: list[tuple[str, float, int]] = []
        self.closed = False
        FakeWriter.made.append(self)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars.append((tag, value, step))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeWriter]:
    FakeWriter.made = []
    monkeypatch.setattr(metrics_log, "summary_writer_class", lambda: FakeWriter)
    return FakeWriter


def test_metrics_log_sends_the_scalars(tmp_path: Path, fake: type[FakeWriter]) -> None:
    log = MetricsLog(tmp_path / "m.jsonl", tensorboard=tmp_path / "tb")
    log.write("start", 0, config={"a": 1})
    log.write("train", 5, lesson=0, loss=0.5, accuracy=0.25, episodes_per_s=100.0,
              elapsed_s=1.0)
    log.write("eval", 5, lesson=0, accuracy=0.75, loss=0.4, per_step_accuracy=0.9)
    log.write("lesson", 5, lesson=1, accuracy=0.75)
    log.close()
    (writer,) = fake.made
    assert writer.log_dir == str(tmp_path / "tb") and writer.closed
    assert writer.scalars == [
        ("train/loss", 0.5, 5), ("train/accuracy", 0.25, 5), ("train/episodes_per_s", 100.0, 5),
        ("lesson", 0, 5), ("eval/accuracy", 0.75, 5), ("eval/loss", 0.4, 5), ("lesson", 1, 5)]
    assert [r["event"] for r in read_metrics(tmp_path / "m.jsonl")] == [
        "start", "train", "eval", "lesson"]
    quiet = MetricsLog(tmp_path / "n.jsonl", enabled=False, tensorboard=tmp_path / "tb2")
    assert quiet.board is None and len(fake.made) == 1  # not on other DDP processes


def test_train_logs_to_tensorboard(tmp_path: Path, fake: type[FakeWriter]) -> None:
    threads = torch.get_num_threads()
    try:
        main(["train", "--task", "copy", "--steps", "4", "--log-every", "2", "--out",
              str(tmp_path / "run"), "--tensorboard", str(tmp_path / "tb"), *TINY])
    except SystemExit as exc:
        assert not exc.code
    finally:
        torch.set_num_threads(threads)
    (writer,) = fake.made
    tags = {tag for tag, _, _ in writer.scalars}
    assert {"train/loss", "train/accuracy", "train/episodes_per_s", "lesson",
            "final/accuracy"} <= tags
    assert [s for t, _, s in writer.scalars if t == "train/loss"] == [2, 4]
    assert writer.closed


def test_without_tensorboard_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    with pytest.raises(SystemExit) as exc:
        main(["train", "--task", "copy", "--steps", "2", "--out", str(tmp_path / "run"),
              "--tensorboard", str(tmp_path / "tb"), *TINY])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install tensorboard" in err[0]
    assert not (tmp_path / "run").exists()
