"""Model cards of the models shipped in ``dnc_qa/pretrained/<name>/``.

Each shipped model folder holds ``model.safetensors``, ``config.json`` (the trainer's config
with an ``"app"`` object, see :class:`dnc_qa.app.engine.ModelSpec`), ``card.json`` (the fields
of :class:`ModelCard`) and ``MODEL_CARD.md`` (the same, for people).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from dnc_qa.errors import CheckpointError

CARD_JSON, CARD_MD = "card.json", "MODEL_CARD.md"


@dataclass(frozen=True)
class ModelCard:
    """What a shipped model is and how well it does, measured.

    Attributes:
        name: the folder name (``--model NAME``).
        task: the graph task (``traversal``, ``shortest_path``, ``inference``).
        model: the architecture in words ("DNC, LSTM 128, 64x32 memory, 2 read heads").
        lessons_reached: the lesson being trained when training stopped, 1-based, counting
            the warm-up lessons (``--warmup``) before the paper's.
        lessons_total: lessons in the curriculum trained on (warm-ups included).
        heldout_lesson_accuracy: episode accuracy on fresh episodes of the lesson reached.
        heldout_final_accuracy: episode accuracy on fresh episodes of the final lesson.
        warmup_lessons: how many of the lessons are warm-ups easier than the paper's first.
        heldout_first_accuracy: episode accuracy on the paper's first lesson (``None``: not
            measured).
        heldout_episodes: episodes per held-out measurement.
        training_steps: optimizer steps.
        training_minutes: training wall time (CPU, one thread).
        command: the commands that produced the model and the card.
        notes: limits and caveats, in plain words.
        curriculum: the lesson table trained on: ``"paper"`` (the DNC paper's, random
            graphs) or the name of another (``"shortest_path_transit"``: transit maps).
    """

    name: str
    task: str
    model: str
    lessons_reached: int
    lessons_total: int
    heldout_lesson_accuracy: float
    heldout_final_accuracy: float
    heldout_episodes: int
    training_steps: int
    training_minutes: float
    command: str
    notes: str = ""
    warmup_lessons: int = 0
    heldout_first_accuracy: float | None = None
    curriculum: str = "paper"

    @property
    def lessons_word(self) -> str:
        """``paper lesson`` or ``transit-map lesson``: what a lesson number counts."""
        return "paper lesson" if self.curriculum == "paper" else "transit-map lesson"

    def lesson_text(self) -> str:
        """``paper lesson 3 of 14`` or ``warm-up lesson 1 of 2 (before the paper's 14)``."""
        paper = self.lessons_total - self.warmup_lessons
        k = self.lessons_reached - self.warmup_lessons
        if k >= 1:
            return f"{self.lessons_word} {k} of {paper}"
        return (f"warm-up lesson {self.lessons_reached} of {self.warmup_lessons} "
                f"(before the paper's {paper})")

    @classmethod
    def from_json(cls, data: Any, where: Path) -> ModelCard:
        """Validate a decoded ``card.json``; errors name ``where``."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: expected a JSON object")
        names = {f.name for f in fields(cls)}
        optional = {"notes", "warmup_lessons", "heldout_first_accuracy", "curriculum"}
        missing = sorted(n for n in names - set(data) - optional)
        if missing:
            raise CheckpointError(f"{where}: missing fields {', '.join(missing)}")
        try:
            return cls(**{k: data[k] for k in names if k in data})
        except TypeError as exc:
            raise CheckpointError(f"{where}: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        """``MODEL_CARD.md``."""
        return "\n".join([
            f"# {self.name}",
            "",
            f"A {self.model} trained on the **{self.task.replace('_', ' ')}** task of the DNC "
            "paper" + ("" if self.curriculum == "paper" else
                       " (on generated transit maps, lessons "
                       f"`dnc_qa/graphs/curricula/{self.curriculum}.json`, not the paper's)")
            + ", shipped with dnc-qa so that `dncqa ask` answers with a model without "
            "training first (" + (f"`dncqa ingest --model {self.name}`" if self.task ==
                                  "inference" else "`--model auto` picks it") + ").",
            "",
            "| field | value |",
            "|---|---|",
            f"| task | {self.task} |",
            f"| lesson reached | {self.lesson_text()} |",
            f"| held-out accuracy, lesson reached | "
            f"{self.heldout_lesson_accuracy:.3f} ({self.heldout_episodes} episodes) |",
            *([] if self.heldout_first_accuracy is None else [
                f"| held-out accuracy, {self.lessons_word} 1 | "
                f"{self.heldout_first_accuracy:.3f} "
                f"({self.heldout_episodes} episodes) |"]),
            f"| held-out accuracy, final lesson | {self.heldout_final_accuracy:.3f} "
            f"({self.heldout_episodes} episodes) |",
            f"| training | {self.training_steps} steps, {self.training_minutes:.1f} min, "
            "CPU, 1 thread |",
            "",
            "Accuracy counts an episode right only when every answer triple is right; "
            "held-out episodes are freshly generated "
            + ("random graphs" if self.curriculum == "paper" else "transit maps")
            + " (seed 1234), not the training stream.",
            "",
            "## How it was made",
            "",
            "```",
            self.command,
            "```",
            "",
            "## Limits",
            "",
            self.notes or "None recorded.",
            "",
        ])


def read_card(folder: Path) -> ModelCard:
    """The card in ``folder`` (``card.json``)."""
    path = folder / CARD_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"model card {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"corrupt model card {path}: {exc}") from None
    return ModelCard.from_json(data, path)


def write_card(folder: Path, card: ModelCard) -> None:
    """Write ``card.json`` and ``MODEL_CARD.md`` into ``folder``."""
    (folder / CARD_JSON).write_text(json.dumps(card.to_json(), indent=2) + "\n",
                                    encoding="utf-8")
    (folder / CARD_MD).write_text(card.markdown(), encoding="utf-8")
