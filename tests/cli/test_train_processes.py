"""``dncqa train`` with several DDP processes: the options each process runs with, input
checked once before any process starts, and every way the processes can stop ending in one
line and the right exit status (the real two-process run: tests/train/test_resume_and_ddp.py).

PyTorch's launcher is replaced by a stand-in here, so nothing is started."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch.distributed.run
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from dnc_qa.errors import DncQaError
from dnc_qa.train.checkpoint import latest_checkpoint
from tests.cli.test_train_cli import TINY, assert_user_error, run_main

TWO = ["--processes", "2", "--no-progress"]


@pytest.fixture
def launcher(monkeypatch) -> list[list[str]]:
    """Replace the launcher; returns the argument lists it was called with."""
    calls: list[list[str]] = []
    monkeypatch.setattr(torch.distributed.run, "main", lambda argv: calls.append(argv))
    monkeypatch.delenv("RANK", raising=False)
    return calls


def failing_launcher(monkeypatch, error: BaseException) -> None:
    def launch(argv: list[str]) -> None:
        raise error

    monkeypatch.setattr(torch.distributed.run, "main", launch)
    monkeypatch.delenv("RANK", raising=False)


def child_failed(exitcode: int, rank: int = 0) -> ChildFailedError:
    failure = ProcessFailure(local_rank=rank, pid=4321, exitcode=exitcode, error_file="")
    return ChildFailedError("dnc_qa.train", {rank: failure})


def test_processes_run_the_same_options(tmp_path: Path, capsys, launcher) -> None:
    """--processes N starts N processes with the options given (however the CLI was called:
    here in-process, not from sys.argv), less --processes itself."""
    out = tmp_path / "p"
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", *TWO, "--masking",
                             "--lr", "0.002", "--out", str(out)], capsys)
    assert code == 0, err
    (argv,) = launcher
    assert argv[argv.index("--nproc-per-node") + 1] == "2"
    args = argv[argv.index("dnc_qa.train") + 1:]
    assert "--processes" not in args
    pairs = {a: b for a, b in zip(args, args[1:], strict=False)}
    assert pairs["--task"] == "copy" and pairs["--steps"] == "3" and pairs["--lr"] == "0.002"
    assert pairs["--out"] == str(out)
    assert "--no-progress" in args and "--masking" in args and "--model" not in args
    assert not out.exists()  # the processes write the run, not the launching one


def test_processes_default_to_one_thread(tmp_path: Path, capsys, launcher, monkeypatch) -> None:
    import os

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", *TWO,
                             "--out", str(tmp_path / "p")], capsys)
    assert code == 0, err
    assert os.environ["OMP_NUM_THREADS"] == "1"


@pytest.mark.parametrize("case", ["existing run", "corrupt checkpoint", "unknown init",
                                  "bad config"])
def test_bad_input_is_caught_before_processes_start(tmp_path: Path, capsys, launcher,
                                                    case: str) -> None:
    run = tmp_path / "run"
    options = ["--task", "copy", "--steps", "3", "--out", str(run)]
    if case in ("existing run", "corrupt checkpoint"):
        code, _, err = run_main(["train", "--task", "copy", "--steps", "2", "--out", str(run),
                                 *TINY], capsys)
        assert code == 0, err
        if case == "corrupt checkpoint":
            found = latest_checkpoint(run)
            assert found is not None
            (Path(found) / "model.safetensors").write_bytes(b"not a safetensors file")
            options.append("--resume")
        expected = "--resume" if case == "existing run" else "model.safetensors"
    elif case == "unknown init":
        options += ["--init-from", str(tmp_path / "nowhere")]
        expected = "nowhere"
    else:
        options += ["--lr", "-1"]
        expected = "lr"
    code, _, err = run_main(["train", *options, *TWO], capsys)
    assert_user_error(code, err, expected)
    assert launcher == []


def test_a_process_user_error_is_its_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """A process that stopped with status 2 printed its error: nothing is added."""
    failing_launcher(monkeypatch, child_failed(2))
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", *TWO,
                             "--out", str(tmp_path / "p")], capsys)
    assert code == 2
    assert err == ""


@pytest.mark.parametrize(("exitcode", "shown"), [(1, "exit status 1"),
                                                 (-signal.SIGKILL, "signal SIGKILL")])
def test_a_failed_process_is_one_line(tmp_path: Path, capsys, monkeypatch, exitcode: int,
                                      shown: str) -> None:
    failing_launcher(monkeypatch, child_failed(exitcode, rank=1))
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", *TWO,
                             "--out", str(tmp_path / "p")], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: training process 1 of 2") and shown in lines[0]


def test_a_stop_signal_says_how_to_continue(tmp_path: Path, capsys, monkeypatch) -> None:
    failing_launcher(monkeypatch, SignalException("stop", signal.SIGTERM))
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", *TWO,
                             "--out", str(tmp_path / "p")], capsys)
    assert code == 128 + signal.SIGTERM
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "SIGTERM" in lines[0] and "--resume" in lines[0]


@pytest.mark.parametrize(("rank", "printed"), [("0", True), ("1", False)])
def test_only_rank_zero_prints_a_user_error(tmp_path: Path, capsys, monkeypatch, rank: str,
                                            printed: bool) -> None:
    """Every process checks the same input; one line in all, from rank 0."""
    monkeypatch.setenv("RANK", rank)
    code, _, err = run_main(["train", "--task", "copy", "--steps", "3", "--lr", "-1",
                             "--out", str(tmp_path / "p")], capsys)
    assert code == 2
    assert (err != "") is printed
    if printed:
        assert_user_error(code, err, "lr")


def test_plan_run_reads_what_a_resumed_run_continues(tmp_path: Path, capsys) -> None:
    from dnc_qa.train.config import TrainConfig
    from dnc_qa.train.trainer import plan_run

    run = tmp_path / "run"
    code, _, err = run_main(["train", "--task", "copy", "--steps", "2", "--out", str(run),
                             "--lr", "0.003", *TINY], capsys)
    assert code == 0, err
    start = plan_run(TrainConfig(task="copy", steps=9), run, resume=True)
    assert start.loaded is not None and start.loaded.trainer.step == 2
    assert start.config.optim.lr == 0.003 and start.config.steps == 9  # saved + this budget
    assert start.task.name == "copy" and start.initial is None
    with pytest.raises(DncQaError, match="--init-from starts a new run"):
        plan_run(TrainConfig(task="copy", steps=9), run, resume=True, init_from=run)
    fresh = plan_run(TrainConfig(task="copy", steps=9, model=start.config.model),
                     tmp_path / "new", init_from=run)
    assert fresh.loaded is None and fresh.initial is not None
    assert fresh.initial.trainer.step == 2
