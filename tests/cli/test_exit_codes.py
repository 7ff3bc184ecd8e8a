"""A command that ends with ``typer.Exit(code)`` makes ``dncqa`` exit with that code."""

from __future__ import annotations

import pytest

from cli.main import main


def test_a_failing_benchmark_exits_with_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.speed as speed

    monkeypatch.setattr(speed, "main", lambda argv: 3)
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--quick"])
    assert exc.value.code == 3


def test_success_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.speed as speed

    monkeypatch.setattr(speed, "main", lambda argv: 0)
    try:
        main(["bench", "--quick"])
    except SystemExit as exc:  # main may exit 0 explicitly
        assert not exc.code
