"""``--processes auto``: when a training run starts two DDP processes."""

from __future__ import annotations

import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.train.distributed import auto_processes, parse_processes


@pytest.mark.parametrize(
    ("cuda", "cpus", "threads", "minutes", "steps", "expected"),
    [
        (False, 2, None, 10.0, None, 2),   # a long CPU run on two cores: both
        (False, 2, None, None, 5000, 2),
        (False, 2, None, 0.5, None, 2),    # the boundary counts as long
        (False, 2, None, 0.4, None, 1),    # short: the start-up is not repaid
        (False, 2, None, None, 50, 2),
        (False, 2, None, None, 49, 1),
        (False, 2, None, None, None, 1),   # resume with the saved budget: one
        (False, 1, None, 60.0, None, 1),   # one core
        (False, 16, 1, 60.0, None, 1),     # --threads pins one process
        (True, 16, None, 60.0, None, 1),   # CUDA: one process
    ],
)
def test_auto_processes(cuda: bool, cpus: int, threads: int | None, minutes: float | None,
                        steps: int | None, expected: int) -> None:
    assert auto_processes(cuda=cuda, cpus=cpus, threads=threads, minutes=minutes,
                          steps=steps) == expected


def test_parse_processes() -> None:
    assert parse_processes("auto") is None
    assert parse_processes(" AUTO ") is None
    assert parse_processes("3") == 3
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(DncQaError, match="--processes"):
            parse_processes(bad)


def _relaunches(argv: list[str], monkeypatch, capsys, cpus: int = 2) -> list[list[str]]:
    """The launcher arguments ``dncqa train argv`` would start processes with (none: it
    trained itself)."""
    import os

    import torch
    import torch.distributed.run

    from cli.main import main

    seen: list[list[str]] = []
    monkeypatch.setattr(torch.distributed.run, "main", lambda argv: seen.append(argv))
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        main(argv)
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return seen


def test_long_cpu_run_starts_two_processes(tmp_path, monkeypatch, capsys) -> None:
    (cmd,) = _relaunches(["train", "--task", "copy", "--minutes", "5", "--no-progress",
                          "--out", str(tmp_path / "r")], monkeypatch, capsys)
    assert cmd[cmd.index("--nproc-per-node") + 1] == "2"


def test_threads_keep_one_process(tmp_path, monkeypatch, capsys) -> None:
    seen = _relaunches(["train", "--task", "copy", "--steps", "2", "--threads", "1",
                        "--no-progress", "--out", str(tmp_path / "r")], monkeypatch, capsys)
    assert seen == []
    assert (tmp_path / "r" / "metrics.jsonl").exists()
