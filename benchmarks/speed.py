"""Time dnc_qa's DNC against pip ``dnc==1.1.0`` in one process: ``python -m benchmarks.speed``.

For every configuration the implementations are built side by side, warmed up, then timed
alternately (A B A B ...) for ``--reps`` rounds; the medians are reported with the min and
max, together with the peak memory of one training step (see :mod:`benchmarks.memory`).
Results go to ``<out>/speed.json``, ``<out>/speed.md`` (the table in docs/benchmarks.md)
and ``<out>/speed.png``.

Examples::

    python -m benchmarks.speed                 # the full table (about 20-30 minutes here)
    python -m benchmarks.speed --quick         # reference config and N=512 only
    python -m benchmarks.speed --device cuda --out /tmp/gpu
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from benchmarks.impls import IMPLS, Config
from benchmarks.memory import child_main, peak_train_mib

GRID = [
    Config("ref", cells=128, steps=64),
    Config("N512", cells=512, steps=64),
    Config("N2048", cells=2048, steps=64),
    Config("N128-T256", cells=128, steps=256),
    Config("N512-T256", cells=512, steps=256),
    Config("N2048-T256", cells=2048, steps=256),
]
QUICK = ["ref", "N512"]
SPARSE_SCALING = [
    Config("sparse-N1024", cells=1024, steps=16),
    Config("sparse-N16384", cells=16384, steps=16),
]

PEER_PEAK_GIB_AT_N512_T64 = 5.3
"""Measured peak of the peer at N=512, T=64; it scales with N^2 T."""


def peer_skip_reason(cfg: Config, device: torch.device, mem_limit_gib: float) -> str | None:
    """Why the peer is not run at ``cfg`` (too slow or too much memory), or ``None``."""
    est = PEER_PEAK_GIB_AT_N512_T64 * (cfg.cells / 512) ** 2 * (cfg.steps / 64)
    if est > mem_limit_gib:
        return f"peer skipped: its B×N×N links per step would need ≈{est:.0f} GiB"
    return None


def impls_for(cfg: Config, args, device: torch.device) -> tuple[list[str], dict[str, str]]:
    """The implementations to run at ``cfg`` and the reasons for the ones left out."""
    skipped: dict[str, str] = {}
    if cfg.name.startswith("sparse-"):
        return ["sparse"], skipped
    names = ["ours"]
    if cfg.cells >= 2048 and device.type == "cpu" and not args.dense_large:
        names = []
        skipped["ours"] = (
            "dense N=2048 not timed by default on the CPU: ≈1-2 s per training timestep, "
            "bandwidth-bound (pass --dense-large)"
        )
    reason = peer_skip_reason(cfg, device, args.peer_mem_limit)
    if args.no_peer:
        skipped["peer"] = "peer not run (--no-peer)"
    elif reason:
        skipped["peer"] = reason
    else:
        names.append("peer")
    if cfg.cells >= 512 and not args.no_sparse:
        names.append("sparse")
    if args.compile and cfg.name == "ref":
        names.append("compiled")
    if device.type == "cuda" and not args.no_graph:
        names.insert(1, "graphed")
    if args.unfused and "ours" in names:
        names[1:1] = ["stepwise", "unfused"]
    return names, skipped


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


OPTIONAL = ("compiled", "graphed")
"""Implementations whose failure to build (a compiler, a capture) is reported as a skipped
row instead of ending the run."""


def time_config(
    cfg: Config, names: list[str], args, device: torch.device, skipped: dict[str, str]
) -> dict:
    """Build every implementation, warm up, then time them interleaved. An optional
    implementation that fails to build goes to ``skipped`` with the reason."""
    adapters = {}
    setup = {}
    for name in names:
        torch.manual_seed(0)
        start = time.perf_counter()
        try:
            adapter = IMPLS[name](cfg, device)
            if hasattr(adapter, "warm"):
                adapter.warm()  # compiled: the first calls compile; graphed: the capture
        except Exception as exc:
            if name not in OPTIONAL:
                raise
            skipped[name] = f"failed to build: {type(exc).__name__}: {str(exc)[:200]}"
            continue
        setup[name] = adapter.setup_seconds or (time.perf_counter() - start)
        adapters[name] = adapter
        if hasattr(adapter, "backend"):
            choice = adapter.backend()
            print(f"  {adapter.label:>16}: memory backend {choice}", flush=True)
    names = list(adapters)
    for _ in range(args.warmup):
        for adapter in adapters.values():
            adapter.train_step()
            adapter.infer_step()
    train = {n: [] for n in names}
    infer = {n: [] for n in names}
    for _ in range(args.reps):
        for n, adapter in adapters.items():
            start = time.perf_counter()
            adapter.train_step()
            train[n].append((time.perf_counter() - start) * 1e3)
        for n, adapter in adapters.items():
            start = time.perf_counter()
            adapter.infer_step()
            infer[n].append((time.perf_counter() - start) * 1e3)
    del adapters
    out = {}
    for n in names:
        out[n] = {
            "train_ms": _median(train[n]),
            "train_ms_all": train[n],
            "infer_ms": _median(infer[n]),
            "infer_ms_all": infer[n],
            "setup_s": setup[n],
        }
    return out


def machine_description(device: torch.device) -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    try:
        from importlib.metadata import version

        import dnc  # noqa: F401

        info["peer_version"] = version("dnc")
    except Exception:  # pragma: no cover - peer missing
        info["peer_version"] = None
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def fmt_ms(r: dict, key: str) -> str:
    xs = r.get(key + "_all") or []
    if not xs:
        return "—"
    return f"{r[key]:.0f} ({min(xs):.0f}–{max(xs):.0f})"


def markdown_table(results: list[dict]) -> str:
    rows = [
        "| config | B | T | N | implementation | train ms, median (min–max) | "
        "infer ms, median (min–max) | peak MiB (train) | train × vs peer | "
        "infer × vs peer | peak ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        cfg = res["config"]
        peer = res["impls"].get("peer")
        for name, r in res["impls"].items():
            speed = infer = ratio = ""
            if peer and name != "peer":
                speed = f"{peer['train_ms'] / r['train_ms']:.1f}×"
                infer = f"{peer['infer_ms'] / r['infer_ms']:.1f}×"
                if r.get("peak_mib") and peer.get("peak_mib"):
                    ratio = f"1/{peer['peak_mib'] / r['peak_mib']:.0f}"
            peak = f"{r['peak_mib']:.0f}" if r.get("peak_mib") is not None else "—"
            label = IMPLS[name].label
            if name == "compiled":
                label += f" (compile {r['setup_s']:.0f} s)"
            if name == "graphed":
                label += f" (capture {r['setup_s']:.1f} s)"
            rows.append(
                f"| {cfg['name']} | {cfg['batch']} | {cfg['steps']} | {cfg['cells']} | {label} | "
                f"{fmt_ms(r, 'train_ms')} | {fmt_ms(r, 'infer_ms')} | {peak} | {speed} | "
                f"{infer} | {ratio} |"
            )
        for name, why in res["skipped"].items():
            rows.append(
                f"| {cfg['name']} | {cfg['batch']} | {cfg['steps']} | {cfg['cells']} | "
                f"{IMPLS[name].label} | {why} | | | | | |"
            )
    return "\n".join(rows)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({n for res in results for n in res["impls"]}, key=list(IMPLS).index)
    labels = [res["config"]["name"] for res in results]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        xs, train, peak = [], [], []
        for i, res in enumerate(results):
            r = res["impls"].get(name)
            if r:
                xs.append(i + k * width)
                train.append(r["train_ms"])
                peak.append(r.get("peak_mib") or 0.0)
        axes[0].bar(xs, train, width, label=IMPLS[name].label)
        axes[1].bar(xs, peak, width, label=IMPLS[name].label)
    for ax, title in zip(
        axes, ["train step (ms, median)", "peak memory of a train step (MiB)"], strict=True
    ):
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels, rotation=30)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="reference config and N=512 only")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", default="benchmarks/results", help="output folder")
    p.add_argument(
        "--configs",
        default=None,
        help="comma-separated config names ("
        + ",".join(c.name for c in GRID + SPARSE_SCALING)
        + ")",
    )
    p.add_argument("--reps", type=int, default=5, help="timed rounds (median is reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--no-peak", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--no-peer", action="store_true", help="do not run pip dnc")
    p.add_argument("--no-sparse", action="store_true", help="no sparse-link rows")
    p.add_argument("--compile", action="store_true", help="add the torch.compile path (ref)")
    p.add_argument(
        "--no-graph",
        action="store_true",
        help="on CUDA, no CUDA-graph row (dnc_qa.models.cuda_graph)",
    )
    p.add_argument(
        "--unfused",
        action="store_true",
        help="add dnc_qa without the whole-sequence C++ loop (per-step) and without any fused C++ "
        "step (unfused)",
    )
    p.add_argument("--dense-large", action="store_true", help="time dense links at N=2048 on CPU")
    p.add_argument(
        "--peer-mem-limit",
        type=float,
        default=8.0,
        help="skip the peer where its estimated peak exceeds this many GiB",
    )
    p.add_argument("--_peak-child", nargs=3, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args._peak_child:
        child_main(*args._peak_child)
        return 0
    device = torch.device(args.device)
    configs = GRID + SPARSE_SCALING
    if args.configs:
        wanted = args.configs.split(",")
        configs = [c for c in configs if c.name in wanted]
    elif args.quick:
        configs = [c for c in GRID if c.name in QUICK]
    if args.no_sparse:
        configs = [c for c in configs if not c.name.startswith("sparse-")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    report = {"machine": machine_description(device), "args": vars(args), "results": results}
    for cfg in configs:
        names, skipped = impls_for(cfg, args, device)
        print(
            f"[{cfg.name}] B={cfg.batch} T={cfg.steps} N={cfg.cells}: {', '.join(names)}",
            flush=True,
        )
        timed = time_config(cfg, names, args, device, skipped)
        if not args.no_peak:
            for n in timed:
                if n == "compiled":
                    continue  # compiling again in a child process would take minutes
                timed[n]["peak_mib"] = peak_train_mib(n, cfg, device)
        for n, r in timed.items():
            peak = r.get("peak_mib")
            print(
                f"  {IMPLS[n].label:>16}: train {r['train_ms']:8.1f} ms  infer "
                f"{r['infer_ms']:8.1f} ms  peak {peak if peak is None else round(peak)} MiB",
                flush=True,
            )
        results.append({"config": cfg.as_dict(), "impls": timed, "skipped": skipped})
        (out / "speed.json").write_text(json.dumps(report, indent=1))
    table = markdown_table(results)
    (out / "speed.md").write_text(table + "\n")
    plot(results, out / "speed.png")
    print(table)
    print(f"wrote {out / 'speed.json'}, {out / 'speed.md'}, {out / 'speed.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
