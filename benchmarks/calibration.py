"""How far the shipped models' confidence can be trusted: accuracy per confidence bin, and
what a ``--min-confidence`` threshold would keep, on questions none of them was trained on.

    python -m benchmarks.calibration [--maps 16] [--trees 20] [--kbs 12] [--seed 100]
        [--out benchmarks/results]

Fresh graphs are drawn from the project's generators with seeds the shipped models never saw
(their training used the paper's random graphs, not maps, trees or knowledge bases): transit
maps (:func:`dnc_qa.graphs.transit_generator.transit_map`), family trees
(:func:`dnc_qa.graphs.family.family_tree`) and invented text knowledge bases (sentences "The
mayor of Ashford is Ada."), plus the bundled ``data/kb/facts.txt`` with its questions. Each is
ingested with the shipped model ``dncqa ingest`` picks, and asked questions of every type the
application answers: traversals along a line (some running off the line's end, where the
right answer is none), neighbours, shortest paths, family facts (some with no answer, such as
the mother of someone who married into the family), derived relations, walks over relations
and knowledge-base facts. The model's answer is compared with the exact one
(:func:`dnc_qa.app.exact_answers.agrees`).

Printed and written to ``--out`` (``calibration.json``, ``calibration.png``): accuracy per
confidence bin (a reliability table), accuracy and mean confidence per question type, and for
candidate thresholds the share of questions still answered (coverage), the accuracy of those
answers and the wrong answers left per 100 questions. Run by hand; nothing here is asserted
in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DIRECTION_WORDS = {"N": "north", "S": "south", "E": "east", "W": "west"}
KB_RELATIONS = ("mayor", "doctor", "baker", "teacher", "vicar")


@dataclass(frozen=True)
class Record:
    """One question asked.

    Attributes:
        kind: the question type (``traversal``, ``neighbours``, ...).
        source: which graph (``map 3``, ``tree 101``, ``kb 2``, ``facts.txt``).
        question: the question.
        confidence: the model's confidence, ``None`` when it gave no answer.
        correct: whether its answer agrees with the exact one (``None`` without an answer).
        exact_none: whether the exact answer is "none" (nothing to find).
    """

    kind: str
    source: str
    question: str
    confidence: float | None
    correct: bool | None
    exact_none: bool


def line_walk(graph, start: str, label: str, stops: int) -> int:
    """How many of ``stops`` hops along ``label`` exist from ``start``."""
    node, done = start, 0
    for _ in range(stops):
        nxt = [v for _, v, k in graph.out_edges(node, keys=True) if k == label]
        if len(nxt) != 1:
            break
        node, done = nxt[0], done + 1
    return done


def transit_questions(graph, rng: np.random.Generator, traversals: int, neighbours: int,
                      paths: int) -> list[tuple[str, str]]:
    """``(kind, question)`` pairs for a transit map: traversals of 1-4 stops along a line
    (never past its end, which the parser refuses), neighbours, shortest paths."""
    nodes = sorted(graph.nodes)
    out: list[tuple[str, str]] = []
    while sum(k == "traversal" for k, _ in out) < traversals:
        start = nodes[rng.integers(len(nodes))]
        label = sorted({k for _, _, k in graph.out_edges(start, keys=True)})
        label = label[rng.integers(len(label))]
        line, direction = label.rsplit(" ", 1)
        stops = int(rng.integers(1, line_walk(graph, start, label, 4) + 1))
        unit = "stop" if stops == 1 else "stops"
        out.append(("traversal", f"from {start} take the {line} line "
                                 f"{DIRECTION_WORDS[direction]} for {stops} {unit}"))
    for node in rng.choice(nodes, size=neighbours, replace=False):
        out.append(("neighbours", f"which stations are next to {node}"))
    for _ in range(paths):
        a, b = rng.choice(nodes, size=2, replace=False)
        out.append(("shortest path", f"shortest path from {a} to {b}"))
    return out


def family_questions(graph, rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """``(kind, question)`` pairs for a family tree: facts (mother, father, wife, husband;
    some people have none), derived relations and walks over two relations."""
    people = sorted(graph.nodes)
    facts = ("mother", "father", "wife", "husband")
    derived = ("maternal grandmother", "paternal grandfather", "brother", "sister",
               "grandchildren")
    out: list[tuple[str, str]] = []
    for i in range(count):
        who = people[rng.integers(len(people))]
        pick = i % 4
        if pick in (0, 1):
            out.append(("family fact", f"who is {who}'s {facts[rng.integers(len(facts))]}"))
        elif pick == 2:
            rel = derived[rng.integers(len(derived))]
            verb = "are" if rel.endswith("ren") else "is"
            out.append(("derived relation", f"who {verb} {who}'s {rel}"))
        else:
            walk = relation_walk(graph, who, rng)
            if walk:
                out.append(("relation walk", f"start at {who} and follow {walk[0]} then "
                                             f"{walk[1]}"))
    return out


def relation_walk(graph, start: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """Two edge labels that can be followed from ``start`` (the parser refuses a walk over a
    missing edge), or ``None``."""
    first = sorted(graph.out_edges(start, keys=True))
    rng.shuffle(first)
    for _, mid, a in first:
        second = sorted(k for _, _, k in graph.out_edges(mid, keys=True))
        if second:
            return a, second[rng.integers(len(second))]
    return None


def kb_text(rng: np.random.Generator, towns: int = 6) -> tuple[str, list[str], list[str]]:
    """An invented knowledge base: ``(text, towns, relations used)``; each town has most of
    :data:`KB_RELATIONS`, each filled by an invented person."""
    from dnc_qa.graphs.names import FEMALE_NAMES, MALE_NAMES, STATION_HEADS, STATION_TAILS

    names = [f"{h}{t}" for h in STATION_HEADS for t in STATION_TAILS]
    places = [str(p) for p in rng.choice(names, size=towns, replace=False)]
    people = [str(p) for p in rng.permutation(FEMALE_NAMES + MALE_NAMES)]
    lines, used = [], set()
    for town in places:
        for rel in KB_RELATIONS:
            if rng.random() < 0.7:
                lines.append(f"The {rel} of {town} is {people.pop()}.")
                used.add(rel)
    return "\n".join(lines) + "\n", places, sorted(used)


def kb_questions(places: Sequence[str], relations: Sequence[str], rng: np.random.Generator,
                 count: int) -> list[tuple[str, str]]:
    """``(kind, question)`` pairs: "who is the mayor of Ashford" (about a third of the
    town/relation pairs have no answer)."""
    return [("kb fact", f"who is the {relations[rng.integers(len(relations))]} of "
                        f"{places[rng.integers(len(places))]}") for _ in range(count)]


def bundled_kb_questions() -> list[tuple[str, str]]:
    """The questions of ``data/kb/questions.tsv``."""
    rows = (ROOT / "data" / "kb" / "questions.tsv").read_text(encoding="utf-8").splitlines()
    return [("kb fact", r.split("\t")[0]) for r in rows if r and not r.startswith("#")]


def ask_all(name: str, source: str, questions: Iterable[tuple[str, str]], workspace,
            views: int = 5) -> list[Record]:
    """Ask every distinct question of the stored graph ``name`` without a threshold, the
    model in ``views`` relabelled memories (``dncqa ask --views``)."""
    from dnc_qa.app.ask import ask
    from dnc_qa.errors import DncQaError

    records = []
    for kind, question in dict.fromkeys(questions):  # each distinct question once
        try:
            result = ask(question, name, workspace, min_confidence=0.0, views=views)
        except DncQaError as exc:  # a question the parser refuses is not a model answer
            print(f"  skipped {question!r}: {exc}", file=sys.stderr)
            continue
        records.append(Record(kind, source, question,
                              None if result.answer is None else result.confidence,
                              result.agrees, result.exact.kind == "none"
                              or (result.exact.kind == "nodes" and not result.exact.nodes)))
    return records


def collect(args: argparse.Namespace, workspace, folder: Path) -> list[Record]:
    """Draw, ingest and ask every graph (see the module docstring)."""
    from dnc_qa.app.ingest import IngestOptions, ingest
    from dnc_qa.graphs.family import family_tree
    from dnc_qa.graphs.io import write_graph
    from dnc_qa.graphs.transit_generator import transit_map

    records: list[Record] = []
    log = open(folder / "ingest.log", "w")  # noqa: SIM115 - kept open for every ingest
    for i in range(args.maps):
        seed = args.seed + i
        rng = np.random.default_rng(seed)
        path = folder / f"map-{seed}.json"
        write_graph(transit_map(seed=seed), path)
        ingest(path, IngestOptions(name=f"map-{seed}"), workspace, log)
        qs = transit_questions(workspace.load(f"map-{seed}").graph, rng, 12, 6, 4)
        records += ask_all(f"map-{seed}", f"map {seed}", qs, workspace, args.views)
        print(f"map {seed}: {len(records)} questions so far", file=sys.stderr)
    for i in range(args.trees):
        seed = args.seed + args.maps + i
        rng = np.random.default_rng(seed)
        path = folder / f"tree-{seed}.json"
        write_graph(family_tree(seed=seed), path)
        ingest(path, IngestOptions(name=f"tree-{seed}"), workspace, log)
        qs = family_questions(workspace.load(f"tree-{seed}").graph, rng, 20)
        records += ask_all(f"tree-{seed}", f"tree {seed}", qs, workspace, args.views)
        print(f"tree {seed}: {len(records)} questions so far", file=sys.stderr)
    for i in range(args.kbs):
        seed = args.seed + args.maps + args.trees + i
        rng = np.random.default_rng(seed)
        text, places, relations = kb_text(rng)
        path = folder / f"kb-{seed}.txt"
        path.write_text(text, encoding="utf-8")
        ingest(path, IngestOptions(name=f"kb-{seed}"), workspace, log)
        records += ask_all(f"kb-{seed}", f"kb {seed}", kb_questions(places, relations, rng, 12),
                           workspace, args.views)
        print(f"kb {seed}: {len(records)} questions so far", file=sys.stderr)
    ingest(ROOT / "data" / "kb" / "facts.txt", IngestOptions(name="facts"), workspace, log)
    records += ask_all("facts", "facts.txt", bundled_kb_questions(), workspace, args.views)
    log.close()
    return records


def reliability(records: Sequence[Record], edges: Sequence[float] = BINS) -> list[dict]:
    """Per confidence bin ``[lo, hi)`` (the last one closed): answers, accuracy, mean
    confidence."""
    answered = [r for r in records if r.confidence is not None]
    rows = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        inside = [r for r in answered
                  if lo <= r.confidence < hi or (hi == edges[-1] and r.confidence == hi)]
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "answers": len(inside),
                     "accuracy": _mean([bool(r.correct) for r in inside]),
                     "confidence": _mean([r.confidence for r in inside])})
    return rows


def coverage(records: Sequence[Record], thresholds: Sequence[float] = THRESHOLDS
             ) -> list[dict]:
    """Per threshold: the share of questions still answered, the accuracy of those answers,
    and the wrong answers left per 100 questions (questions without a model answer count as
    unanswered at every threshold)."""
    rows = []
    total = len(records)
    for t in thresholds:
        kept = [r for r in records if r.confidence is not None and r.confidence >= t]
        wrong = sum(1 for r in kept if not r.correct)
        rows.append({"threshold": t, "coverage": len(kept) / total if total else None,
                     "accuracy": _mean([bool(r.correct) for r in kept]),
                     "wrong_per_100": 100 * wrong / total if total else None,
                     "right_per_100": 100 * (len(kept) - wrong) / total if total else None,
                     "net_per_100": 100 * (len(kept) - 2 * wrong) / total if total else None})
    return rows


def best_threshold(rows: Sequence[dict]) -> float:
    """The threshold with the most right minus wrong answers per 100 questions (a wrong
    answer costs as much as a right one gains; the lowest threshold on ties)."""
    return max(rows, key=lambda r: (r["net_per_100"], -r["threshold"]))["threshold"]


KIND_THRESHOLDS = (0.0, 0.3, 0.5)
"""The thresholds :func:`by_kind` reports right / wrong answer counts at."""


def by_kind(records: Sequence[Record]) -> list[dict]:
    """Per question type: questions, model answers, accuracy and mean confidence of the
    answers, how many had no exact answer, and the right / wrong answers kept at each of
    :data:`KIND_THRESHOLDS` (keys ``at 0``, ``at 0.3``, ...)."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[r.kind].append(r)
    rows = []
    for kind, rs in groups.items():
        answered = [r for r in rs if r.confidence is not None]
        row = {"kind": kind, "questions": len(rs), "answered": len(answered),
               "accuracy": _mean([bool(r.correct) for r in answered]),
               "confidence": _mean([r.confidence for r in answered]),
               "exact_none": sum(r.exact_none for r in rs)}
        for t in KIND_THRESHOLDS:
            kept = [r for r in answered if r.confidence >= t]
            right = sum(1 for r in kept if r.correct)
            row[f"at {t:g}"] = f"{right} / {len(kept) - right}"
        rows.append(row)
    return rows


def expected_calibration_error(records: Sequence[Record], edges: Sequence[float] = BINS
                               ) -> float | None:
    """The answer-weighted mean gap between accuracy and confidence over the bins."""
    rows = [r for r in reliability(records, edges) if r["answers"]]
    n = sum(r["answers"] for r in rows)
    if not n:
        return None
    return sum(r["answers"] * abs(r["accuracy"] - r["confidence"]) for r in rows) / n


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` (``columns``: key, heading; fractions as percents)."""
    def cell(row: dict, key: str) -> str:
        value = row[key]
        if key in ("accuracy", "confidence", "coverage"):
            return _pct(value)
        if isinstance(value, float):
            return f"{value:.1f}" if key.endswith("100") else f"{value:g}"
        return str(value)

    lines = ["| " + " | ".join(h for _, h in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, k) for k, _ in columns) + " |" for r in rows]
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    """Reliability diagram beside coverage and accuracy against the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    rows = [r for r in report["reliability"] if r["answers"]]
    mids = [float(r["bin"].split("-")[0]) + 0.05 for r in rows]
    left.bar(mids, [r["accuracy"] for r in rows], width=0.09, alpha=0.7, label="accuracy")
    left.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    left.plot(mids, [r["confidence"] for r in rows], "o", color="C1", label="mean confidence")
    for x, r in zip(mids, rows, strict=True):
        left.annotate(str(r["answers"]), (x, r["accuracy"]), ha="center", va="bottom",
                      fontsize=7)
    left.set(xlabel="model confidence", ylabel="accuracy of answers", xlim=(0, 1),
             ylim=(0, 1.05), title="reliability (answers per bin on the bars)")
    left.legend(fontsize=8, loc="upper left")
    cov = report["coverage"]
    ts = [r["threshold"] for r in cov]
    right.plot(ts, [r["coverage"] for r in cov], "o-", label="coverage (share answered)")
    right.plot(ts, [r["accuracy"] for r in cov], "s-", label="accuracy of answers")
    right.plot(ts, [r["wrong_per_100"] / 100 for r in cov], "^-",
               label="wrong answers per question")
    right.set(xlabel="--min-confidence", ylim=(0, 1.05), title="what a threshold keeps")
    right.legend(fontsize=8)
    fig.suptitle(f"shipped models on {report['questions']} held-out questions")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run the measurement, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=16, help="transit maps (22 questions each)")
    parser.add_argument("--trees", type=int, default=20, help="family trees (20 questions each)")
    parser.add_argument("--kbs", type=int, default=12, help="knowledge bases (12 questions each)")
    parser.add_argument("--seed", type=int, default=100, help="first seed of the graphs")
    parser.add_argument("--views", type=int, default=5,
                        help="relabelled memories per question (dncqa ask --views)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    from dnc_qa.app.workspace import Workspace

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dncqa-calibration-") as tmp:
        folder = Path(tmp)
        records = collect(args, Workspace(folder / "home"), folder)
    report = {
        "questions": len(records),
        "answered": sum(r.confidence is not None for r in records),
        "expected_calibration_error": expected_calibration_error(records),
        "by_kind": by_kind(records),
        "reliability": reliability(records),
        "coverage": coverage(records),
        "best_threshold": best_threshold(coverage(records)),
        "settings": {**vars(args), "out": str(args.out)},
        "seconds": round(time.perf_counter() - start, 1),
        "python": platform.python_version(),
        "records": [asdict(r) for r in records],
    }
    print(f"{report['questions']} questions, {report['answered']} with a model answer, "
          f"expected calibration error {report['expected_calibration_error']:.3f}, "
          f"{report['seconds']} s\n")
    print(table(report["by_kind"], [("kind", "question type"), ("questions", "questions"),
                                    ("exact_none", "no exact answer"),
                                    ("answered", "model answers"), ("accuracy", "accuracy"),
                                    ("confidence", "mean confidence")]
                + [(f"at {t:g}", f"right / wrong at {t:g}") for t in KIND_THRESHOLDS]))
    print()
    print(table(report["reliability"], [("bin", "confidence"), ("answers", "answers"),
                                        ("accuracy", "accuracy"),
                                        ("confidence", "mean confidence")]))
    print()
    print(table(report["coverage"], [("threshold", "--min-confidence"),
                                     ("coverage", "answered"), ("accuracy", "accuracy"),
                                     ("right_per_100", "right per 100"),
                                     ("wrong_per_100", "wrong per 100"),
                                     ("net_per_100", "right - wrong")]))
    print(f"\nmost right minus wrong answers at --min-confidence {report['best_threshold']:g}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report, args.out / "calibration.png")
    print(f"\nwrote {args.out / 'calibration.json'} and {args.out / 'calibration.png'}")


if __name__ == "__main__":
    main()
