"""How often the model itself answers one-, two- and three-relation questions about a text
knowledge base right, end to end: sentences written in varied forms, read by ``ingest``'s
extractor, questions parsed and answered by the shipped model.

    python -m benchmarks.kb_questions [--kbs 6] [--seed 900] [--views 5] [--model auto]
        [--out benchmarks/results]

Each knowledge base is about 40 sentences on invented people, towns, countries, works and
companies. Every fact is written in one of several forms, drawn at random ("Ava wrote The
Quiet Hour", "The Quiet Hour was written by Ava", "The Quiet Hour is a novel by Ava"; "Ashford
is a town in Veland", "Ashford is in Veland"; "The capital of Veland is Ashford", "Ashford is
the capital of Veland"; appositions, relative clauses). The questions chain one, two or three
relations, forwards and backwards ("who lives in Ashford"), and their right answers come from
the generator's own facts, not from what the extractor read: a sentence the extractor
misreads makes both the exact and the model answer wrong. The model is asked with no
threshold, through ``dnc_qa.app.ask`` as ``dncqa ask`` asks it.

Prints a table per number of relations (questions, parsed, exact answer right, model right)
and writes ``kb_questions.json``. Run by hand; nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COUNTRY_PARTS = (("Vel", "Or", "Mar", "Ess", "Tal", "Quen", "Brav", "Lun"),
                 ("and", "avia", "ost", "aria", "inth", "ora"))
WORK_WORDS = (("Quiet", "Glass", "Silver", "Hollow", "Last", "Amber", "Winter", "Broken"),
              ("Hour", "Harbour", "Orchard", "Lantern", "Road", "Crown", "Tide", "Garden"))
COMPANY_WORDS = (("Bright", "Iron", "Blue", "North", "Stone", "Swift"),
                 ("loom", "works", "mill", "forge", "gate", "line"))


@dataclass(frozen=True)
class World:
    """The facts of one knowledge base, as the generator knows them."""

    people: list[str]
    towns: list[str]
    countries: list[str]
    works: list[str]
    companies: list[str]
    born: dict[str, str]  # person -> town
    lives: dict[str, str]  # person -> town
    country_of: dict[str, str]  # town -> country
    capital: dict[str, str]  # country -> town
    mayor: dict[str, str]  # town -> person
    author: dict[str, str]  # work -> person
    employer: dict[str, str]  # person -> company
    based: dict[str, str]  # company -> town
    founder: dict[str, str]  # company -> person


def _names(parts: tuple[tuple[str, ...], tuple[str, ...]], count: int,
           rng: np.random.Generator, sep: str = "") -> list[str]:
    pool = [f"{a}{sep}{b}" for a in parts[0] for b in parts[1]]
    return [str(x) for x in rng.choice(pool, size=count, replace=False)]


def draw_world(rng: np.random.Generator) -> World:
    """Invented entities and facts: 3 countries, 6 towns, 8 people, 4 works, 3 companies."""
    from dnc_qa.graphs.names import FEMALE_NAMES, MALE_NAMES, STATION_HEADS, STATION_TAILS

    first = [str(n) for n in rng.permutation(FEMALE_NAMES + MALE_NAMES)[:8]]
    surnames = [f"{h}{t}".capitalize() for h, t in zip(
        rng.permutation(STATION_HEADS)[:8], rng.permutation(STATION_TAILS)[:8], strict=False)]
    people = [f"{f} {s}" for f, s in zip(first, surnames, strict=True)]
    towns = _names((STATION_HEADS, STATION_TAILS), 6, rng)
    countries = _names(COUNTRY_PARTS, 3, rng)
    works = ["The " + w for w in _names(WORK_WORDS, 4, rng, " ")]
    companies = _names(COMPANY_WORDS, 3, rng)

    def pick(items: list[str]) -> str:
        return items[int(rng.integers(len(items)))]

    country_of = {t: countries[i % 3] for i, t in enumerate(towns)}
    capital = {c: next(t for t in towns if country_of[t] == c) for c in countries}
    return World(
        people, towns, countries, works, companies,
        born={p: pick(towns) for p in people},
        lives={p: pick(towns) for p in people[:6]},
        country_of=country_of,
        capital=capital,
        mayor={t: people[i] for i, t in enumerate(towns[:4])},
        author={w: people[(i + 3) % 8] for i, w in enumerate(works)},
        employer={p: pick(companies) for p in people[2:7]},
        based={c: pick(towns) for c in companies},
        founder={c: people[(i + 5) % 8] for i, c in enumerate(companies)},
    )


def sentences(world: World, rng: np.random.Generator) -> list[str]:
    """Every fact of ``world`` as a sentence, each in a form drawn at random."""

    def one(*forms: str) -> str:
        return forms[int(rng.integers(len(forms)))]

    out = []
    for p, t in world.born.items():
        out.append(one(f"{p} was born in {t}."))
    for p, t in world.lives.items():
        out.append(one(f"{p} lives in {t}.", f"{p} lived in {t}."))
    for t, c in world.country_of.items():
        if world.capital[c] == t:
            out.append(one(f"The capital of {c} is {t}.", f"{t} is the capital of {c}.",
                           f"{c}'s capital is {t}."))
        out.append(one(f"{t} is in {c}.", f"{t} is a town in {c}.", f"{t} is a city in {c}."))
    for t, p in world.mayor.items():
        out.append(one(f"The mayor of {t} is {p}.", f"{p} is the mayor of {t}.",
                       f"{t}'s mayor is {p}."))
    for w, p in world.author.items():
        out.append(one(f"{p} wrote {w}.", f"{w} was written by {p}.", f"{w} is a novel by {p}.",
                       f"{w} is a play by {p}."))
    for p, c in world.employer.items():
        out.append(one(f"{p} works for {c}.", f"{p} worked for {c}."))
    for c, t in world.based.items():
        out.append(one(f"{c} is based in {t}."))
    for c, p in world.founder.items():
        out.append(one(f"{p} founded {c}.", f"{c} was founded by {p}."))
    order = rng.permutation(len(out))
    return [out[int(i)] for i in order]


Asked = tuple[int, str, frozenset[str]]
"""``(relations, question, right answers)``."""


def questions(world: World, rng: np.random.Generator, per_kind: int = 2) -> list[Asked]:
    """Questions chaining 1-3 relations, with their answers from ``world``'s facts."""
    w = world
    birthplace_of_author = {k: w.born[v] for k, v in w.author.items()}
    kinds: list[tuple[int, Callable[[], Asked | None]]] = []

    def add(n: int, items: list[str], make: Callable[[str], tuple[str, set[str]] | None]) -> None:
        def draw() -> Asked | None:
            if not items:
                return None
            made = make(items[int(rng.integers(len(items)))])
            return None if made is None or not made[1] else (n, made[0], frozenset(made[1]))
        kinds.append((n, draw))

    lives_in = {t: {p for p, x in w.lives.items() if x == t} for t in w.towns}
    born_in = {t: {p for p, x in w.born.items() if x == t} for t in w.towns}
    # one relation
    add(1, list(w.born), lambda p: (f"Where was {p} born?", {w.born[p]}))
    add(1, list(w.author), lambda k: (f"Who wrote {k}?", {w.author[k]}))
    add(1, w.countries, lambda c: (f"What is the capital of {c}?", {w.capital[c]}))
    add(1, list(w.mayor), lambda t: (f"Who is the mayor of {t}?", {w.mayor[t]}))
    add(1, w.towns, lambda t: (f"Who lives in {t}?", lives_in[t]))
    add(1, w.towns, lambda t: (f"Who was born in {t}?", born_in[t]))
    add(1, list(w.employer), lambda p: (f"Who does {p} work for?", {w.employer[p]}))
    # two relations
    add(2, list(w.author), lambda k: (f"Where was the author of {k} born?",
                                      {birthplace_of_author[k]}))
    add(2, w.towns, lambda t: (f"What is the capital of the country {t} is in?",
                               {w.capital[w.country_of[t]]}))
    add(2, list(w.lives), lambda p: (
        f"Who is the mayor of the town where {p} lives?",
        {w.mayor[w.lives[p]]} if w.lives[p] in w.mayor else set()))
    add(2, list(w.employer), lambda p: (f"Where is the company {p} works for based?",
                                        {w.based[w.employer[p]]}))
    add(2, list(w.employer), lambda p: (f"Who founded the company {p} works for?",
                                        {w.founder[w.employer[p]]}))
    add(2, list(w.based), lambda c: (f"Who lives in the town where {c} is based?",
                                     lives_in[w.based[c]]))
    # three relations
    add(3, w.towns, lambda t: (
        f"Who is the mayor of the capital of the country {t} is in?",
        {w.mayor[w.capital[w.country_of[t]]]} if w.capital[w.country_of[t]] in w.mayor
        else set()))
    add(3, list(w.author), lambda k: (
        f"What is the capital of the country where the author of {k} was born?",
        {w.capital[w.country_of[birthplace_of_author[k]]]}))
    add(3, list(w.employer), lambda p: (
        f"Where was the founder of the company {p} works for born?",
        {w.born[w.founder[w.employer[p]]]}))
    add(3, list(w.author), lambda k: (
        f"In which country was the author of {k} born?",
        {w.country_of[birthplace_of_author[k]]}))
    out: list[Asked] = []
    for _, draw in kinds:
        for _ in range(per_kind):
            got = draw()
            if got is not None and got not in out:
                out.append(got)
    return out


def _names_in(answer) -> frozenset[str] | None:
    if answer is None or answer.kind == "none":
        return None
    return frozenset(answer.nodes)


def run(args: argparse.Namespace) -> dict:
    from dnc_qa.app.ask import ask
    from dnc_qa.app.ingest import IngestOptions, ingest_report
    from dnc_qa.app.workspace import Workspace
    from dnc_qa.errors import DncQaError

    rows: list[dict] = []
    unread = 0
    written = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        for i in range(args.kbs):
            seed = args.seed + i
            rng = np.random.default_rng(seed)
            world = draw_world(rng)
            text = sentences(world, rng)
            written += len(text)
            path = Path(tmp) / f"kb-{seed}.txt"
            path.write_text("\n".join(text) + "\n", encoding="utf-8")
            with open(Path(tmp) / "ingest.log", "a") as log:
                report = ingest_report(path, IngestOptions(name=f"kb-{seed}", model=args.model),
                                       ws, log)
            unread += len(report.unread)
            for hops, question, right in questions(world, rng):
                row = {"kb": seed, "relations": hops, "question": question,
                       "right": sorted(right)}
                try:
                    result = ask(question, f"kb-{seed}", ws, min_confidence=0.0,
                                 views=args.views)
                except DncQaError as exc:
                    row.update(parsed=False, error=str(exc))
                    rows.append(row)
                    continue
                model = _names_in(result.answer)
                exact = _names_in(result.exact)
                row.update(parsed=True, exact=None if exact is None else sorted(exact),
                           model=None if model is None else sorted(model),
                           exact_right=exact == right, model_right=model == right,
                           confidence=result.confidence)
                rows.append(row)
            print(f"kb {seed}: {len(rows)} questions so far", file=sys.stderr)
    table = []
    for hops in (1, 2, 3):
        got = [r for r in rows if r["relations"] == hops]
        n = len(got)
        table.append({
            "relations": hops, "questions": n,
            "parsed": sum(r["parsed"] for r in got) / n if n else None,
            "exact_right": sum(r.get("exact_right", False) for r in got) / n if n else None,
            "model_right": sum(r.get("model_right", False) for r in got) / n if n else None,
        })
    return {
        "settings": {"kbs": args.kbs, "seed": args.seed, "views": args.views,
                     "model": args.model},
        "sentences": written, "unread_sentences": unread, "by_relations": table,
        "model_right": sum(r.get("model_right", False) for r in rows) / max(1, len(rows)),
        "questions": len(rows), "rows": rows,
        "seconds": round(time.perf_counter() - start, 1), "python": platform.python_version(),
    }


def markdown(report: dict) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f} %"

    lines = ["| relations | questions | parsed | exact answer right | model right |",
             "|---|---|---|---|---|"]
    for r in report["by_relations"]:
        lines.append(f"| {r['relations']} | {r['questions']} | {pct(r['parsed'])} | "
                     f"{pct(r['exact_right'])} | {pct(r['model_right'])} |")
    lines.append(f"\n{report['sentences']} sentences written, {report['unread_sentences']} "
                 f"not read; model right on {pct(report['model_right'])} of "
                 f"{report['questions']} questions")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kbs", type=int, default=6, help="knowledge bases")
    parser.add_argument("--seed", type=int, default=900, help="first seed")
    parser.add_argument("--views", type=int, default=5, help="dncqa ask --views")
    parser.add_argument("--model", default="auto", help="dncqa ingest --model")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for kb-questions/kb_questions.json")
    args = parser.parse_args(argv)
    report = run(args)
    out = args.out / "kb-questions"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kb_questions.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "kb_questions.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"wrote {out / 'kb_questions.json'}")


if __name__ == "__main__":
    main()
