"""What a recipe search varies, and how one trial's choices become ``dncqa train`` options.

The space covers what the DNC paper and its successors suggest matters on the graph tasks:
the controller (feed-forward or LSTM), the DNC-MDS memory options (masking, de-allocation,
link sharpness; Csordás & Schmidhuber 2019), read heads, widths, optimiser step size, batch
size, warm-up lessons below the paper's first (with or without one-hop bridge questions),
the planning budget (the paper's fixed 10 steps, or one that grows with the graph;
Shamshoum et al. 2024) and, for shortest path, the DAgger mixing ``beta``.

``fixed`` pins any of these by name (``{"controller": "feedforward"}``); a user extends the
space by editing :data:`SPACE` or passing ``fixed`` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dnc_qa.errors import DncQaError


@dataclass(frozen=True)
class Choice:
    """One searched option: a list of categories, or an int/float range (``log`` scale)."""

    name: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    tasks: tuple[str, ...] = ("shortest_path", "inference", "traversal")
    models: tuple[str, ...] = ("dnc", "ntm", "lstm")

    def suggest(self, trial: Any) -> Any:
        if self.values:
            return trial.suggest_categorical(self.name, list(self.values))
        assert self.low is not None and self.high is not None
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


MEMORY = ("dnc", "ntm")
SPACE: tuple[Choice, ...] = (
    Choice("controller", ("feedforward", "lstm"), models=MEMORY),
    Choice("masking", (True, False), models=("dnc",)),
    Choice("deallocation", (False, True), models=("dnc",)),
    Choice("link_sharpness", (False, True), models=("dnc",)),
    Choice("num_reads", low=1, high=4, models=MEMORY),
    Choice("cell_width", (32, 64), models=MEMORY),
    Choice("hidden_size", (64, 128, 256)),
    Choice("lr", low=2e-4, high=3e-3, log=True),
    Choice("batch_size", (8, 16, 32)),
    Choice("warmup", low=0, high=3),
    Choice("bridge", (True, False), tasks=("shortest_path", "inference")),
    Choice("planning_steps", (5, 10, 15), tasks=("shortest_path", "inference")),
    Choice("planning_per_edge", (0.0, 0.5, 1.0), tasks=("shortest_path", "inference")),
    Choice("beta", low=0.5, high=1.0, tasks=("shortest_path",)),
)
"""The searched options (names of ``dncqa train`` options, with ``_`` for ``-``)."""

THRESHOLDS = {"shortest_path": 0.8, "inference": 0.9, "traversal": 0.9}
"""Lesson pass accuracy per task (the paper's: 80% for shortest path, 90% otherwise)."""


def choices_for(task: str, model: str) -> list[Choice]:
    """The searched options that apply to ``task`` and ``model``."""
    return [c for c in SPACE if task in c.tasks and model in c.models]


def check_fixed(task: str, model: str, fixed: dict[str, Any]) -> None:
    """Refuse pinned options the space does not know for this task and model."""
    known = {c.name for c in choices_for(task, model)}
    unknown = sorted(set(fixed) - known)
    if unknown:
        raise DncQaError(f"cannot fix {', '.join(unknown)} for {task} with {model}; "
                         f"searched options: {', '.join(sorted(known))}")


def train_arguments(task: str, model: str, params: dict[str, Any]) -> list[str]:
    """``dncqa train`` options for one trial's parameters (the fixed parts of the recipe:
    memory sized to each episode, the task's lesson threshold, evaluation every 100 steps on
    128 episodes)."""
    args = ["--task", task, "--model", model, "--fit-cells", "--num-cells", "16",
            "--threshold", str(THRESHOLDS[task]), "--eval-every", "100",
            "--eval-episodes", "128", "--final-eval-episodes", "50", "--log-every", "50",
            "--checkpoint-every", "500", "--no-deterministic", "--no-progress", "--threads", "1"]
    for name, value in sorted(params.items()):
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if value:
                args.append(flag)
        else:
            args += [flag, str(value)]
    return args
