"""Two layout choices of the graph-task training path, each timed against its alternative.

    python -m benchmarks.layouts [--reps 7] [--out benchmarks/results]

1. **Link rows.** The C++ memory step forward and backward at batch 8, N = 143 cells, W 64,
   R 3, masking and de-allocation, with the link's rows N floats apart (as the per-step path
   keeps them) and padded to 144 (as the C++ sequence keeps them: every row on a 64-byte
   line, no loop remainder). Same kernels, same inputs; only the row stride differs.
2. **Prefixes of different lengths.** A feed-forward DNC (hidden 128, W 64, R 3, masking,
   N 112) forward and backward over 8 prefixes of 92-110 steps: one batch cut at each length
   (``dnc_qa.tasks.shortest_path.run_prefixes``) against one pass per row (what one pass
   per distinct length is when every prefix has its own length).

One thread; the alternatives alternate (A B A B ...) and the medians of ``--reps`` rounds
are reported, with their ratio. Besides, how much there is to skip or to batch at the final
lessons (20 batches of 8, seed 0): the share of a traversal and an inference batch's
row-steps that come after the row's last answer (padding), and how many distinct prefix
lengths a shortest-path batch has. Prints tables and writes ``layouts.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def _alternate(a: Callable[[], None], b: Callable[[], None], reps: int) -> tuple[float, float]:
    """Median seconds of ``a`` and of ``b``, timed in alternation after one warm-up each."""
    a()
    b()
    ta, tb = [], []
    for _ in range(reps):
        for f, out in ((a, ta), (b, tb)):
            start = time.perf_counter()
            f()
            out.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb)


def link_rows(reps: int) -> dict:
    from dnc_qa.memory import native
    from dnc_qa.memory.backends import cpp
    from dnc_qa.memory.dnc import DNCMemory

    B, N, W, R, calls = 8, 143, 64, 3, 20
    kernels = native.kernels()
    mem = DNCMemory(num_cells=N, cell_width=W, num_reads=R, masking=True, deallocation=True,
                    backend="cpp")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        state = mem.initial_state(B)
        for _ in range(6):  # a few steps in, so that every weighting is spread
            flat = torch.randn(B, mem.interface_size, generator=gen)
            _, state = mem(mem.parse_interface(flat), state)
        iface = mem.parse_interface(torch.randn(B, mem.interface_size, generator=gen))
    inputs = list(cpp._inputs(iface, state))
    at = cpp.StepInputs._fields.index("link")
    padded = list(inputs)
    padded[at] = torch.zeros(B, 1, N, 144)
    padded[at][..., :N] = inputs[at]

    def step(ins: list) -> Callable[[], None]:
        out = kernels.dnc_step_forward(ins, True, torch.empty(0))
        saved = list(cpp.SavedForBackward.of(cpp.StepOutputs(*out[:7]), cpp.StepSaved(*out[7:])))
        grads = [torch.randn(t.shape, generator=gen) for t in out[:7]]

        def run() -> None:
            for _ in range(calls):
                kernels.dnc_step_forward(ins, True, torch.empty(0))
                kernels.dnc_step_backward(ins, True, saved, grads, torch.empty(0))

        return run

    rows_n, rows_16 = _alternate(step(inputs), step(padded), reps)
    return {"case": f"memory step forward + backward, B {B}, N {N}",
            "a": "rows of 143", "b": "rows of 144 (padded)",
            "a_us_per_step": 1e6 * rows_n / calls, "b_us_per_step": 1e6 * rows_16 / calls,
            "speedup": rows_n / rows_16}


def prefixes(reps: int) -> dict:
    from dnc_qa.models import DNC
    from dnc_qa.tasks.shortest_path import run_prefixes

    torch.manual_seed(0)
    model = DNC(92, 90, hidden_size=128, num_cells=112, cell_width=64, num_reads=3,
                controller="feedforward", masking=True)
    gen = torch.Generator().manual_seed(1)
    lengths = [92, 95, 97, 99, 101, 104, 107, 110]
    xs = [torch.randn(n, 92, generator=gen) for n in lengths]
    cpu = torch.device("cpu")

    def loss_of(state) -> torch.Tensor:
        return sum(t.square().sum() for t in (state.read_vectors, *state.memory))

    def per_row() -> None:
        total = torch.zeros(())
        for x in xs:
            start = model.initial_state(1, num_cells=112)
            _, state = model(x[None], start)
            total = total + loss_of(state)
        total.backward()

    def cut() -> None:
        _, state = run_prefixes(model, model.initial_state, xs, 112, cpu, torch.float32)
        loss_of(state).backward()

    a, b = _alternate(per_row, cut, reps)
    return {"case": f"8 prefixes of {lengths[0]}-{lengths[-1]} steps, N 112, forward + backward",
            "a": "one pass per row", "b": "one batch cut at each length",
            "a_ms": 1e3 * a, "b_ms": 1e3 * b, "speedup": a / b}


def final_lesson_batches(batches: int = 20) -> dict:
    """Padding share of traversal and inference batches, distinct prefix lengths of
    shortest-path batches, at the final lessons (batches of 8)."""
    from dataclasses import replace

    from dnc_qa.models.trimmed import answer_lengths
    from dnc_qa.tasks.registry import make_task

    out = {}
    for name in ("traversal", "inference"):
        task, gen = make_task(name), torch.Generator().manual_seed(0)
        used = total = 0
        for _ in range(batches):
            batch = task.sample(8, gen)
            used += sum(answer_lengths(batch.mask))
            total += batch.mask.numel()
        out[f"{name}_padding_share"] = 1 - used / total
    task = replace(make_task("shortest_path"), fit_cells=True)
    gen = torch.Generator().manual_seed(0)
    distinct = [len({p.prefix.shape[0] for p in task.problems(8, gen)[0]})
                for _ in range(batches)]
    out["shortest_path_distinct_prefix_lengths_per_batch"] = statistics.mean(distinct)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [link_rows(args.reps), prefixes(args.reps)]
    print("| case | A | B | A | B | A / B |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        unit = "us/step" if "a_us_per_step" in r else "ms"
        a = r.get("a_us_per_step", r.get("a_ms"))
        b = r.get("b_us_per_step", r.get("b_ms"))
        print(f"| {r['case']} | {r['a']} | {r['b']} | {a:.1f} {unit} | {b:.1f} {unit} | "
              f"{r['speedup']:.2f} |")
    batches = final_lesson_batches()
    print("\nfinal lessons, 20 batches of 8: padding "
          f"{100 * batches['traversal_padding_share']:.0f} % "
          f"of traversal row-steps, {100 * batches['inference_padding_share']:.0f} % of "
          f"inference's; {batches['shortest_path_distinct_prefix_lengths_per_batch']:.1f} "
          "distinct prefix lengths per shortest-path batch of 8")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"torch": torch.__version__, "python": platform.python_version(), "threads": 1,
              "reps": args.reps, "rows": rows, "final_lesson_batches": batches}
    (out / "layouts.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
