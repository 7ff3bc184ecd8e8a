"""``dncqa eval``: score a checkpoint on fresh episodes of a task."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from dnc_qa.cli.panels import EVAL_PANELS, with_panels
from dnc_qa.errors import DncQaError
from dnc_qa.jsonout import dumps


@with_panels(EVAL_PANELS)
def evaluate(
    checkpoint: Path = typer.Argument(
        ..., help="A run's --out folder, a checkpoint folder, its model.safetensors, or "
        "a shipped model's name."
    ),
    task: str | None = typer.Option(None, "--task", "-t", help="Task (default: the trained one)."),
    episodes: int = typer.Option(1000, "--episodes", help="Episodes to score."),
    min_length: int | None = typer.Option(None, "--min-length", help="Shortest episode length."),
    max_length: int | None = typer.Option(None, "--max-length", help="Longest episode length."),
    num_cells: int | None = typer.Option(None, "--num-cells", help="Memory cells N at test time."),
    seed: int = typer.Option(1234, "--seed", help="Seed for the test episodes."),
    batch_size: int = typer.Option(64, "--batch-size", help="Episodes per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    lesson: int | None = typer.Option(
        None, "--lesson", help="Graph tasks: score the paper's lesson N (1-based)."
    ),
    babi_task: int | None = typer.Option(
        None, "--babi-task", help="bAbI: score task 1-20 only (default: the trained ones)."
    ),
    babi_dir: Path | None = typer.Option(
        None, "--babi-dir", help="bAbI: data folder (default: the run's, else $DNCQA_BABI)."
    ),
    babi_split: str | None = typer.Option(
        None, "--babi-split", help="bAbI: test (default), valid or train."
    ),
    graphs: str | None = typer.Option(
        None, "--graphs", help="Shortest path: random or transit (default: the trained one)."
    ),
    planning_per_edge: float | None = typer.Option(
        None, "--planning-per-edge", help="Shortest path, inference: planning steps per graph "
        "triple at test time (default: the trained budget)."
    ),
) -> None:
    """Score a trained model on fresh episodes of its task (or another one).

    Reports the episode accuracy, per-step accuracy and bit error per
    sequence. "Length" is the sequence length for copy tasks and the number
    of items for associative recall and priority sort. A memory network's
    weights do not depend on N, so --num-cells can give it a larger memory
    for longer sequences; a run trained with --fit-cells is scored the same
    way (memory sized to each batch) unless --num-cells is given.

    Examples:

      dncqa eval runs/copy-dnc --task copy

      dncqa eval runs/copy-dnc --min-length 80 --max-length 80 --num-cells 200

      dncqa eval traversal-dnc --lesson 2 --episodes 200

      dncqa eval results/shortest-path-dnc --lesson 1 --episodes 500 --json

      dncqa eval runs/b1 --babi-task 1

      dncqa eval shortest-path-dnc --graphs transit --lesson 7 --episodes 500

      dncqa eval shortest-path-dnc --lesson 4 --planning-per-edge 1.0

    A shipped model is named by its name (traversal-dnc) or folder.

    Graph tasks add accuracy splits beside rules that need no memory:
    shortest path is scored on the network's own moves (right when its path
    is a shortest one), per distance, beside three rules (random legal move,
    never step back, goal when adjacent), on the paper's random graphs or
    (--graphs transit) on generated transit maps with their own lessons;
    inference per relation length, beside naming a random node such a walk
    reaches; traversal per walk length; kb_qa per chain length (relations
    per question).

    bAbI is scored on every story of the test files (at most --episodes per
    task, in file order), task by task: each task's error rate (a question
    is wrong when any of its answer words is), their mean and the number of
    failed tasks (error above 5%).
    """
    from dnc_qa.device import resolve_device
    from dnc_qa.tasks.base import MetricCounts
    from dnc_qa.tasks.registry import check_task_name, make_task
    from dnc_qa.train.evaluate import evaluate_counts, load_trained_model

    if episodes < 1 or batch_size < 1:
        raise DncQaError("--episodes and --batch-size must be >= 1")
    if num_cells is not None and num_cells < 1:
        raise DncQaError("--num-cells must be >= 1")
    task_name = check_task_name(task) if task is not None else None
    dev = resolve_device(device)
    model, ckpt = load_trained_model(checkpoint, dev)
    task_name = task_name or ckpt.config.task
    if task_name == "babi":
        from dnc_qa.tasks.babi import BabiTask

        trained = ckpt.config.task_options() if ckpt.config.task == "babi" else {}
        the_task = BabiTask(
            task_id=babi_task if babi_task is not None else trained.get("task_id", 0),
            data_dir=str(babi_dir) if babi_dir is not None else trained.get("data_dir"),
            split=babi_split.strip().lower() if babi_split is not None else "test",
        )
    elif babi_task is not None or babi_dir is not None or babi_split is not None:
        raise DncQaError("--babi-task, --babi-dir and --babi-split apply to --task babi only")
    elif task_name == ckpt.config.task:  # the episodes it was trained on (planning budget...)
        the_task = make_task(task_name, **ckpt.config.task_options())
    else:
        the_task = make_task(task_name)
    if graphs is not None:
        from dnc_qa.tasks.shortest_path import ShortestPathTask, check_graphs

        if not isinstance(the_task, ShortestPathTask):
            raise DncQaError(f"--graphs applies to --task shortest_path, not {task_name}")
        the_task = replace(the_task, graphs=check_graphs(graphs.strip().lower()), lesson=None)
    if planning_per_edge is not None:
        if "planning_per_edge" not in getattr(the_task, "__dataclass_fields__", {}):
            raise DncQaError(f"--planning-per-edge applies to shortest_path and inference, "
                             f"not {task_name}")
        from dnc_qa.train.config import MAX_PLANNING_PER_EDGE

        if not 0 <= planning_per_edge <= MAX_PLANNING_PER_EDGE:  # (NaN fails too)
            raise DncQaError(f"--planning-per-edge must be in 0..{MAX_PLANNING_PER_EDGE}, "
                             f"not {planning_per_edge}")
        the_task = replace(the_task, planning_per_edge=planning_per_edge)  # type: ignore[type-var]
    if (the_task.input_size, the_task.output_size) != (
        model.input_size,
        model.output_size,
    ):
        raise DncQaError(
            f"task {task_name} needs input/output sizes {the_task.input_size}/"
            f"{the_task.output_size}, the checkpoint's model has {model.input_size}/"
            f"{model.output_size} (it was trained on {ckpt.config.task})"
        )
    if min_length is not None or max_length is not None:
        if not hasattr(the_task, "with_length"):
            raise DncQaError(f"task {task_name} has no length to change")
        lengths = the_task.lessons()[-1]
        low = min_length if min_length is not None else max_length
        high = max_length if max_length is not None else min_length
        assert low is not None and high is not None
        try:
            the_task = lengths.with_length(low, high)
        except ValueError as exc:
            raise DncQaError(f"bad --min-length/--max-length: {exc}") from exc
    if lesson is not None:
        if not hasattr(the_task, "warmup_lessons"):
            raise DncQaError(f"--lesson applies to the graph tasks, not {task_name}")
        lessons = the_task.lessons()
        if not 1 <= lesson <= len(lessons):
            raise DncQaError(f"--lesson must be in 1..{len(lessons)} for {task_name}")
        the_task = lessons[lesson - 1]
    fit = ckpt.config.model.fit_cells and num_cells is None
    if fit and "fit_cells" in getattr(the_task, "__dataclass_fields__", {}):
        the_task = replace(the_task, fit_cells=True)  # type: ignore[type-var]
    if num_cells is not None and ckpt.config.model.kind == "lstm":
        raise DncQaError("--num-cells only applies to memory models (dnc, ntm)")
    import torch  # lazily: keeps `dncqa --help` and other commands fast

    babi: dict[str, Any] = {}
    breakdown: dict[str, Any] = {}
    from dnc_qa.tasks.inference import InferenceTask
    from dnc_qa.tasks.kb_qa import KbQaTask
    from dnc_qa.tasks.shortest_path import ShortestPathTask
    from dnc_qa.tasks.traversal import TraversalTask

    if isinstance(the_task, ShortestPathTask | InferenceTask | TraversalTask | KbQaTask):
        from dnc_qa.train.breakdown import (
            inference_breakdown,
            shortest_path_breakdown,
            traversal_breakdown,
        )

        generator = torch.Generator().manual_seed(seed)
        cells = ckpt.config.model.num_cells if fit else num_cells
        if isinstance(the_task, ShortestPathTask):
            split = shortest_path_breakdown(model, the_task, episodes, generator, dev, batch_size)
        elif isinstance(the_task, InferenceTask):
            split = inference_breakdown(model, the_task, episodes, generator, dev, batch_size,
                                        cells, fit_cells=fit)
        else:  # traversal walks, or kb_qa's chains of relations (the same episode layout)
            split = traversal_breakdown(model, the_task, episodes, generator, dev, batch_size,
                                        cells, fit_cells=fit,
                                        unit="chain" if isinstance(the_task, KbQaTask)
                                        else "walk")
        breakdown = split.to_json()
        counts = split.counts
    elif task_name == "babi":
        from dnc_qa.tasks.babi import evaluate_babi, summarize_scores

        scores = evaluate_babi(model, the_task, dev, batch_size, episodes, num_cells)
        counts = sum((s.counts for s in scores.values()), MetricCounts())
        babi = {"babi_split": the_task.split, **summarize_scores(scores)}
    else:
        generator = torch.Generator().manual_seed(seed)
        counts = evaluate_counts(
            model, the_task, episodes, generator, dev, batch_size,
            ckpt.config.model.num_cells if fit else num_cells, fit_cells=fit,
        )
    m = counts.summary()
    summary = {
        "checkpoint": str(ckpt.path),
        "task": task_name,
        "model": ckpt.config.model.kind,
        "step": ckpt.trainer.step,
        "episodes": m.episodes,
        "accuracy": m.accuracy,
        "per_step_accuracy": m.per_step_accuracy,
        "bit_error_per_sequence": m.bit_error_per_sequence,
        "loss": m.loss,
        "min_length": min_length,
        "max_length": max_length,
        "num_cells": "per episode" if fit else (num_cells or ckpt.config.model.num_cells),
        "lesson": lesson,
        **({} if planning_per_edge is None else {"planning_per_edge": planning_per_edge}),
        **babi,
        **breakdown,
    }
    if as_json:
        print(dumps(summary))
    else:
        print(
            f"{task_name} {summary['model']} (step {summary['step']}): {m.episodes} episodes, "
            f"accuracy {m.accuracy:.4f}, per-step accuracy {m.per_step_accuracy:.4f}, "
            f"bit error/seq {m.bit_error_per_sequence:.4f}"
        )
        if breakdown:
            what, plural = {"path": ("distance", "paths"),
                            "query": ("relation length", "queries"),
                            "walk": ("walk length", "walks"),
                            "chain": ("relations", "questions")}[breakdown["unit"]]
            print(f"{what}  {plural}  model  " + "  ".join(breakdown["rules"]))
            for row in breakdown["by_length"]:
                rules = "  ".join(f"{v:>{len(k)}.3f}" for k, v in row["rules"].items())
                print(f"{row['length']:>{len(what)}}  {row['answers']:>{len(plural)}}"
                      f"  {row['accuracy']:.3f}  " + rules)
            if breakdown["beats_rules"] is not None:
                verdict = "beats" if breakdown["beats_rules"] else "does NOT beat"
                print(f"the model ({breakdown['answer_accuracy']:.3f} of {plural}) "
                      f"{verdict} the best rule that needs no memory "
                      f"({breakdown['best_rule']}: {breakdown['best_rule_accuracy']:.3f})")
        if babi:
            rates = ", ".join(f"{t}: {100 * e:.1f}%" for t, e in babi["task_errors"].items())
            print(
                f"bAbI {babi['babi_split']} error (questions): mean {100 * babi['mean_error']:.1f}%"
                f", failed (>5%) {babi['failed_tasks']} of {len(babi['task_errors'])}; {rates}"
            )
