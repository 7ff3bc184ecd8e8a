"""The root ``dncqa`` command: help, info, and how errors reach the user."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dnc_qa.cli import main as cli_main
from dnc_qa.errors import DncQaError


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dnc_qa", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "info" in result.stdout and "demo" in result.stdout


def test_info_json_reports_versions_and_device():
    result = run_cli("info", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    import torch

    assert data["torch"] == torch.__version__
    assert data["default_device"] in ("cpu", "cuda")
    assert data["torch_threads"] >= 1


def test_unknown_command_exits_2_without_traceback():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_user_errors_are_one_line_and_exit_2(monkeypatch, capsys):
    def broken() -> None:
        raise DncQaError("the thing 'x' is missing; did you mean 'y'?")

    info = next(c for c in cli_main.app.registered_commands if c.name == "info")
    monkeypatch.setattr(info, "callback", broken)
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["info"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: the thing 'x' is missing; did you mean 'y'?"


def test_resolve_device_rejects_unknown_and_missing_devices():
    from dnc_qa.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(DncQaError, match="unknown device"):
        resolve_device("tpu-9")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DncQaError, match="no CUDA GPU"):
            resolve_device("cuda")
