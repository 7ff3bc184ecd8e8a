"""Peak memory of one training step.

CPU: the step runs in a fresh child process; the kernel's high-water mark of the resident
set (``VmHWM``) is reset through ``/proc/self/clear_refs`` right before the step, and the
reported number is ``VmHWM - VmRSS`` at that moment: the peak *growth* of resident memory
caused by the step (saved activations, temporaries, gradients, Adam state), not counting the
interpreter, torch and the model weights. A fresh process keeps memory freed by earlier steps
(and kept by malloc) from hiding the growth.

CUDA: ``torch.cuda.max_memory_allocated() - torch.cuda.memory_allocated()`` around the
step, in the benchmark process itself (tensor bytes seen by the caching allocator).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_peak_growth_mib(fn) -> float:
    """Run ``fn()`` and return the peak growth of this process's RSS in MiB (Linux only)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    base = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - base) / 1024.0


def child_main(impl: str, cfg_json: str, device: str) -> None:
    """Entry point of the child process: print ``{"peak_mib": ...}`` as JSON."""
    from benchmarks.impls import IMPLS, Config

    torch.manual_seed(0)
    cfg = Config(**json.loads(cfg_json))
    adapter = IMPLS[impl](cfg, torch.device(device))
    # load every lazily loaded library (native kernels, oneDNN) on a tiny input first
    tiny = adapter.x[:1, :2]
    adapter.forward(tiny).sum().backward()
    adapter.opt.zero_grad(set_to_none=True)
    peak = rss_peak_growth_mib(adapter.train_step)
    print(json.dumps({"peak_mib": peak}))


def peak_train_mib(impl: str, cfg, device: torch.device, timeout: float = 1800) -> float | None:
    """Peak memory growth of one train step in MiB (see the module docstring)."""
    if device.type == "cuda":
        from benchmarks.impls import IMPLS

        adapter = IMPLS[impl](cfg, device)
        if impl == "graphed":  # a CUDA graph: its memory pool is allocated by the capture
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
            adapter.warm()
        else:
            adapter.train_step()  # Adam state and workspaces exist before measuring
            adapter.opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        adapter.train_step()
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
        del adapter
        torch.cuda.empty_cache()
        return peak
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.speed",
        "--_peak-child",
        impl,
        json.dumps(cfg.as_dict()),
        str(device),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        print(f"  peak child failed for {impl}: {proc.stderr.strip()[-400:]}", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_mib"])
