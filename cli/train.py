"""``dncqa train``: train a DNC, NTM or LSTM on a task (also ``python -m dnc_qa.train``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from dnc_qa.cli.panels import TRAIN_PANELS, with_panels
from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps


def result_dict(result: Any) -> dict[str, Any]:
    """The JSON summary of a :class:`~dnc_qa.train.trainer.TrainResult`."""
    final = result.final
    return {
        "task": result.task,
        "model": result.model,
        "out_dir": str(result.out_dir),
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "steps": result.steps,
        "episodes": result.episodes,
        "elapsed_s": round(result.elapsed_s, 3),
        "minutes": round(result.elapsed_s / 60, 3),
        "lesson": result.lesson + 1,
        "lessons": result.lessons,
        "stop_reason": result.stop_reason,
        "eval_episodes": final.episodes,
        "accuracy": final.accuracy,
        "per_step_accuracy": final.per_step_accuracy,
        "bit_error_per_sequence": final.bit_error_per_sequence,
        "loss": final.loss,
    }


def given_options(ctx: typer.Context, exclude: str) -> list[str]:
    """The options this command was given on its command line, as command-line words again
    (from the parsed values, so it holds however the command was called: ``dncqa``,
    ``main(argv)`` or the Python API), without the parameter named ``exclude``."""
    words: list[str] = []
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if (param.name == exclude or param.param_type_name != "option"
                or source is None or source.name != "COMMANDLINE"):
            continue
        value = ctx.params[param.name]
        if param.is_flag:
            flags = param.opts if value else param.secondary_opts
            words += flags[:1]
        else:
            words += [param.opts[0], str(value)]
    return words


def relaunch_with_torchrun(ctx: typer.Context, processes: int, threads: int | None) -> None:
    """Run this same ``dncqa train`` command as ``processes`` DDP processes through
    ``torch.distributed.run`` (PyTorch's launcher); rank 0 prints what a single process
    would. The exit status is the launcher's."""
    import subprocess
    import sys

    args = given_options(ctx, exclude="processes")  # each worker is one process
    env = dict(os.environ)
    if threads is not None:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           str(processes), "-m", "dnc_qa.train", *args]
    code = subprocess.call(cmd, env=env)
    if code:
        raise typer.Exit(2 if code == 2 else code)


@with_panels(TRAIN_PANELS)
def train(
    ctx: typer.Context,
    task: str = typer.Option("copy", "--task", "-t", help="Task name, e.g. copy, repeat_copy."),
    model: str = typer.Option("dnc", "--model", "-m", help="dnc, ntm or lstm."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (checkpoints, metrics)."),
    steps: int | None = typer.Option(None, "--steps", help="Optimizer steps to train for."),
    minutes: float | None = typer.Option(None, "--minutes", help="Wall-time budget in minutes."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the run in --out with its saved config (see below).",
    ),
    init_from: str | None = typer.Option(
        None, "--init-from",
        help="Start a new run from the weights of a run folder, a checkpoint folder or a "
        "shipped model (e.g. traversal-dnc); the model options must build the same network.",
    ),
    init_partial: bool = typer.Option(
        False, "--init-partial",
        help="With --init-from: copy only the weights of the same name and shape.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for weights and data."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary on stdout."),
    batch_size: int = typer.Option(16, "--batch-size", help="Episodes per batch (per process)."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam or rmsprop."),
    lr: float = typer.Option(3e-3, "--lr", help="Learning rate."),
    clip_norm: float = typer.Option(10.0, "--clip-norm", help="Gradient-norm clip (0: off)."),
    hidden_size: int = typer.Option(64, "--hidden-size", help="Controller width."),
    controller_layers: int = typer.Option(1, "--controller-layers", help="Controller layers."),
    num_cells: int = typer.Option(32, "--num-cells", help="Memory cells N (training)."),
    cell_width: int = typer.Option(16, "--cell-width", help="Memory cell width W."),
    num_reads: int = typer.Option(1, "--num-reads", help="Read heads R."),
    masking: bool = typer.Option(
        False, "--masking", help="DNC: content-lookup masks (Csordas & Schmidhuber 2019)."
    ),
    deallocation: bool = typer.Option(
        False, "--deallocation", help="DNC: erase cells when freed (Csordas & Schmidhuber 2019)."
    ),
    link_sharpness: bool = typer.Option(
        False, "--link-sharpness", help="DNC: link sharpness control (Csordas & Schmidhuber 2019)."
    ),
    controller: str = typer.Option(
        "lstm", "--controller", help="DNC/NTM controller: lstm or feedforward."
    ),
    fit_cells: bool = typer.Option(
        False, "--fit-cells", help="Memory of max(--num-cells, episode length) cells per batch."
    ),
    sparse_links: int = typer.Option(
        0, "--sparse-links", help="DNC: sparse links keeping K entries per row/column (0: dense)."
    ),
    backend: str = typer.Option(
        "auto", "--backend", help="DNC memory: auto, torch, cpp, cpp-sequence, sparse or numpy."
    ),
    warmup: int = typer.Option(
        0, "--warmup", help="Graph tasks: easier lessons before the paper's first (0-5)."
    ),
    bridge: bool = typer.Option(
        False, "--bridge", help="Shortest path, inference: warm-ups ask one-hop questions too."
    ),
    planning_steps: int = typer.Option(
        10, "--planning-steps", help="Shortest path, inference: blank steps after the query."
    ),
    planning_per_edge: float = typer.Option(
        0.0, "--planning-per-edge", help="... plus this many per graph triple (rounded up)."
    ),
    beta: float = typer.Option(
        0.8, "--beta", help="Shortest path: DAgger, chance of feeding back an optimal move."
    ),
    ponder_steps: int = typer.Option(
        0, "--ponder-steps", help="Shortest path: extra steps per move before it is chosen."
    ),
    babi_task: int | None = typer.Option(
        None, "--babi-task", help="bAbI: task 1-20 (default: all 20 jointly, as the paper)."
    ),
    babi_dir: Path | None = typer.Option(
        None, "--babi-dir", help="bAbI: data folder holding en-10k/ (default: $DNCQA_BABI)."
    ),
    curriculum: bool = typer.Option(True, "--curriculum/--no-curriculum", help="Use lessons."),
    threshold: float = typer.Option(0.9, "--threshold", help="Lesson pass accuracy."),
    eval_every: int = typer.Option(100, "--eval-every", help="Evaluate every K batches."),
    eval_episodes: int = typer.Option(128, "--eval-episodes", help="Episodes per evaluation."),
    log_every: int = typer.Option(50, "--log-every", help="Log metrics every K steps."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every",
                                         help="Save a checkpoint every K steps."),
    stop_bit_error: float | None = typer.Option(
        None, "--stop-bit-error", help="Stop once the full task's bit error is below this."
    ),
    final_eval_episodes: int = typer.Option(1000, "--final-eval-episodes",
                                            help="Episodes of the final evaluation."),
    amp: bool = typer.Option(False, "--amp", help="bfloat16 autocast (CUDA only)."),
    deterministic: bool = typer.Option(
        True, "--deterministic/--no-deterministic", help="Bit-exact CPU runs (MKL_CBWR)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="torch CPU threads per process (default: all cores)."
    ),
    processes: str = typer.Option(
        "auto", "--processes",
        help="Data-parallel processes (DDP via torchrun), or auto (see below).",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a model on a task, writing checkpoints and metrics.jsonl to --out.

    Tasks: copy, repeat_copy, reverse_copy, associative_recall, priority_sort,
    traversal, shortest_path, inference, kb_qa and babi (its data from
    --babi-dir or $DNCQA_BABI). docs/training.md has the recipes that pass
    the paper's lessons.

    Examples:

      dncqa train --task copy --model dnc --steps 2000 --out runs/copy-dnc

      dncqa train --task copy --model ntm --minutes 5 --out runs/copy-ntm --json

      dncqa train --out runs/copy-dnc --resume --steps 4000

      dncqa train --task traversal --controller feedforward --masking \\
        --fit-cells --minutes 10 --out runs/traversal-dnc

      dncqa train --task shortest_path --controller feedforward --masking \\
        --fit-cells --warmup 2 --bridge --planning-per-edge 0.5 \\
        --minutes 10 --out runs/sp

      dncqa train --task kb_qa --init-from traversal-dnc --model dnc \\
        --controller feedforward --masking --hidden-size 128 --num-cells 16 \\
        --cell-width 64 --num-reads 3 --fit-cells --lr 1e-3 --batch-size 8 \\
        --minutes 60 --out runs/kbqa

      dncqa train --task babi --babi-task 1 --minutes 10 --out runs/b1

      torchrun --nproc-per-node 2 -m dnc_qa.train --task copy --steps 500 \\
        --out runs/ddp

    --resume keeps the run's saved config; only --steps, --minutes, --device,
    --amp, --stop-bit-error and --deterministic may change.

    Both cores: for the graph tasks two processes of one thread each (DDP)
    train about twice as many episodes per second as one process using both
    cores as threads (python -m benchmarks.train_throughput). So on a CPU
    with two cores or more, a run of --minutes >= 2 (or --steps >= 1000)
    starts two processes (--processes auto); --threads N or --processes 1
    keeps one process. Each process draws --batch-size episodes per step, so
    a step of two processes sees twice the episodes.
    """
    from dnc_qa.tasks.registry import check_task_name  # here: it imports torch
    from dnc_qa.train.config import (
        BabiConfig,
        CurriculumConfig,
        GraphConfig,
        ModelConfig,
        OptimConfig,
        TrainConfig,
    )
    from dnc_qa.train.distributed import auto_processes, parse_processes
    from dnc_qa.train.model_factory import check_model_name
    from dnc_qa.train.trainer import train as run_training

    count = parse_processes(processes)
    if count is None and "RANK" not in os.environ:
        import torch

        cuda = device != "cpu" and torch.cuda.is_available()
        count = auto_processes(cuda=cuda, cpus=os.cpu_count() or 1, threads=threads,
                               minutes=minutes, steps=steps)
        if count > 1:
            threads = 1
    if (count or 1) > 1 and "RANK" not in os.environ:  # start the processes, each runs this
        relaunch_with_torchrun(ctx, count or 1, threads)
        return
    if threads is not None:
        if threads < 1:
            raise DncQaError("--threads must be >= 1")
        import torch  # lazily: keeps `dncqa --help` and other commands fast

        torch.set_num_threads(threads)
    if not resume and steps is None and minutes is None:
        raise DncQaError("give --steps N or --minutes M")
    task_name = check_task_name(task)
    babi = BabiConfig()
    if task_name == "babi" and not resume:
        from dnc_qa.tasks.babi import resolve_data_dir

        babi_root = resolve_data_dir(babi_dir).resolve()  # recorded, for --resume and eval
        babi = BabiConfig(task=babi_task or 0, data_dir=str(babi_root))
    elif not resume and task_name != "babi" and (babi_task is not None or babi_dir is not None):
        raise DncQaError("--babi-task and --babi-dir apply to --task babi only")
    config = TrainConfig(
        task=task_name,
        model=ModelConfig(
            kind=check_model_name(model),
            hidden_size=hidden_size,
            controller_layers=controller_layers,
            num_cells=num_cells,
            cell_width=cell_width,
            num_reads=num_reads,
            controller=controller.strip().lower(),
            masking=masking,
            deallocation=deallocation,
            link_sharpness=link_sharpness,
            fit_cells=fit_cells,
            link="sparse" if sparse_links else "dense",
            link_k=sparse_links or 8,
            backend=backend.strip().lower(),
        ),
        optim=OptimConfig(
            name=optimizer.strip().lower(), lr=lr, clip_norm=clip_norm if clip_norm > 0 else None
        ),
        curriculum=CurriculumConfig(
            enabled=curriculum,
            threshold=threshold,
            eval_every=eval_every,
            eval_episodes=eval_episodes,
            warmup=warmup,
        ),
        batch_size=batch_size,
        steps=steps,
        minutes=minutes,
        seed=seed,
        device=device,
        amp=amp,
        deterministic=deterministic,
        log_every=log_every,
        checkpoint_every=checkpoint_every,
        stop_bit_error=stop_bit_error,
        final_eval_episodes=final_eval_episodes,
        babi=babi,
        graph=GraphConfig(planning_steps=planning_steps, planning_per_edge=planning_per_edge,
                          beta=beta, bridge=bridge, ponder_steps=ponder_steps),
    )
    if init_partial and init_from is None:
        raise DncQaError("--init-partial needs --init-from")
    if not resume:  # a resumed run checks the config it saved
        config.validate()
    if out.exists() and not out.is_dir():
        raise DncQaError(f"--out {out} exists and is not a folder")
    result = run_training(config, out, resume=resume, show_progress=progress and not as_json,
                          init_from=init_from, init_partial=init_partial)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    summary = result_dict(result)
    if as_json:
        print(dumps(summary))
    else:
        print(
            f"{summary['task']} {summary['model']}: {summary['steps']} steps, "
            f"{summary['minutes']:.2f} min, lesson {summary['lesson']}/{summary['lessons']}; "
            f"final accuracy {summary['accuracy']:.3f}, per-step {summary['per_step_accuracy']:.3f}"
            f", bit error/seq {summary['bit_error_per_sequence']:.4f} "
            f"({summary['eval_episodes']} episodes); checkpoint {summary['checkpoint']}"
        )
