"""Regenerate the bundled, invented example graphs in ``data/`` from fixed seeds.

    python data/make_examples.py            # rewrite data/transit, data/family and the tree
    python data/make_examples.py --check    # exit 1 if the files differ from a fresh run

The family tree is written to ``dnc_qa/app/demo_data/family-tree.json`` (package data, so an
installed ``dncqa demo`` reads it; its one copy); ``data/family/`` gets its relation table.

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
from dnc_qa.graphs.transit_generator import TransitSpec, transit_map

HERE = Path(__file__).resolve().parent
TREE_FOLDER = HERE.parent / "dnc_qa" / "app" / "demo_data"
TRANSIT_SEED = 1
TRANSIT_SPEC = TransitSpec(lines=7)
FAMILY_SEED = 16
FAMILY_SPEC = FamilySpec()


def write_examples(root: Path, tree_folder: Path) -> list[Path]:
    """Write the generated examples under ``root`` and the family tree into ``tree_folder``;
    returns the files written."""
    written = list(write_transit(transit_map(TRANSIT_SPEC, TRANSIT_SEED), root / "transit",
                                 prefix="meridian").values())
    family = root / "family"
    family.mkdir(parents=True, exist_ok=True)
    tree_folder.mkdir(parents=True, exist_ok=True)
    tree = family_tree(FAMILY_SPEC, FAMILY_SEED)
    tree.graph.update(name="The invented Marsh-Vale family", seed=FAMILY_SEED)
    write_node_link(tree, tree_folder / "family-tree.json")
    table = [{"name": r.label, "composition": list(r.path)} for r in DERIVED_RELATIONS]
    (family / "relations.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    return [*written, tree_folder / "family-tree.json", family / "relations.json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default data/)")
    parser.add_argument("--tree", type=Path, default=TREE_FOLDER,
                        help="folder for family-tree.json (default dnc_qa/app/demo_data/)")
    args = parser.parse_args(argv)
    if not args.check:
        for path in write_examples(args.out, args.tree):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data, tree = Path(tmp) / "data", Path(tmp) / "tree"
        fresh = {p: (args.tree / p.relative_to(tree) if p.is_relative_to(tree)
                     else args.out / p.relative_to(data))
                 for p in write_examples(data, tree)}
        stale = [target for p, target in fresh.items()
                 if not target.exists() or target.read_bytes() != p.read_bytes()]
    for path in stale:
        print(f"differs: {path}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
