"""The C++ sequence's per-step products (``small_gemm``) against ``torch.addmm``.

    python -m benchmarks.small_gemm [--calls 20000] [--out benchmarks/results/small-gemm]

Times, on one thread, the products of the graph recipe's DNC at each timestep (a batch of
M rows times a weight matrix: the controller's 192 × 128 and the interface layer's
128 × 658 forward, 658 × 128 and 128 × 192 backward) and a few of the reference config's
(16 rows, LSTM 256), each way from Python: the kernel's op ``small_matmul`` (B's rows padded
to 16 entries, as the sequence keeps them) and ``torch.addmm(out=)`` with the weight's
transpose, as the sequence called it before. Both pay a Python call, so the per-call
figures are a little above what the C++ loop sees. Prints a table and writes
``small_gemm.json``; timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

SHAPES = ((4, 192, 128), (4, 128, 658), (4, 658, 128), (4, 128, 192), (8, 192, 128),
          (8, 128, 658), (1, 128, 658), (16, 384, 1024), (16, 256, 247), (16, 247, 256),
          (16, 1024, 384), (12, 128, 658))
"""(M, K, N): rows, inner size, columns."""


def per_call_us(fn, calls: int) -> float:
    for _ in range(200):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(m: int, k: int, n: int, calls: int) -> dict:
    from dnc_qa.memory import native

    ops = native.kernels()
    g = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=g)
    padded = torch.zeros(k, (n + 15) // 16 * 16)
    padded[:, :n] = torch.randn(k, n, generator=g)
    b = padded[:, :n]
    weight_t = b.t().contiguous().t()  # [k, n] as the transpose of an [n, k] weight
    bias = torch.randn(n, generator=g)
    out = torch.empty(m, n)
    return {"M": m, "K": k, "N": n,
            "small_gemm_us": per_call_us(lambda: ops.small_matmul(a, b, bias), calls),
            "addmm_us": per_call_us(lambda: torch.addmm(bias, a, weight_t, out=out), calls)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/small-gemm"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [measure(m, k, n, args.calls) for m, k, n in SHAPES]
    print("| M × K × N | small_gemm µs | torch.addmm µs | × |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['M']} × {r['K']} × {r['N']} | {r['small_gemm_us']:.1f} | "
              f"{r['addmm_us']:.1f} | {r['addmm_us'] / r['small_gemm_us']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "small_gemm.json").write_text(json.dumps(
        {"rows": rows, "calls": args.calls, "torch": torch.__version__,
         "machine": platform.platform()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
