"""``dncqa train``: train a DNC, NTM or LSTM on a task (also ``python -m dnc_qa.train``).

The model, optimiser, curriculum and graph-task options are declared once, on their fields
of ``ModelConfig``, ``OptimConfig``, ``CurriculumConfig`` and ``GraphConfig``
(:mod:`dnc_qa.train.config`); :func:`~dnc_qa.cli.options.config_options` adds them to the
command and :func:`~dnc_qa.cli.options.configs_from` builds the configs from their values.
The options declared here are the run's own (task, budget, output, processes, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import Option

from dnc_qa.cli.options import config_options, configs_from
from dnc_qa.cli.panels import EVALUATION, MODEL, OPTIMISER, RUN, TASK, TRAIN_PANELS
from dnc_qa.errors import CommandFailed, DncQaError
from dnc_qa.jsonout import dumps
from dnc_qa.train.config import (
    BabiConfig,
    CurriculumConfig,
    GraphConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)


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


def start_processes(ctx: typer.Context, processes: int, threads: int | None) -> None:
    """Run this same ``dncqa train`` command as ``processes`` DDP processes, one thread each
    unless ``threads`` says otherwise, with PyTorch's launcher (``torch.distributed.run``,
    the code of ``torchrun``) called in this process, which has imported torch already; rank 0
    prints what a single process would. A process that stops with a user error (status 2)
    has printed it: this exits 2 too. Any other stop is a :class:`CommandFailed`."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    args = given_options(ctx, exclude="processes")  # each process runs the rest
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))  # inherited by the processes
    # the launcher's own log lines (a process stopped, the others sent SIGTERM) would repeat
    # what the processes or the lines below say; its modules set their loggers' levels
    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith(("torch.distributed.elastic", "torch.distributed.run")):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        torchrun(["--standalone", "--nproc-per-node", str(processes), "-m", "dnc_qa.train",
                  *args])
    except ChildFailedError as failed:
        rank, failure = failed.get_first_failure()
        if failure.exitcode == 2:
            raise typer.Exit(2) from None
        how = (f"signal {failure.signal_name()}" if failure.exitcode < 0
               else f"exit status {failure.exitcode}")
        raise CommandFailed(f"training process {rank} of {processes} stopped ({how})",
                            1) from None
    except SignalException as stopped:
        raise CommandFailed(f"stopped by {stopped.sigval.name}; continue with --resume",
                            128 + int(stopped.sigval)) from None


@config_options(ModelConfig, OptimConfig, CurriculumConfig, GraphConfig, panels=TRAIN_PANELS)
def train(
    ctx: typer.Context,
    *,
    task: Annotated[str, Option("--task", "-t", help="Task name, e.g. copy, repeat_copy.",
                                rich_help_panel=TASK)] = "copy",
    babi_task: Annotated[int | None, Option(
        "--babi-task", help="bAbI: task 1-20 (default: all 20 jointly, as the paper).",
        rich_help_panel=TASK)] = None,
    babi_dir: Annotated[Path | None, Option(
        "--babi-dir", help="bAbI: data folder holding en-10k/ (default: $DNCQA_BABI).",
        rich_help_panel=TASK)] = None,
    init_from: Annotated[str | None, Option(
        "--init-from",
        help="Start a new run from the weights of a run folder, a checkpoint folder or a "
        "shipped model (e.g. traversal-dnc); the model options must build the same network.",
        rich_help_panel=MODEL)] = None,
    init_partial: Annotated[bool, Option(
        "--init-partial", help="With --init-from: copy only the weights of the same name and "
        "shape.", rich_help_panel=MODEL)] = False,
    batch_size: Annotated[int, Option("--batch-size", help="Episodes per batch (per process).",
                                      rich_help_panel=OPTIMISER)] = 16,
    final_eval_episodes: Annotated[int, Option("--final-eval-episodes",
                                               help="Episodes of the final evaluation.",
                                               rich_help_panel=EVALUATION)] = 1000,
    stop_bit_error: Annotated[float | None, Option(
        "--stop-bit-error", help="Stop once the full task's bit error is below this.",
        rich_help_panel=EVALUATION)] = None,
    log_every: Annotated[int, Option("--log-every", help="Log metrics every K steps.",
                                     rich_help_panel=EVALUATION)] = 50,
    tensorboard: Annotated[Path | None, Option(
        "--tensorboard", metavar="DIR", help="Also log the metrics to DIR for TensorBoard "
        "(pip install tensorboard).", rich_help_panel=EVALUATION)] = None,
    checkpoint_every: Annotated[int, Option("--checkpoint-every",
                                            help="Save a checkpoint every K steps.",
                                            rich_help_panel=EVALUATION)] = 500,
    out: Annotated[Path, Option("--out", "-o", help="Output folder (checkpoints, metrics).",
                                rich_help_panel=RUN)],
    steps: Annotated[int | None, Option("--steps", help="Optimizer steps to train for.",
                                        rich_help_panel=RUN)] = None,
    minutes: Annotated[float | None, Option("--minutes", help="Wall-time budget in minutes.",
                                            rich_help_panel=RUN)] = None,
    resume: Annotated[bool, Option(
        "--resume", help="Continue the run in --out with its saved config (see below).",
        rich_help_panel=RUN)] = False,
    seed: Annotated[int, Option("--seed", help="Seed for weights and data.",
                                rich_help_panel=RUN)] = 0,
    device: Annotated[str, Option("--device", help="auto, cpu, cuda or cuda:N.",
                                  rich_help_panel=RUN)] = "auto",
    threads: Annotated[int | None, Option(
        "--threads", help="torch CPU threads per process (default: all cores).",
        rich_help_panel=RUN)] = None,
    processes: Annotated[str, Option(
        "--processes", help="Data-parallel processes (DDP via torchrun), or auto (see below).",
        rich_help_panel=RUN)] = "auto",
    amp: Annotated[bool, Option("--amp", help="bfloat16 autocast (CUDA only).",
                                rich_help_panel=RUN)] = False,
    cuda_graph: Annotated[bool, Option(
        "--cuda-graph/--no-cuda-graph",
        help="On a GPU, capture the training step as CUDA graphs (batches padded to a "
             "multiple of 32 steps); DDP, --amp and shortest path train eagerly.",
        rich_help_panel=RUN)] = True,
    deterministic: Annotated[bool, Option("--deterministic/--no-deterministic",
                                          help="Bit-exact CPU runs (MKL_CBWR).",
                                          rich_help_panel=RUN)] = True,
    progress: Annotated[bool, Option("--progress/--no-progress", help="Show a progress bar.",
                                     rich_help_panel=RUN)] = True,
    as_json: Annotated[bool, Option("--json", help="Print one JSON summary on stdout.",
                                    rich_help_panel=RUN)] = False,
    **config: Any,
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
    --amp, --cuda-graph, --stop-bit-error and --deterministic may change.

    Both cores: for the graph tasks two processes of one thread each (DDP)
    train 1.2-1.3x the episodes per second of one process using both cores
    as threads (python -m benchmarks.train_throughput). So on a CPU
    with two cores or more, a run of --minutes >= 0.5 (or --steps >= 50)
    starts two processes (--processes auto); --threads N or --processes 1
    keeps one process. Each process draws --batch-size episodes per step, so
    a step of two processes sees twice the episodes.
    """
    from dnc_qa.tasks.registry import check_task_name  # here: it imports torch
    from dnc_qa.train.distributed import auto_processes, parse_processes
    from dnc_qa.train.trainer import plan_run
    from dnc_qa.train.trainer import train as run_training

    if tensorboard is not None:  # before any process starts: a missing package is one line
        from dnc_qa.train.metrics_log import summary_writer_class

        summary_writer_class()
    count = parse_processes(processes)
    if threads is not None and threads < 1:
        raise DncQaError("--threads must be >= 1")
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
    model, optim, curriculum, graph = configs_from(
        config, ModelConfig, OptimConfig, CurriculumConfig, GraphConfig)
    run = TrainConfig(
        task=task_name,
        model=model,
        optim=optim,
        curriculum=curriculum,
        batch_size=batch_size,
        steps=steps,
        minutes=minutes,
        seed=seed,
        device=device,
        amp=amp,
        cuda_graph=cuda_graph,
        deterministic=deterministic,
        log_every=log_every,
        checkpoint_every=checkpoint_every,
        stop_bit_error=stop_bit_error,
        final_eval_episodes=final_eval_episodes,
        babi=babi,
        graph=graph,
    )
    if init_partial and init_from is None:
        raise DncQaError("--init-partial needs --init-from")
    if not resume:  # a resumed run checks the config it saved
        run.validate()
    if out.exists() and not out.is_dir():
        raise DncQaError(f"--out {out} exists and is not a folder")
    import torch  # here, not at the top: keeps `dncqa --help` and other commands fast

    if "RANK" not in os.environ:  # not one of the processes started below
        if count is None:
            cuda = device != "cpu" and torch.cuda.is_available()
            count = auto_processes(cuda=cuda, cpus=os.cpu_count() or 1, threads=threads,
                                   minutes=minutes, steps=steps)
            if count > 1:
                threads = 1
        if count > 1:  # check the inputs once, here, then start the processes
            plan_run(run, out, resume, init_from, init_partial)
            start_processes(ctx, count, threads)
            return
    if threads is not None:
        torch.set_num_threads(threads)
    result = run_training(run, out, resume=resume, show_progress=progress and not as_json,
                          init_from=init_from, init_partial=init_partial,
                          tensorboard=tensorboard)
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
