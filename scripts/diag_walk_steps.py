"""Per-answer-step accuracy of a traversal checkpoint on walks of fixed length.

For walks of 1, 2 and 3 steps on 4-12 node graphs (out-degree 2-4), prints for each answer
step how often the source, edge and destination digits and the whole triple are right: shows
where a multi-step walk breaks (e.g. the second query edge not fetched back from memory).

Usage: OMP_NUM_THREADS=1 python scripts/diag_walk_steps.py RUN_DIR [EPISODES]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from dnc_qa.encoding.labels import digit_targets, digit_view
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.evaluate import load_trained_model


def main() -> None:
    run = Path(sys.argv[1])
    episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    torch.set_num_threads(1)
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise SystemExit(f"no checkpoint in {run}")
    model, _ = load_trained_model(checkpoint, torch.device("cpu"))
    model.eval()
    for length in (1, 2, 3):
        task = TraversalTask(lesson=Lesson(0, (4, 12), (2, 4), (length, length)))
        batch = task.sample(episodes, torch.Generator().manual_seed(5))
        with torch.no_grad():
            state = model.initial_state(episodes, num_cells=batch.inputs.shape[1] + 16)
            logits, _ = model(batch.inputs, state)
        right = digit_view(logits).argmax(-1) == digit_targets(batch.targets)  # [B, T, 9]
        answer_steps = [torch.nonzero(batch.mask[i] > 0).flatten() for i in range(episodes)]
        parts = []
        for k in range(length):
            r = torch.stack([right[i, steps[k]] for i, steps in enumerate(answer_steps)]).float()
            parts.append(f"step {k + 1}: src {r[:, :3].mean():.2f} edge {r[:, 3:6].mean():.2f} "
                         f"dst {r[:, 6:].mean():.2f} whole {r.all(1).float().mean():.2f}")
        print(f"length {length}: " + " | ".join(parts))


if __name__ == "__main__":
    main()
