"""Test graphs and queries: the map, the family tree, and well-formed queries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dnc_qa.baselines import exact
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.relations import paper_relations
from dnc_qa.reproduce import testmaps

LONDON = Path(os.environ.get("DNC_QA_LONDON")
              or Path(__file__).resolve().parents[3] / "shared" / "data" / "london")
"""The public London Underground CSVs (transit-CSV folder with a ``zone`` column): the folder
``DNC_QA_LONDON`` names, else ``shared/data/london`` beside the checkout."""


def test_bundled_map_queries_are_well_formed() -> None:
    m = testmaps.load_map(None)
    assert m.graph.number_of_nodes() == 45
    walks = testmaps.traversal_tests(m.graph, 20, seed=1)
    assert len(walks) == 20 and all(len(w.edges) == 7 for w in walks)
    assert exact.solve_traversal(m.graph, walks).accuracy == 1.0
    pairs = testmaps.path_tests(m.graph, 20, seed=1)
    assert all(p.distance == 4 for p in pairs)
    assert exact.solve_paths(m.graph, pairs).accuracy == 1.0
    assert testmaps.traversal_tests(m.graph, 5, seed=1) == walks[:5]


@pytest.mark.skipif(not LONDON.is_dir(), reason="no London data (set DNC_QA_LONDON)")
def test_london_zone1() -> None:
    m = testmaps.load_map(LONDON)
    assert m.graph.number_of_nodes() == 59
    assert "Oxford Circus" in m.graph and "Acton Town" not in m.graph


def test_bad_map_folder(tmp_path: Path) -> None:
    with pytest.raises(DncQaError):
        testmaps.load_map(tmp_path / "missing")


def test_family_queries_use_paper_relations() -> None:
    family, relations = testmaps.load_family()
    assert sorted(family.edge_digits) == ["daughter", "father", "husband", "mother", "son",
                                          "wife"]
    assert len(set(family.edge_digits.values())) == 6
    tests = testmaps.inference_tests(family, relations, 50, seed=0, steps=None)
    assert len(tests) == 50
    labels = {str(r.label) for r in paper_relations()}
    assert all(t.relation in labels for t in tests)
    assert exact.solve_inference(family.graph, tests).accuracy == 1.0
    four = testmaps.inference_tests(family, relations, 50, seed=0, steps=4)
    assert all(len(paper_relations()[int(t.relation) - 10].path) == 4 for t in four)
