"""Train a DNC or NTM on the copy task on one CPU thread until it copies (issue requirement).

Trains with a length curriculum (max length 5, 10, 15, 20; advance at 90% episode accuracy,
checked every 50 batches) until the bit error per sequence on lengths 1-20 is below half of
``--target`` on 2000 episodes (the margin keeps evaluation noise from stopping it too early).
It then measures the bit error on 2000 *other* fresh episodes; if that is not below
``--target`` training goes on (same run) and the check repeats, until the time budget
(``--max-minutes``, training plus in-training evaluations) runs out. ``converged`` means the
last independent number is below ``--target``. Then it evaluates
generalisation to lengths 40 and 80 with a larger memory (``--test-cells``, default 128):
no weight depends on the number of cells.

Usage::

    OMP_NUM_THREADS=1 python scripts/train_copy.py --model dnc --out runs/copy-dnc
    OMP_NUM_THREADS=1 python scripts/train_copy.py --model ntm --out runs/copy-ntm

Prints one JSON object (also written to ``<out>/result.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from dnc_qa.tasks.copy import CopyTask
from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig
from dnc_qa.train.evaluate import evaluate_counts
from dnc_qa.train.trainer import Trainer


def copy_config(model: str, seed: int, minutes: float, target: float) -> TrainConfig:
    """The small, fast-converging setup used for the copy proof."""
    return TrainConfig(
        task="copy",
        model=ModelConfig(kind=model, hidden_size=64, num_cells=32, cell_width=16, num_reads=1),
        optim=OptimConfig(name="adam", lr=3e-3, clip_norm=10.0),
        curriculum=CurriculumConfig(threshold=0.9, eval_every=50, eval_episodes=100),
        batch_size=16,
        steps=None,
        minutes=minutes,
        seed=seed,
        device="cpu",
        log_every=50,
        checkpoint_every=500,
        stop_bit_error=target,
        final_eval_episodes=2000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["dnc", "ntm"], default="dnc")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=15.0)
    parser.add_argument("--target", type=float, default=0.01, help="bit error per sequence")
    parser.add_argument("--test-cells", type=int, default=128)
    parser.add_argument("--test-episodes", type=int, default=2000)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    config = copy_config(args.model, args.seed, args.max_minutes, args.target / 2)
    trainer = Trainer(config, args.out, show_progress=not args.no_progress)
    model, device = trainer.model, trainer.device
    rounds = 0
    while True:
        result = trainer.run()
        rounds += 1
        independent = evaluate_counts(
            model,
            CopyTask(),
            args.test_episodes,
            torch.Generator().manual_seed(20_000 + rounds),
            device,
            batch_size=50,
        ).summary()
        if independent.bit_error_per_sequence < args.target or result.stop_reason == "time":
            break
    report = {
        "model": args.model,
        "seed": args.seed,
        "steps": result.steps,
        "episodes": result.episodes,
        "minutes": round(result.elapsed_s / 60, 2),
        "stop_reason": result.stop_reason,
        "converged": independent.bit_error_per_sequence < args.target,
        "rounds": rounds,
        "threads": torch.get_num_threads(),
        "lengths_1_20": independent._asdict(),
        "lengths_1_20_stop_check": result.final._asdict(),
    }
    for length in (40, 80):
        counts = evaluate_counts(
            model,
            CopyTask(min_length=length, max_length=length),
            args.test_episodes,
            torch.Generator().manual_seed(10_000 + length),
            device,
            batch_size=50,
            num_cells=args.test_cells,
        )
        report[f"length_{length}_cells_{args.test_cells}"] = counts.summary()._asdict()
    text = json.dumps(report, indent=2)
    (args.out / "result.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if report["converged"] else 1


if __name__ == "__main__":
    sys.exit(main())
