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


@pytest.mark.parametrize(("device", "modes"), [("cpu", None), ("cuda", "1t,cuda,cuda-eager")])
def test_bench_training_passes_its_options_on(monkeypatch: pytest.MonkeyPatch, device: str,
                                             modes: str | None) -> None:
    """``dncqa bench --training`` runs the training-throughput benchmark; with --device cuda,
    on the GPU captured and eager beside one CPU thread."""
    import benchmarks.train_throughput as train_throughput

    seen: list[list[str]] = []
    monkeypatch.setattr(train_throughput, "main", lambda argv: seen.append(argv) or 0)
    try:
        main(["bench", "--training", "--steps", "7", "--device", device])
    except SystemExit as exc:  # main may exit 0 explicitly
        assert not exc.code
    (argv,) = seen
    assert argv[argv.index("--steps") + 1] == "7"
    assert (argv[argv.index("--modes") + 1] if "--modes" in argv else None) == modes
