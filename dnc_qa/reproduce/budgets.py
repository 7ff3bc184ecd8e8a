"""What each ``--budget`` trains: time or steps per run, model sizes and optimiser.

* ``ci``: the whole command in about 5 minutes on 2 CPU cores (9 runs of ~12 s, small
  models, few evaluation episodes): checks the pipeline, not the science.
* ``small``: ~3 minutes per run (~35 minutes in all) with the CPU setup that learns
  traversal here (Adam 1e-3, warm-up lessons, memory sized to each episode, and for the DNC
  and NTM a feed-forward controller, the DNC with content-lookup masking: with an LSTM
  controller the network keeps the graph in its own state instead of the memory and stalls;
  docs/reproduction.md).
* ``paper``: the paper's ED Table 2 (RMSProp, controller, batch, N x W, R = 5) and about
  1M episodes per run (the paper's only stated training length): days on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dnc_qa.errors import DncQaError
from dnc_qa.reproduce.paper import PAPER_EPISODES
from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig

TASKS = ("traversal", "shortest_path", "inference")
MODELS = ("dnc", "ntm", "lstm")


@dataclass(frozen=True)
class Budget:
    """One budget. ``minutes``/``steps`` bound each (task, model) run."""

    name: str
    minutes: float | None
    steps: int | None
    hidden: int
    cells: int
    width: int
    reads: int
    batch: int
    lr: float
    optimizer: str = "adam"
    fit_cells: bool = True
    warmup: int = 2
    eval_every: int = 100
    eval_episodes: int = 64
    heldout_episodes: int = 100
    test_queries: int = 50
    gnn_seconds: float | None = 30.0
    gnn_steps: int | None = None
    controller: str = "feedforward"
    """Controller of the DNC and NTM (the LSTM baseline is an LSTM whatever this says)."""
    masking: bool = True
    """DNC content-lookup masking (Csordas & Schmidhuber 2019)."""


BUDGETS = {
    "ci": Budget("ci", minutes=0.2, steps=None, hidden=64, cells=16, width=32, reads=2,
                 batch=8, lr=1e-3, eval_every=25, eval_episodes=16, heldout_episodes=16,
                 test_queries=8, gnn_seconds=5.0),
    "small": Budget("small", minutes=3.0, steps=None, hidden=128, cells=16, width=64, reads=3,
                    batch=8, lr=1e-3, eval_episodes=64, heldout_episodes=100, test_queries=50,
                    gnn_seconds=60.0),
    "paper": Budget("paper", minutes=None, steps=PAPER_EPISODES, hidden=256, cells=256,
                    width=50, reads=5, batch=2, lr=1e-5, optimizer="rmsprop", fit_cells=False,
                    warmup=0, heldout_episodes=1000, test_queries=200, gnn_seconds=600.0,
                    controller="lstm", masking=False),
}

# ED Table 2: (controller layers, batch, lr, N) per task; W = 50, R = 5, hidden 256.
PAPER_TABLE = {
    "traversal": (3, 2, 1e-5, 256),
    "shortest_path": (2, 1, 3e-6, 128),
    "inference": (3, 32, 1e-5, 128),
}


def get_budget(name: str) -> Budget:
    key = name.strip().lower()
    if key not in BUDGETS:
        raise DncQaError(f"unknown budget {name!r}; choose one of {', '.join(BUDGETS)}")
    return BUDGETS[key]


def with_steps(budget: Budget, steps: int) -> Budget:
    """The budget with every run bounded by ``steps`` optimiser steps instead of time."""
    if steps < 1:
        raise DncQaError("--steps must be >= 1")
    return replace(budget, minutes=None, steps=steps, gnn_seconds=None, gnn_steps=steps)


def train_config(budget: Budget, task: str, model: str, seed: int = 0) -> TrainConfig:
    """The :class:`TrainConfig` of one run of ``budget``."""
    layers, batch, lr, cells = 1, budget.batch, budget.lr, budget.cells
    steps = budget.steps
    if budget.name == "paper":
        layers, batch, lr, cells = PAPER_TABLE[task]
        steps = max(1, PAPER_EPISODES // batch)
    if task == "shortest_path" and budget.name != "paper":
        batch = max(1, batch // 4)  # rollouts run one episode at a time
    return TrainConfig(
        task=task,
        model=ModelConfig(kind=model, hidden_size=budget.hidden, controller_layers=layers,
                          num_cells=cells, cell_width=budget.width, num_reads=budget.reads,
                          fit_cells=budget.fit_cells, controller=budget.controller,
                          masking=budget.masking and model == "dnc",
                          clip=10.0 if budget.name == "paper" else 20.0),
        optim=OptimConfig(name=budget.optimizer, lr=lr,
                          clip_norm=None if budget.name == "paper" else 10.0),
        curriculum=CurriculumConfig(eval_every=budget.eval_every,
                                    eval_episodes=budget.eval_episodes,
                                    threshold=0.8 if task == "shortest_path" else 0.9,
                                    warmup=budget.warmup if task == "traversal" else 0),
        batch_size=batch,
        steps=steps,
        minutes=budget.minutes,
        seed=seed,
        device="cpu",
        deterministic=False,
        log_every=10 if budget.name == "ci" else 50,
        checkpoint_every=10**9,
        final_eval_episodes=max(1, budget.eval_episodes // 4),
    )
