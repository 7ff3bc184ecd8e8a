"""How long each graph reader takes at 1k, 10k and 100k nodes (reading must be linear).

    python -m benchmarks.readers [--sizes 1000 10000 100000] [--formats ...] [--reps 3]
                                 [--out benchmarks/results]

Per format and size a random sparse graph (every node on a path, plus as many random
labelled edges again: about two edges per node) is written to a temporary folder with the
project's own writers, then read back with :func:`dnc_qa.graphs.io.read_graph` ``--reps`` times
after one untimed warm-up read (the median process CPU time is reported, robust to other
load on a shared machine). The
last column, microseconds per node, should stay flat from one size to the next: a reader
that rescans its input per node or edge shows up as a column that grows tenfold.

Formats: ``node-link``, ``transit-json`` and ``transit`` (the three-CSV folder), ``graphml``,
``gml``, ``csv`` and ``text`` (a knowledge base of sentences, read with spaCy's tokenizer; it
is the slowest by far, so its largest size is left out unless ``--text-max`` allows it).
Prints a table and writes ``readers.json``.  Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from dnc_qa.graphs.io import ReadOptions, read_graph, write_graph
from dnc_qa.graphs.limits import MB, Limits
from dnc_qa.graphs.model import add_triple

FORMATS = ("node-link", "transit-json", "transit", "graphml", "gml", "csv", "text")
LIMITS = Limits(max_bytes=2000 * MB, max_nodes=10**7, max_edges=10**8)


def random_graph(nodes: int, seed: int = 0) -> nx.MultiDiGraph:
    """A path through ``nodes`` nodes plus ``nodes`` random edges, 8 labels."""
    rng = random.Random(seed)
    g = nx.MultiDiGraph()
    names = [f"N{i:06d}" for i in range(nodes)]
    g.add_nodes_from(names)
    for a, b in zip(names, names[1:], strict=False):
        add_triple(g, a, f"r{rng.randrange(8)}", b)
    for _ in range(nodes):
        a, b = rng.choice(names), rng.choice(names)
        label = f"r{rng.randrange(8)}"
        if a != b and not g.has_edge(a, b, key=label):
            add_triple(g, a, label, b)
    return g


def _transit_tables(graph: nx.MultiDiGraph) -> tuple[list, list, list]:
    """Stations, lines and connections for the undirected pairs of ``graph`` (each on one of
    8 lines), in the transit tables' field names."""
    ids = {n: i + 1 for i, n in enumerate(graph)}
    stations = [{"id": ids[n], "name": f"Station {n}", "latitude": None, "longitude": None}
                for n in graph]
    lines = [{"line": i + 1, "name": f"Line{i}"} for i in range(8)]
    seen: set[tuple[frozenset, str]] = set()
    conns = []
    for u, v, k in graph.edges(keys=True):
        key = (frozenset((u, v)), k)
        if u == v or key in seen:
            continue
        seen.add(key)
        conns.append({"station1": ids[u], "station2": ids[v], "line": int(k[1:]) + 1,
                      "time": 1.0})
    return stations, lines, conns


def _word(name: str) -> str:
    """A capitalised word for node ``N000123`` (the text reader wants names, not numbers)."""
    number, letters = int(name[1:]), ""
    for _ in range(5):
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
    return "N" + letters


def write_input(fmt: str, graph: nx.MultiDiGraph, folder: Path) -> Path:
    """``graph`` in format ``fmt`` under ``folder``; returns the path to read."""
    if fmt in ("node-link", "graphml", "gml", "csv"):
        path = folder / {"node-link": "g.json", "graphml": "g.graphml", "gml": "g.gml",
                         "csv": "g.csv"}[fmt]
        write_graph(graph, path)
        return path
    if fmt == "text":
        path = folder / "kb.txt"
        lines = [f"{_word(u)} is the friend of {_word(v)}." for u, v in graph.edges()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    stations, lines, conns = _transit_tables(graph)
    if fmt == "transit-json":
        path = folder / "transit.json"
        path.write_text(json.dumps({"stations": stations, "lines": lines,
                                    "connections": conns}), encoding="utf-8")
        return path
    path = folder / "transit"
    path.mkdir()

    def csv(name: str, header: list[str], rows: list[dict]) -> None:
        text = [",".join(header)] + [",".join("" if r[h] is None else str(r[h]) for h in header)
                                     for r in rows]
        (path / f"{name}.csv").write_text("\n".join(text) + "\n", encoding="utf-8")

    csv("stations", ["id", "name", "latitude", "longitude"], stations)
    csv("lines", ["line", "name"], lines)
    csv("connections", ["station1", "station2", "line", "time"], conns)
    return path


def time_read(fmt: str, path: Path, reps: int) -> tuple[float, nx.MultiDiGraph]:
    """Median CPU seconds of reading ``path`` (and the graph read)."""
    read_fmt = "transit" if fmt.startswith("transit") else fmt
    options = ReadOptions(limits=LIMITS, default_label="link")
    read_graph(path, read_fmt, options)  # warm-up: imports, spaCy's model, caches
    times, graph = [], None
    for _ in range(reps):
        start = time.process_time()
        graph = read_graph(path, read_fmt, options)
        times.append(time.process_time() - start)
    assert graph is not None
    return statistics.median(times), graph


def run(sizes: list[int], formats: list[str], reps: int, text_max: int,
        log: Callable[[str], None] = print) -> list[dict]:
    rows = []
    header = f"{'format':13} {'nodes':>8} {'edges':>8} {'file MB':>8} {'read s':>8} {'us/node':>8}"
    log(header)
    log("-" * len(header))
    for fmt in formats:
        for n in sizes:
            if fmt == "text" and n > text_max:
                continue
            graph = random_graph(n)
            with tempfile.TemporaryDirectory(prefix="dncqa-bench-") as tmp:
                path = write_input(fmt, graph, Path(tmp))
                size = sum(p.stat().st_size for p in ([path] if path.is_file()
                                                      else path.iterdir()))
                seconds, read = time_read(fmt, path, reps)
            row = {"format": fmt, "nodes": read.number_of_nodes(),
                   "edges": read.number_of_edges(), "file_bytes": size,
                   "cpu_s": round(seconds, 4),
                   "us_per_node": round(1e6 * seconds / max(1, read.number_of_nodes()), 2)}
            rows.append(row)
            log(f"{fmt:13} {row['nodes']:>8,} {row['edges']:>8,} {size / MB:>8.2f} "
                f"{seconds:>8.3f} {row['us_per_node']:>8.1f}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--text-max", type=int, default=10_000,
                        help="largest size for the (slow) text knowledge-base reader")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    rows = run(sorted(args.sizes), args.formats, max(1, args.reps), args.text_max)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "readers.json"
    out.write_text(json.dumps({"python": platform.python_version(),
                               "machine": platform.machine(), "reps": args.reps,
                               "rows": rows}, indent=1, allow_nan=False) + "\n",
                   encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
