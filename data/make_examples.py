"""Regenerate the bundled, invented example graphs in ``data/`` from fixed seeds.

    python data/make_examples.py            # rewrite data/transit and data/family
    python data/make_examples.py --check    # exit 1 if the files differ from a fresh run

Everything here is invented (station, line and person names included); no public data is
copied.  The text knowledge base in ``data/kb/`` is written by hand, not generated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from dnc_qa.graphs.family import DERIVED_RELATIONS, FamilySpec, family_tree
from dnc_qa.graphs.formats.nodelink import write_node_link
from dnc_qa.graphs.formats.transit import write_transit
from dnc_qa.graphs.transit import TransitSpec, transit_map

HERE = Path(__file__).resolve().parent
TRANSIT_SEED = 1
TRANSIT_SPEC = TransitSpec(lines=7)
FAMILY_SEED = 16
FAMILY_SPEC = FamilySpec()


def write_examples(root: Path) -> list[Path]:
    """Write the generated examples under ``root``; returns the files written."""
    written = list(write_transit(transit_map(TRANSIT_SPEC, TRANSIT_SEED), root / "transit",
                                 prefix="meridian").values())
    family = root / "family"
    family.mkdir(parents=True, exist_ok=True)
    tree = family_tree(FAMILY_SPEC, FAMILY_SEED)
    tree.graph.update(name="The invented Marsh-Vale family", seed=FAMILY_SEED)
    write_node_link(tree, family / "family-tree.json")
    table = [{"name": r.label, "composition": list(r.path)} for r in DERIVED_RELATIONS]
    (family / "relations.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    return [*written, family / "family-tree.json", family / "relations.json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default data/)")
    args = parser.parse_args(argv)
    if not args.check:
        for path in write_examples(args.out):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [p.relative_to(tmp) for p in write_examples(Path(tmp))
                 if not (args.out / p.relative_to(tmp)).exists()
                 or (args.out / p.relative_to(tmp)).read_bytes() != p.read_bytes()]
    for rel in stale:
        print(f"differs: {rel}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
