"""``dncqa train`` and ``dncqa eval`` from the command line: help, JSON output, and bad input
that must end in one error line with exit status 2 (``dncqa demo``: tests/cli/test_demo.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dnc_qa.cli.main import main
from dnc_qa.train.checkpoint import latest_checkpoint


def latest_checkpoint_dir(run: Path) -> Path:
    found = latest_checkpoint(run)
    assert found is not None
    return Path(found)

TINY = [
    "--hidden-size", "16", "--num-cells", "8", "--cell-width", "8", "--batch-size", "4",
    "--no-progress", "--final-eval-episodes", "20", "--eval-episodes", "8", "--threads", "1",
]


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    """Call the CLI in-process; return (exit status, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny copy run shared by the eval tests."""
    out = tmp_path_factory.mktemp("run") / "copy"
    threads = torch.get_num_threads()
    try:
        main(["train", "--task", "copy", "--steps", "6", "--out", str(out), *TINY])
    except SystemExit as exc:
        assert not exc.code
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.parametrize("command", ["train", "eval", "demo"])
def test_help_has_examples(command: str, capsys) -> None:
    code, out, _ = run_main([command, "--help"], capsys)
    assert code == 0
    assert "Examples" in out and f"dncqa {command}" in out


def test_train_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code, stdout, _ = run_main(
        ["train", "--task", "reverse-copy", "--model", "lstm", "--steps", "4", "--out", str(out),
         "--json", *TINY],
        capsys,
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["task"] == "reverse_copy" and report["model"] == "lstm"
    assert report["steps"] == 4 and report["episodes"] == 16
    for key in ("accuracy", "per_step_accuracy", "bit_error_per_sequence"):
        assert report[key] >= 0
    assert (out / "metrics.jsonl").is_file()


def test_eval_json(trained: Path, capsys) -> None:
    code, stdout, _ = run_main(["eval", str(trained), "--task", "copy", "--episodes", "12",
                                "--json"], capsys)
    assert code == 0
    report = json.loads(stdout)
    assert report["task"] == "copy" and report["model"] == "dnc" and report["episodes"] == 12
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["per_step_accuracy"] <= 1
    assert report["bit_error_per_sequence"] >= 0


def test_eval_longer_sequences_with_bigger_memory(trained: Path, capsys) -> None:
    code, stdout, _ = run_main(
        ["eval", str(trained), "--task", "copy", "--episodes", "4", "--min-length", "30",
         "--max-length", "30", "--num-cells", "64", "--json"],
        capsys,
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["num_cells"] == 64 and report["max_length"] == 30


def test_unknown_task_suggests(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["train", "--task", "cpy", "--steps", "1", "--out", str(tmp_path)],
                            capsys)
    assert_user_error(code, err, "'cpy'", "did you mean copy")


def test_unknown_model_suggests(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["train", "--model", "dnk", "--steps", "1", "--out", str(tmp_path)],
                            capsys)
    assert_user_error(code, err, "'dnk'", "did you mean dnc")


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--steps", "0"], "--steps"),
        (["--lr", "-1", "--steps", "3"], "--lr"),
        (["--batch-size", "0", "--steps", "3"], "--batch-size"),
        ([], "--steps"),
        (["--steps", "3", "--optimizer", "sgd"], "optimizer"),
        (["--steps", "3", "--device", "tpu"], "device"),
        (["--steps", "3", "--controller", "gru"], "controller"),
        (["--steps", "3", "--model", "ntm", "--masking"], "--masking: only for --model dnc"),
    ],
)
def test_bad_train_options(tmp_path: Path, capsys, options: list[str], fragment: str) -> None:
    code, _, err = run_main(["train", "--out", str(tmp_path / "x"), *options], capsys)
    assert_user_error(code, err, fragment)


def test_train_feedforward_masked_dnc(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ff"
    code, _, err = run_main(
        ["train", "--task", "copy", "--steps", "2", "--out", str(out), "--controller",
         "feedforward", "--masking", *TINY],
        capsys,
    )
    assert code == 0, err
    saved = json.loads((latest_checkpoint_dir(out) / "config.json").read_text())
    assert saved["model"]["controller"] == "feedforward" and saved["model"]["masking"] is True


def test_existing_run_without_resume(trained: Path, capsys) -> None:
    code, _, err = run_main(["train", "--steps", "2", "--out", str(trained), *TINY], capsys)
    assert_user_error(code, err, "--resume")


def test_eval_missing_checkpoint(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nothing-here"
    code, _, err = run_main(["eval", str(missing), "--task", "copy"], capsys)
    assert_user_error(code, err, str(missing))


def test_eval_corrupt_checkpoint(trained: Path, tmp_path: Path, capsys) -> None:
    import shutil

    from dnc_qa.train.checkpoint import latest_checkpoint

    broken = tmp_path / "broken"
    shutil.copytree(latest_checkpoint(trained), broken)
    (broken / "model.safetensors").write_bytes(b"\x00\x01not a safetensors file")
    code, _, err = run_main(["eval", str(broken), "--task", "copy"], capsys)
    assert_user_error(code, err, str(broken / "model.safetensors"), "corrupt")


def test_eval_task_that_does_not_fit(trained: Path, capsys) -> None:
    code, _, err = run_main(["eval", str(trained), "--task", "repeat_copy"], capsys)
    assert_user_error(code, err, "repeat_copy")
    code, _, err = run_main(["eval", str(trained), "--task", "asociative_recall"], capsys)
    assert_user_error(code, err, "did you mean associative_recall")


def test_eval_bad_lengths(trained: Path, capsys) -> None:
    code, _, err = run_main(
        ["eval", str(trained), "--task", "copy", "--min-length", "9", "--max-length", "3"],
        capsys,
    )
    assert_user_error(code, err, "length")


def test_subprocess_error_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dnc_qa.cli.main", "eval", str(tmp_path / "none"), "--task",
         "copy"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert_user_error(result.returncode, result.stderr, "not found")
    assert result.stdout == ""

