"""The C++ kernels of a git revision against this tree's, alternated in one process.

    python -m benchmarks.kernels_ab --baseline-commit REV [--reps 9] [--batch 8]
        [--out benchmarks/results]

Builds the native kernels (``dnc_qa/memory/csrc``) of ``REV`` and of this tree under
throwaway module names, then times the graph recipe's model (feed-forward DNC, hidden 128,
W 64, R 3, masking; input 92, output 90) forward and backward, one thread, ``--batch``
episodes a pass (8 as the recipe on one process, 4 as on each of two), for a few sequence
lengths T with the memory sized to the episode (N = T) and one small memory, switching the
model between the two builds every pass (A B A B ...). Only the kernels
differ: the Python code is this tree's. Prints the medians per step and their ratio and
writes ``kernels_ab.json`` to ``--out``. Timings are for reading, never asserted in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
CASES = ((190, 190), (100, 100), (150, 16))  # (T, N)


def build(csrc: Path):
    """The kernel module compiled from the sources in ``csrc`` (a throwaway name)."""
    from torch.utils.cpp_extension import load_inline

    from dnc_qa.memory import native

    saved = native.CSRC
    native.CSRC = csrc
    try:
        sources = native._sources()
    finally:
        native.CSRC = saved
    key = hashlib.sha1("\0".join(sources).encode()).hexdigest()[:12]
    text = "\n".join(sources)  # (an older revision may not define every function bound now)
    return load_inline(name=f"dnc_qa_kernels_ab_{key}", cpp_sources=sources,
                       functions=[f for f in native.FUNCTIONS if f"{f}(" in text],
                       extra_cflags=native.compile_flags(),
                       extra_include_paths=[str(csrc)], extra_ldflags=native.link_flags())


def sources_at(rev: str) -> Path:
    """The kernel sources of ``rev`` in a temporary folder."""
    from dnc_qa.memory import native

    out = Path(tempfile.mkdtemp(prefix="kernels-"))
    for name in ("aligned.h", *native.SOURCES):
        text = subprocess.run(["git", "show", f"{rev}:dnc_qa/memory/csrc/{name}"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        (out / name).write_text(text)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-commit", required=True)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--batch", type=int, default=8,
                        help="episodes per pass (8: the recipe on one process; 4: on each of two)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from dnc_qa.memory import native
    from dnc_qa.models import DNC

    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                            f"{args.baseline_commit}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True)
    if found.returncode != 0:
        print(f"kernels_ab: no commit {args.baseline_commit!r} in this repository",
              file=sys.stderr)
        return 2
    commit = found.stdout.strip()
    builds = {"baseline": build(sources_at(commit)), "this": build(native.CSRC)}
    torch.manual_seed(0)
    model = DNC(92, 90, hidden_size=128, num_cells=16, cell_width=64, num_reads=3,
                controller="feedforward", masking=True)
    rows = []
    for T, N in CASES:
        x = torch.rand(args.batch, T, 92, generator=torch.Generator().manual_seed(0))

        def step(T=T, N=N, x=x) -> None:
            y, _ = model(x, model.initial_state(args.batch, num_cells=N))
            y.sum().backward()

        times: dict[str, list[float]] = {name: [] for name in builds}
        for module in builds.values():  # warm-up
            native._module = module
            step()
        for _ in range(args.reps):
            for name, module in builds.items():
                native._module = module
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
        us = {name: statistics.median(t) / T * 1e6 for name, t in times.items()}
        rows.append({"T": T, "N": N, "baseline_us_per_step": us["baseline"],
                     "this_us_per_step": us["this"], "speedup": us["baseline"] / us["this"],
                     "path": model.backend_for(x, None).name})
    print(f"kernels of {commit[:10]} (baseline) against this tree, model forward + backward, "
          f"batch {args.batch}, one thread")
    print("| T | N | baseline µs/step | this µs/step | × |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['T']} | {r['N']} | {r['baseline_us_per_step']:.0f} | "
              f"{r['this_us_per_step']:.0f} | {r['speedup']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"torch": torch.__version__, "python": platform.python_version(),
              "baseline_commit": commit, "reps": args.reps, "batch": args.batch, "rows": rows}
    (args.out / "kernels_ab.json").write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
