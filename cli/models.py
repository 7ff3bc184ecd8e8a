"""``dncqa models``: the shipped models (and, with --runs, trained runs) at a glance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from dnc_qa.jsonout import dumps
from dnc_qa.textout import printable


def _runs(root: Path) -> list[dict[str, Any]]:
    """Training runs below ``root`` (folders with ``checkpoints/latest``), read without torch:
    task and model from the latest checkpoint's config, step and lesson from the last
    ``train`` record of ``metrics.jsonl``, step from the checkpoint's name."""
    out = []
    for pointer in sorted(root.rglob("checkpoints/latest")):
        run = pointer.parent.parent
        ckpt = pointer.parent / pointer.read_text(encoding="utf-8").strip()
        try:
            config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        last: dict[str, Any] = {}
        metrics = run / "metrics.jsonl"
        if metrics.is_file():
            for line in metrics.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == "train":
                    last = record
        warm = config.get("curriculum", {}).get("warmup", 0)
        lesson = last.get("lesson")
        out.append({
            "run": str(run), "task": config.get("task"),
            "model": config.get("model", {}).get("kind"),
            "controller": config.get("model", {}).get("controller"),
            "step": int(ckpt.name.removeprefix("step-")) if ckpt.name.startswith("step-")
            else last.get("step"),
            "minutes": round(last.get("elapsed_s", 0) / 60, 1),
            "paper_lesson": None if lesson is None else lesson - warm + 1,
        })
    return out


def models(
    runs: Path | None = typer.Option(
        None, "--runs", help="Also list the training runs found below this folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List the shipped models and, with --runs, the training runs in a folder.

    A shipped model shows its task, the lesson it reached, its held-out
    accuracy and training time (from its MODEL_CARD.md); a run shows its
    task, model, step and paper lesson. Nothing here imports torch.

    Examples:

      dncqa models

      dncqa models --runs results --json
    """
    from dnc_qa.app.cards import read_card
    from dnc_qa.app.engine import PRETRAINED_DIR, shipped_models
    from dnc_qa.errors import DncQaError

    shipped = []
    for name in shipped_models():
        try:
            card = read_card(PRETRAINED_DIR / name)
        except DncQaError as exc:
            shipped.append({"name": name, "damaged": str(exc)})
            continue
        shipped.append({"name": name, "task": card.task, "model": card.model,
                        "reached": card.lesson_text(),
                        "heldout_lesson_accuracy": card.heldout_lesson_accuracy,
                        "heldout_episodes": card.heldout_episodes,
                        "training_minutes": card.training_minutes,
                        "card": str(PRETRAINED_DIR / name / "MODEL_CARD.md")})
    if runs is not None and not runs.is_dir():
        raise DncQaError(f"--runs {runs} is not a folder")
    found = _runs(runs) if runs is not None else []
    if as_json:
        typer.echo(dumps({"shipped": shipped, "runs": found}))
        return
    for m in shipped:
        if "damaged" in m:
            typer.echo(f"{printable(m['name'])}: DAMAGED ({printable(m['damaged'])})")
            continue
        typer.echo(f"{m['name']}: {m['task'].replace('_', ' ')}, {m['reached']}, held-out "
                   f"{100 * m['heldout_lesson_accuracy']:.1f}% on it "
                   f"({m['heldout_episodes']} episodes), {m['training_minutes']:.0f} min of "
                   f"training; {m['card']}")
    for r in found:
        lesson = "?" if r["paper_lesson"] is None else (
            f"paper lesson {r['paper_lesson']}" if r["paper_lesson"] >= 1 else "warm-up")
        typer.echo(f"run {printable(r['run'])}: {r['task']} {r['model']} "
                   f"({r['controller']}), step {r['step']}, {r['minutes']} min, {lesson}")
