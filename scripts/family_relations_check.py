"""How many family-relation questions a model answers right through ``ask``, by the number of
edges in the relation: every person, every derived relation with at least one answer, asked
in VIEWS relabelled memories (``dncqa ask`` uses 5), the model's people against the exact set.

    python scripts/family_relations_check.py traversal-dnc [VIEWS]
    python scripts/family_relations_check.py traversal-dnc 5 --all --seed 2027 --json out.json

By default the bundled tree and the relations ``inference-dnc`` knows by label, questions with
exactly one right answer (the rows quoted in docs/reproduction.md). ``--all`` asks every
derived relation (up to five edges) and also the questions with several right people (each
counted right only when the model names exactly that set). ``--seed N`` asks on a fresh tree
of the bundled size drawn with seed N instead (one the models never saw).
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

from dnc_qa.app import engine
from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace
from dnc_qa.graphs.family import DERIVED_RELATIONS, FamilySpec, family_tree
from dnc_qa.graphs.formats.nodelink import write_node_link


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("views", nargs="?", type=int, default=1)
    parser.add_argument("--all", action="store_true",
                        help="every derived relation, and questions with several answers")
    parser.add_argument("--seed", type=int, default=None,
                        help="a fresh tree of the bundled size drawn with this seed")
    parser.add_argument("--json", type=Path, default=None, help="also write the tallies here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp())
    ws = Workspace(tmp / "home")
    if args.seed is None:
        tree = Path(engine.__file__).parent / "demo_data" / "family-tree.json"
    else:
        tree = tmp / f"family-{args.seed}.json"
        write_node_link(family_tree(FamilySpec(), args.seed), tree)
    ingest(tree, IngestOptions(name="family", model=args.model), ws)
    known = engine.load_model("inference-dnc").spec.relations
    g = ws.load("family").graph
    tallies: dict[str, list[int]] = {}
    misses: list[str] = []
    for rel in DERIVED_RELATIONS:
        if not args.all and rel.label not in known:
            continue
        for person in sorted(g.nodes):
            question = f"who is {person}'s {rel.label}"
            r = ask(question, "family", ws, min_confidence=0.0, views=args.views)
            if r.exact.kind != "nodes" or not r.exact.nodes:
                continue
            single = len(r.exact.nodes) == 1
            if not single and not args.all:
                continue
            ok = (r.answer is not None and r.answer.kind in ("node", "nodes")
                  and set(r.answer.nodes) == set(r.exact.nodes))
            key = f"{len(rel.path)} edges" + ("" if single else ", several people")
            tally = tallies.setdefault(key, [0, 0])
            tally[0] += ok
            tally[1] += 1
            if not ok:
                misses.append(question)
    rows = {k: f"{v[0]}/{v[1]}" for k, v in sorted(tallies.items())}
    tree_name = "bundled tree" if args.seed is None else f"tree seed {args.seed}"
    print(args.model, f"views {args.views}", tree_name, rows)
    if args.json is not None:
        args.json.write_text(json.dumps({
            "model": args.model, "views": args.views, "tree": tree_name, "all": args.all,
            "tallies": {k: {"right": v[0], "asked": v[1]} for k, v in sorted(tallies.items())},
            "misses": misses,
        }, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
