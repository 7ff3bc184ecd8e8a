"""Quick traversal lesson-1 diagnosis: per-part (src, edge, dst) digit accuracy over time.

Usage: OMP_NUM_THREADS=1 python scripts/diag_traversal.py \\
    SECONDS LR BATCH HIDDEN N W R [OPT] [LESSON (-1: warm-up)] [MODEL]
"""

from __future__ import annotations

import os
import sys
import time

import torch

from dnc_qa.encoding.labels import digit_targets, digit_view
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.config import ModelConfig
from dnc_qa.train.model_factory import build_model


def priors(model: torch.nn.Module) -> None:
    """Optional initial interface biases (environment): DIAG_WRITE_BIAS (write and allocation
    gates), DIAG_CONTENT_BIAS (content read mode), DIAG_FREE_BIAS (free gates)."""
    memory = getattr(model, "memory", None)
    if memory is None or not hasattr(memory, "layout"):
        return
    offsets = {s.name: (s.offset, s.offset + s.size) for s in memory.layout.slots}
    bias = model.interface.bias
    hw = memory.num_writes
    with torch.no_grad():
        for env, names in (("DIAG_WRITE_BIAS", ("write_gates", "allocation_gates")),
                           ("DIAG_FREE_BIAS", ("free_gates",))):
            if os.environ.get(env):
                for name in names:
                    lo, hi = offsets[name]
                    bias[lo:hi] = float(os.environ[env])
        if os.environ.get("DIAG_CONTENT_BIAS"):
            lo, hi = offsets["read_modes"]
            modes = bias[lo:hi].view(memory.num_reads, 2 * hw + 1)
            modes[:, hw] = float(os.environ["DIAG_CONTENT_BIAS"])


def main() -> None:
    secs, lr, batch, hidden, n, w, r = (float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]),
                                        int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
                                        int(sys.argv[7]))
    opt_name = sys.argv[8] if len(sys.argv) > 8 else "adam"
    lesson_i = int(sys.argv[9]) if len(sys.argv) > 9 else 0
    kind = sys.argv[10] if len(sys.argv) > 10 else "dnc"
    torch.set_num_threads(1)
    torch.manual_seed(int(os.environ.get("DIAG_SEED", "0")))
    if lesson_i < 0:
        from dnc_qa.graphs.lesson_tables import Lesson

        task = TraversalTask(lesson=Lesson(0, (2, 4), (1, 2), (1, 1)))
    else:
        task = TraversalTask().lessons()[lesson_i]
    env = os.environ.get
    model = build_model(ModelConfig(kind=kind, hidden_size=hidden, num_cells=n, cell_width=w,
                                    num_reads=r, masking=bool(env("DIAG_MASKING")),
                                    deallocation=bool(env("DIAG_DEALLOC")),
                                    link_sharpness=bool(env("DIAG_SHARPNESS")),
                                    controller=env("DIAG_CONTROLLER", "lstm"),
                                    controller_layers=int(env("DIAG_LAYERS", "1"))), 92, 90)
    priors(model)
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if opt_name == "adam"
           else torch.optim.RMSprop(model.parameters(), lr=lr, momentum=0.9))
    gen = torch.Generator().manual_seed(1)
    t0, step, eps = time.time(), 0, 0
    acc = torch.zeros(3)
    cnt = 0
    ep_right = 0
    while time.time() - t0 < secs:
        b = task.sample(batch, gen)
        state = model.initial_state(batch)
        logits, _ = model(b.inputs, state)
        loss = task.loss(logits, b)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        step += 1
        eps += batch
        with torch.no_grad():
            right = (digit_view(logits).argmax(-1) == digit_targets(b.targets)).float()
            m = b.mask > 0
            acc += right[m].view(-1, 3, 3).mean(-1).sum(0)
            cnt += int(m.sum())
            ep_right += task.score(logits, b).correct_episodes
        if step % 50 == 0:
            a = (acc / cnt).tolist()
            print(f"{time.time()-t0:6.0f}s step {step} eps {eps} loss {loss.item():.2f} "
                  f"src {a[0]:.2f} edge {a[1]:.2f} dst {a[2]:.2f} ep_acc {ep_right/(50*batch):.2f}",
                  flush=True)
            acc.zero_()
            cnt = 0
            ep_right = 0


if __name__ == "__main__":
    main()
