"""How often the model itself answers ``dncqa ask "shortest path from A to B"`` right on maps
it has never seen, per number of moves, through the application.

    python -m benchmarks.app_paths [--maps 12] [--per-distance 3] [--distances 2 3 4 5]
        [--views 1 5] [--beam 3] [--model auto] [--seed 500] [--out benchmarks/results]

Each map is a fresh transit map of 14-20 stations on 3-5 lines
(:func:`dnc_qa.graphs.transit_generator.lesson_map`, seeds the training stream never
draws), written as node-link JSON, ingested as a user would (``dnc_qa.ingest``, ``--model``
as for ``dncqa ingest``) and asked ``--per-distance`` shortest-path questions for every
distance in ``--distances`` (pairs drawn at random among those at that distance), once per
``--views`` setting (``dncqa ask --views``), decoded with ``--beam`` (``dncqa ask --beam``).
A model answer is right when its path is a shortest one
(:func:`dnc_qa.app.exact_answers.agrees`); no threshold is applied, except in the last
column: right *and* shown at ``dncqa ask``'s default ``--min-confidence`` for shortest paths.
The rule "take the goal when it is adjacent, else a random legal move" is scored on the same
questions for scale (its expected accuracy, exactly).

Prints a table and writes ``app_paths.json``. Run by hand; nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from dnc_qa.app.ask import SHORTEST_PATH_MIN_CONFIDENCE
from dnc_qa.graphs.lesson_tables import Lesson

ROOT = Path(__file__).resolve().parent.parent
MAPS = Lesson(0, (14, 20), (0, 0), (2, 5), 1, (3, 5))
"""The maps asked: the size of the maps the application is for."""


def goal_when_adjacent(graph: nx.MultiDiGraph, source: str, goal: str) -> float:
    """The chance that "goal when adjacent, else a uniformly random move" walks a shortest
    path from ``source`` to ``goal``."""
    dist = nx.single_target_shortest_path_length(graph, goal)

    def chance(node: str) -> float:
        if node == goal:
            return 1.0
        succ = sorted({v for _, v in graph.out_edges(node)})
        if goal in succ:
            return 1.0
        good = [v for v in succ if dist.get(v, -1) == dist[node] - 1]
        return sum(chance(v) for v in good) / len(succ) if succ else 0.0

    return chance(source)


def questions(graph: nx.MultiDiGraph, rng: np.random.Generator, distances: list[int],
              per_distance: int) -> list[tuple[int, str, str]]:
    """``(distance, source, goal)`` triples: up to ``per_distance`` pairs per distance."""
    lengths = dict(nx.all_pairs_shortest_path_length(graph))
    out = []
    for d in distances:
        pairs = sorted((s, t) for s, row in lengths.items() for t, n in row.items() if n == d)
        for i in rng.permutation(len(pairs))[:per_distance]:
            out.append((d, *pairs[int(i)]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=12)
    parser.add_argument("--per-distance", type=int, default=3)
    parser.add_argument("--distances", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--views", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--model", default="auto", help="as dncqa ingest --model")
    parser.add_argument("--beam", type=int, default=3, help="as dncqa ask --beam")
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import dnc_qa
    from dnc_qa.graphs.io import write_graph
    from dnc_qa.graphs.transit_generator import lesson_map

    start = time.perf_counter()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dncqa-app-paths-") as tmp:
        home = Path(tmp) / "home"
        for i in range(args.maps):
            seed = args.seed + i
            rng = np.random.default_rng(seed)
            graph = lesson_map(MAPS, rng)
            path = Path(tmp) / f"map-{seed}.json"
            write_graph(graph, path)
            g = dnc_qa.ingest(path, f"map-{seed}", model=args.model, home=home)
            stored = g.to_networkx()
            for d, a, b in questions(stored, rng, args.distances, args.per_distance):
                row = {"map": seed, "stations": stored.number_of_nodes(), "distance": d,
                       "question": f"shortest path from {a} to {b}",
                       "rule": goal_when_adjacent(stored, a, b)}
                for views in args.views:
                    ans = g.ask(row["question"], views=views, min_confidence=0.0,
                                beam=args.beam)
                    row[f"views {views}"] = bool(ans.agrees)
                    row[f"confidence {views}"] = ans.confidence
                    row["model"] = ans.model
                rows.append(row)
            print(f"map {seed}: {len(rows)} questions so far", file=sys.stderr)
    by_distance = []
    for d in args.distances:
        mine = [r for r in rows if r["distance"] == d]
        if not mine:
            continue
        entry = {"distance": d, "questions": len(mine),
                 "rule": round(float(np.mean([r["rule"] for r in mine])), 3)}
        for views in args.views:
            entry[f"views {views}"] = round(float(np.mean([r[f"views {views}"] for r in mine])),
                                            3)
        by_distance.append(entry)
    total = {"distance": "all", "questions": len(rows),
             "rule": round(float(np.mean([r["rule"] for r in rows])), 3)}
    for views in args.views:
        total[f"views {views}"] = round(float(np.mean([r[f"views {views}"] for r in rows])), 3)
    by_distance.append(total)
    last = args.views[-1]  # right and shown at dncqa ask's default threshold
    for entry in by_distance:
        mine = [r for r in rows if entry["distance"] in ("all", r["distance"])]
        entry[f"views {last} shown"] = round(float(np.mean([
            r[f"views {last}"] and (r[f"confidence {last}"] or 0.0)
            >= SHORTEST_PATH_MIN_CONFIDENCE for r in mine])), 3)
    cols = (["distance", "questions", "rule"] + [f"views {v}" for v in args.views]
            + [f"views {last} shown"])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for entry in by_distance:
        print("| " + " | ".join(str(entry[c]) for c in cols) + " |")
    models = sorted({r["model"] for r in rows})
    print(f"\nmodel: {', '.join(models)}; {time.perf_counter() - start:.0f} s")
    report = {"by_distance": by_distance, "models": models, "rows": rows,
              "settings": {**vars(args), "out": str(args.out)},
              "python": platform.python_version(),
              "seconds": round(time.perf_counter() - start, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "app_paths.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out / 'app_paths.json'}")


if __name__ == "__main__":
    main()
