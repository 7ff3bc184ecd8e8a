"""Check the trainer on a CUDA GPU: float32 and bfloat16-autocast (--amp) runs of the copy task,
then load the checkpoint on the CPU and score it there.

    python scripts/gpu_check.py --out /tmp/gpu-check --steps 200

Prints one JSON line per run (steps, seconds, episodes/s, final metrics) and exits non-zero
if CUDA is missing, a loss is non-finite, or the CPU re-evaluation disagrees with the GPU one
by more than evaluation noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from dnc_qa.tasks.copy import CopyTask
from dnc_qa.train.config import TrainConfig
from dnc_qa.train.evaluate import evaluate_counts, load_trained_model
from dnc_qa.train.metrics_log import read_metrics
from dnc_qa.train.trainer import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--models", default="dnc,ntm,lstm")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    ok = True
    for kind in args.models.split(","):
        for amp in (False, True):
            out = args.out / f"{kind}-{'amp' if amp else 'fp32'}"
            config = TrainConfig(task="copy", steps=args.steps, device="auto", amp=amp,
                                 final_eval_episodes=500, checkpoint_every=100)
            config.model.kind = kind
            start = time.perf_counter()
            try:
                result = train(config, out, show_progress=False)
            except Exception as exc:  # report and go on with the other runs
                ok = False
                print(json.dumps({"model": kind, "amp": amp, "error": f"{type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0]}"}), flush=True)
                continue
            seconds = time.perf_counter() - start
            records = read_metrics(out / "metrics.jsonl")
            losses = [r["loss"] for r in records if r["event"] == "train"]
            finite = all(torch.isfinite(torch.tensor(losses)).tolist())
            model, _ = load_trained_model(out, torch.device("cpu"))
            cpu = evaluate_counts(model, CopyTask(), 500, torch.Generator().manual_seed(5),
                                  torch.device("cpu")).summary()
            agree = abs(cpu.accuracy - result.final.accuracy) < 0.15
            ok = ok and finite and agree
            print(json.dumps({
                "model": kind, "amp": amp, "device": torch.cuda.get_device_name(0),
                "steps": result.steps, "seconds": round(seconds, 1),
                "episodes_per_s": round(result.episodes / seconds, 1), "finite": finite,
                "first_loss": losses[0], "last_loss": losses[-1],
                "final_gpu": result.final._asdict(), "final_cpu_reload": cpu._asdict(),
            }), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
