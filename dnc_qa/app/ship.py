"""Turn a training run into a shipped model: ``python -m dnc_qa.app.ship RUN --name NAME``.

Copies the latest checkpoint's weights and config into ``dnc_qa/pretrained/NAME/``, adds the
``"app"`` object the engine reads, measures held-out accuracy on fresh episodes (the lesson
reached and the final lesson) and writes ``card.json`` and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from dnc_qa.app import codec
from dnc_qa.app.cards import ModelCard, write_card
from dnc_qa.app.engine import CONFIG, PRETRAINED_DIR, WEIGHTS

HELDOUT_SEED = 1234


def describe_architecture(model: dict) -> str:
    """"DNC, LSTM 128, 64x32 memory, 2 read heads" from the trainer's model config."""
    kind = str(model.get("kind", "dnc")).upper()
    controller = {"lstm": "LSTM", "feedforward": "feed-forward"}.get(
        str(model.get("controller", "lstm")), str(model.get("controller")))
    text = f"{kind}, {controller} controller {model.get('hidden_size')}"
    if kind == "DNC" and model.get("masking"):
        text += " (content-lookup masking)"
    if kind != "LSTM":
        text += (f", {model.get('num_cells')}x{model.get('cell_width')} memory (training size), "
                 f"{model.get('num_reads')} read heads")
    return text


def heldout_accuracy(model, task, episodes: int, fit_cells: bool = False) -> float:
    """Episode accuracy on ``episodes`` fresh episodes drawn with :data:`HELDOUT_SEED`;
    ``fit_cells``: the memory sized to each batch, as the run trained (and as ingest sizes it
    to the graph)."""
    import torch

    from dnc_qa.train.evaluate import evaluate_counts

    gen = torch.Generator().manual_seed(HELDOUT_SEED)
    counts = evaluate_counts(model, task, episodes, gen, torch.device("cpu"), batch_size=50,
                             fit_cells=fit_cells)
    return float(counts.summary().accuracy)


def walk_steps(lessons: list, passed: int) -> int:
    """The longest walk in the first ``passed`` lessons (1 when none was passed): a traversal
    model answers longer walks hop by hop (:class:`dnc_qa.app.engine.ModelSpec`)."""
    return max([1] + [int(t.lesson.length[1]) for t in lessons[:passed]])


def ship(run: Path, name: str, episodes: int, command: str, notes: str,
         dest_root: Path = PRETRAINED_DIR, checkpoint: Path | None = None) -> ModelCard:
    """Ship the latest checkpoint of ``run`` (or ``checkpoint``) as ``name``; returns its
    card."""
    import torch

    from dnc_qa.tasks.registry import make_task
    from dnc_qa.train.checkpoint import latest_checkpoint
    from dnc_qa.train.curriculum import Curriculum
    from dnc_qa.train.evaluate import load_trained_model

    torch.set_num_threads(1)
    ckpt_dir = checkpoint if checkpoint is not None else latest_checkpoint(run)
    if ckpt_dir is None:
        raise SystemExit(f"no checkpoint in {run}")
    model, ckpt = load_trained_model(ckpt_dir, torch.device("cpu"))
    cfg = json.loads((ckpt_dir / CONFIG).read_text(encoding="utf-8"))
    task_name = cfg["task"]
    task = make_task(task_name, **ckpt.config.task_options())
    curriculum = Curriculum(task, ckpt.config.curriculum)  # the trainer's, warm-ups included
    lessons = curriculum.lessons
    lesson = min(ckpt.trainer.lesson, len(lessons) - 1)
    warmup = ckpt.config.curriculum.warmup if ckpt.config.curriculum.enabled else 0
    fit = ckpt.config.model.fit_cells
    lesson_acc = heldout_accuracy(model, lessons[lesson], episodes, fit)
    first_acc = (heldout_accuracy(model, lessons[warmup], episodes, fit) if len(lessons) > 1
                 else None)
    final_acc = heldout_accuracy(model, task, episodes, fit)

    dest = dest_root / name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ckpt_dir / WEIGHTS, dest / WEIGHTS)
    cfg["app"] = {"task": task_name, "encoding": codec.ENCODING}
    if task_name in ("traversal", "kb_qa"):  # kb_qa: traversals of knowledge bases
        cfg["app"]["walk_steps"] = walk_steps(lessons, lesson)
    else:  # the planning budget it was trained with
        cfg["app"]["planning_steps"] = ckpt.config.graph.planning_steps
        cfg["app"]["planning_per_edge"] = ckpt.config.graph.planning_per_edge
    if task_name == "inference":  # family relations that are trained relations, by label
        from dnc_qa.graphs.family import paper_edge_numbers, paper_relation_labels

        numbers = paper_edge_numbers()
        cfg["app"]["edge_numbers"] = numbers
        cfg["app"]["relations"] = paper_relation_labels(numbers)
    (dest / CONFIG).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n",
                               encoding="utf-8")
    card = ModelCard(
        name=name,
        task=task_name,
        model=describe_architecture(cfg["model"]),
        lessons_reached=lesson + 1,
        lessons_total=len(lessons),
        heldout_lesson_accuracy=round(lesson_acc, 4),
        heldout_final_accuracy=round(final_acc, 4),
        heldout_episodes=episodes,
        training_steps=ckpt.trainer.step,
        training_minutes=round(ckpt.trainer.elapsed_s / 60, 2),
        command=command,
        notes=notes,
        warmup_lessons=warmup,
        heldout_first_accuracy=None if first_acc is None else round(first_acc, 4),
        curriculum="paper" if getattr(task, "curriculum", task_name) == task_name
        else task.curriculum,
    )
    write_card(dest, card)
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="training output folder (dncqa train --out)")
    parser.add_argument("--name", required=True, help="folder name under dnc_qa/pretrained")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a checkpoint folder of the run (default: its latest)")
    parser.add_argument("--episodes", type=int, default=500, help="held-out episodes")
    parser.add_argument("--command", default="", help="the training commands, for the card")
    parser.add_argument("--notes", default="", help="limits and caveats, for the card")
    args = parser.parse_args(argv)
    card = ship(args.run, args.name, args.episodes, args.command, args.notes,
                checkpoint=args.checkpoint)
    print(json.dumps(card.to_json(), indent=2))


if __name__ == "__main__":
    main()
