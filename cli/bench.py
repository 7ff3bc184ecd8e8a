"""``dncqa bench``: the speed/memory harness of ``benchmarks/`` (run from the repository root).

A thin wrapper around ``python -m benchmarks.speed``; see docs/benchmarks.md.
"""

from __future__ import annotations

import typer

from dnc_qa.errors import DncQaError


def bench(
    quick: bool = typer.Option(False, "--quick", help="Reference config and N=512 only."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    out: str = typer.Option("benchmarks/results", "--out", help="Output folder."),
    configs: str = typer.Option(None, "--configs", help="Comma-separated config names."),
    reps: int = typer.Option(5, "--reps", help="Timed rounds (medians are reported)."),
    compile_: bool = typer.Option(False, "--compile", help="Add the torch.compile path."),
    no_peak: bool = typer.Option(False, "--no-peak", help="Skip the peak-memory runs."),
    training: bool = typer.Option(
        False, "--training", help="Graph-task training throughput instead (episodes/s)."
    ),
    steps: int = typer.Option(100, "--steps", help="--training: steps per row."),
    baseline: str = typer.Option(
        None, "--baseline-commit", help="--training: also time the code at this commit."
    ),
    repeats: int = typer.Option(
        1, "--repeats", min=1, help="--training: runs per row, interleaved; medians shown."
    ),
) -> None:
    """Time dnc_qa's DNC against pip dnc 1.1.0 (train, inference, peak memory).

    Run it from the repository root (it runs python -m benchmarks.speed).
    --training times the graph-task recipes through the real trainer at the
    paper's final lesson instead (python -m benchmarks.train_throughput), on
    1 thread, 2 threads and 2 DDP processes; with --device cuda, on 1 thread
    and on the GPU with and without the step captured as CUDA graphs.

    Examples:

      dncqa bench --quick

      dncqa bench --device cuda --out runs/bench-gpu

      dncqa bench --training --steps 60 --baseline-commit HEAD~20

      dncqa bench --training --repeats 3 --baseline-commit HEAD~5

      dncqa bench --training --device cuda --steps 50
    """
    try:
        from benchmarks import speed, train_throughput
    except ImportError as exc:
        raise DncQaError(
            "dncqa bench needs the repository's benchmarks/ folder: run it from the "
            "repository root (or use `python -m benchmarks.speed`)"
        ) from exc
    if training:
        argv = ["--steps", str(steps), "--out", out, "--repeats", str(repeats)]
        if device.startswith("cuda"):
            argv += ["--modes", "1t,cuda,cuda-eager"]
        if baseline:
            argv += ["--baseline-commit", baseline]
        raise typer.Exit(train_throughput.main(argv))
    argv = ["--device", device, "--out", out, "--reps", str(reps)]
    if quick:
        argv.append("--quick")
    if configs:
        argv += ["--configs", configs]
    if compile_:
        argv.append("--compile")
    if no_peak:
        argv.append("--no-peak")
    raise typer.Exit(speed.main(argv))
