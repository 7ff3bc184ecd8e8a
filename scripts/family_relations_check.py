"""How many of the bundled family tree's relation questions a model answers right, by the
number of edges in the relation: every person, every derived relation that ``inference-dnc``
knows by label, questions with exactly one right answer, asked in VIEWS relabelled memories
(default 1; ``dncqa ask`` uses 5).

    python scripts/family_relations_check.py inference-dnc
    python scripts/family_relations_check.py traversal-dnc [VIEWS]
"""
import sys
import tempfile
from pathlib import Path

from dnc_qa.app import engine
from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace
from dnc_qa.graphs.family import DERIVED_RELATIONS

model = sys.argv[1]
views = int(sys.argv[2]) if len(sys.argv) > 2 else 1
ws = Workspace(Path(tempfile.mkdtemp()) / "home")
family = Path(engine.__file__).parent / "demo_data" / "family-tree.json"
ingest(family, IngestOptions(name="family", model=model), ws)
spec = engine.load_model("inference-dnc").spec
g = ws.load("family").graph
by_len = {}
for rel in DERIVED_RELATIONS:
    if rel.label not in spec.relations:
        continue
    for person in sorted(g.nodes):
        r = ask(f"who is {person}'s {rel.label}", "family", ws, min_confidence=0.0, views=views)
        if r.exact.kind != "nodes" or len(r.exact.nodes) != 1:
            continue
        n = len(rel.path)
        ok = (r.answer is not None and r.answer.kind in ("node", "nodes")
              and set(r.answer.nodes) == set(r.exact.nodes))
        tally = by_len.setdefault(n, [0, 0])
        tally[0] += ok
        tally[1] += 1
print(model, f"views {views}", {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_len.items())})
