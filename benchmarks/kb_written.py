"""How often the model answers questions about hand-written knowledge bases right, end to
end: ``dncqa ingest`` of each text, ``dncqa ask`` of each question, the answers scored against
the ones written beside the questions.

    python -m benchmarks.kb_written [--sets set1,set2,set3] [--views 5] [--model auto]
        [--out benchmarks/results]

``benchmarks/data/kb-written/`` holds three sets of four knowledge bases, each about 40
sentences on invented people, places and works, written the way a person would write them
(dates, appositions, relative clauses, lists, passives), with 25-28 questions each of one,
two or three relations (``<relations>\\t<question>\\t<answer>[|<answer>...]``). The texts
were used to find the forms the extractor and the question parser read, so their scores
overstate what a new text gets (``docs/application.md``, "Hand-written knowledge bases").
Unlike ``benchmarks.kb_questions``, the right answers are the writer's, so a misread sentence
and a misparsed question both count as wrong.

Prints a table per set and number of relations and writes ``kb_written.json``. Run by hand;
nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "kb-written"


def norm(name: str) -> str:
    """A name compared loosely: lower case, no leading "the", punctuation as spaces."""
    text = re.sub(r"^the\s+", "", str(name).lower().strip())
    return re.sub(r"[^a-z0-9&]+", " ", text).strip()


def _names_in(answer) -> frozenset[str] | None:
    if answer is None or answer.kind == "none":
        return None
    return frozenset(norm(n) for n in answer.nodes)


def run(args: argparse.Namespace) -> dict:
    from dnc_qa.app.ask import ask
    from dnc_qa.app.ingest import IngestOptions, ingest_report
    from dnc_qa.app.workspace import Workspace
    from dnc_qa.errors import DncQaError

    rows: list[dict] = []
    kbs: list[dict] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        for kb in sorted(p for s in args.sets for p in DATA.glob(f"{s}-kb*.txt")):
            name = kb.stem
            with open(Path(tmp) / "ingest.log", "a") as log:
                report = ingest_report(kb, IngestOptions(name=name, model=args.model), ws, log)
            sentences = sum(1 for line in kb.read_text(encoding="utf-8").splitlines()
                            if line.strip() and not line.lstrip().startswith("#"))
            kbs.append({"kb": name, "lines": sentences, "unread": len(report.unread)})
            for line in kb.with_suffix(".tsv").read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                hops, question, answers = line.split("\t")
                right = frozenset(norm(a) for a in answers.split("|"))
                row = {"kb": name, "set": name.split("-")[0], "relations": int(hops),
                       "question": question, "right": sorted(right)}
                try:
                    result = ask(question, name, ws, min_confidence=0.0, views=args.views)
                except DncQaError as exc:
                    row.update(parsed=False, error=str(exc))
                    rows.append(row)
                    continue
                model, exact = _names_in(result.answer), _names_in(result.exact)
                row.update(parsed=True, exact=None if exact is None else sorted(exact),
                           model=None if model is None else sorted(model),
                           exact_right=exact == right, model_right=model == right)
                rows.append(row)
            print(f"{name}: {len(rows)} questions so far", file=sys.stderr)
    table = []
    for group in [*args.sets, "all"]:
        for hops in (1, 2, 3, None):
            got = [r for r in rows if group in ("all", r["set"])
                   and hops in (None, r["relations"])]
            if got:
                table.append({"set": group, "relations": hops or "all", "questions": len(got),
                              "exact_right": sum(r.get("exact_right", False) for r in got),
                              "model_right": sum(r.get("model_right", False) for r in got)})
    return {"settings": {"sets": args.sets, "views": args.views, "model": args.model},
            "kbs": kbs, "table": table, "rows": rows,
            "seconds": round(time.perf_counter() - start, 1),
            "python": platform.python_version()}


def markdown(report: dict) -> str:
    lines = ["| set | relations | questions | exact answer right | model right |",
             "|---|---|---|---|---|"]
    for r in report["table"]:
        lines.append(f"| {r['set']} | {r['relations']} | {r['questions']} | "
                     f"{r['exact_right']} | {r['model_right']} |")
    unread = sum(k["unread"] for k in report["kbs"])
    lines.append(f"\n{len(report['kbs'])} knowledge bases, "
                 f"{sum(k['lines'] for k in report['kbs'])} lines, {unread} sentences "
                 f"not read (or read in part)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=lambda s: s.split(","), default=["set1", "set2", "set3"],
                        help="comma-separated sets of benchmarks/data/kb-written")
    parser.add_argument("--views", type=int, default=5, help="dncqa ask --views")
    parser.add_argument("--model", default="auto", help="dncqa ingest --model")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for kb-written/kb_written.json")
    args = parser.parse_args(argv)
    report = run(args)
    out = args.out / "kb-written"
    out.mkdir(parents=True, exist_ok=True)
    (out / "kb_written.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "kb_written.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"wrote {out / 'kb_written.json'}")


if __name__ == "__main__":
    main()
