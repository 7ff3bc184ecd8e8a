"""A traversal model answers a named family relation as its walk of edge labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dnc_qa.app import engine
from dnc_qa.app.ask import ask
from dnc_qa.app.ingest import IngestOptions, ingest
from dnc_qa.app.workspace import Workspace

FAMILY = Path(__file__).resolve().parents[2] / "dnc_qa" / "app" / "demo_data" / "family-tree.json"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("relation-walks") / "home")
    ingest(FAMILY, IngestOptions(name="family", model="traversal-dnc"), ws)
    return ws


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_labelled_relation_runs_as_a_walk(ws: Workspace, backend: str) -> None:
    result = ask("who is Cai's maternal grandmother", "family", ws, backend=backend)
    assert result.answer is not None and result.answer.kind == "node"
    assert "answered as the walk mother then mother" in result.note
    answer_steps = [stop - start for kind, start, stop in result.phases if kind == "answer"]
    assert answer_steps == [2]  # one answer step per edge of the walk
    assert result.exact is not None and result.exact.nodes == ("Rosa",)


def test_relation_with_alternatives_runs_each_walk(ws: Workspace) -> None:
    """Grandchildren: four walks of child hops, each answered by asking every man or woman
    for their parent's parent (one query of two answer steps each), the lists voted member
    by member over the relabelled memories."""
    result = ask("who are Eli's grandchildren", "family", ws, views=1, min_confidence=0.0)
    assert set(result.exact.nodes) == {"Cai", "Dov", "Tam", "Tess", "Vik"}
    walks = ["son then son", "son then daughter", "daughter then son", "daughter then daughter"]
    assert "answered as the walks " + "; ".join(walks) in result.note
    assert "each candidate was asked for their parents" in result.note
    answer_steps = [stop - start for kind, start, stop in result.phases if kind == "answer"]
    people = ws.load("family").graph.number_of_nodes()
    assert set(answer_steps) == {2} and people - 2 <= len(answer_steps) <= 2 * people
    voted = ask("who are Eli's grandchildren", "family", ws, min_confidence=0.0)
    assert voted.answer is not None and voted.agrees is True
    assert set(voted.answer.nodes) == set(voted.exact.nodes)


@pytest.mark.parametrize(("question", "people"), [
    ("who are Ivo's children", {"Cai", "Dov"}),
    ("who is Ivo's brother", {"Gus", "Quin"}),
    ("who is Cai's sister", set()),
])
def test_child_hops_are_answered_by_parents(ws: Workspace, question: str,
                                            people: set[str]) -> None:
    result = ask(question, "family", ws, min_confidence=0.0)
    assert set(result.exact.nodes) == people
    assert result.agrees is True, result.note
    assert "each candidate was asked for their parents" in result.note


@pytest.mark.parametrize(("question", "people"), [
    ("who is Edie's son-in-law", {"Tam", "Yuri"}),
    ("who is Eli's daughter-in-law", {"Bryn", "Zoe"}),
    ("who is Rosa's daughter-in-law", {"Edie"}),
])
def test_in_laws_are_found_by_parents_then_asked_forward(ws: Workspace, question: str,
                                                         people: set[str]) -> None:
    """A spouse hop after the child hops: the children found by asking for parents, then
    each one's spouse in one query each (a single forward walk names one child at most).
    Edie's daughter Alba's husband is a hop the stored memory gets wrong forward; it is found
    the other way round (every man asked for his wife)."""
    result = ask(question, "family", ws, min_confidence=0.0)
    assert set(result.exact.nodes) == people
    assert result.agrees is True, result.note
    assert "then each person found asked" in result.note


def test_parent_walk_plans() -> None:
    from dnc_qa.app.answer.by_parents import ParentWalkPlan, parent_walk_plan

    labels = {"son", "daughter", "mother", "father", "wife", "husband"}
    # grandson of a man: up from the grandson to his parent (a son: father), then to the man
    assert parent_walk_plan(("son", "son"), "M", labels) == ParentWalkPlan(
        (), ("father", "father"), "M")
    assert parent_walk_plan(("daughter", "son"), "F", labels) == ParentWalkPlan(
        (), ("mother", "mother"), "M")
    # sister: the father forward, then his daughters found by asking women for their father
    assert parent_walk_plan(("father", "daughter"), None, labels) == ParentWalkPlan(
        ("father",), ("father",), "F")
    assert parent_walk_plan(("mother", "mother"), "F", labels) is None  # no child hop
    # daughter-in-law: the sons found by parents, then each son's wife asked forward
    assert parent_walk_plan(("son", "wife"), "M", labels) == ParentWalkPlan(
        (), ("father",), "M", ("wife",))
    assert parent_walk_plan(("mother", "mother", "father", "daughter", "husband"), None,
                            labels) == ParentWalkPlan(
        ("mother", "mother", "father"), ("father",), "F", ("husband",))
    # a hop after the child hops that leads to several people: asked forward as it is
    assert parent_walk_plan(("son", "wife", "son"), "M", labels) is None
    assert parent_walk_plan(("son", "sister"), "M", labels | {"sister"}) is None
    assert parent_walk_plan(("son",), None, labels) is None  # the anchor's sex unknown
    assert parent_walk_plan(("son",), "M", {"son", "mother"}) is None  # no 'father' label


def test_label_walks() -> None:
    from dnc_qa.app.kinship import label_walks, parse_relation

    labels = {"son", "daughter", "mother", "father", "wife", "husband"}
    assert label_walks(parse_relation("grandmother"), labels) == [
        ("mother", "mother"), ("father", "mother")]
    assert label_walks(parse_relation("mother in law"), labels) == [
        ("husband", "mother"), ("wife", "mother")]
    # a sibling step without sibling labels: a parent, then a child
    assert ("mother", "mother", "son") in label_walks(parse_relation("uncle"), labels)
    assert label_walks(parse_relation("grandmother"), {"son", "daughter"}) == []
    assert label_walks(parse_relation("grandmother"), {"parent"}) == []  # no sex in 'parent'


METRO = Path(__file__).resolve().parents[2] / "data" / "transit"


@pytest.fixture(scope="module")
def hop_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The shipped traversal model, relabelled as trained on one-step walks only."""
    root = tmp_path_factory.mktemp("hops")
    model = root / "one-step"
    shutil.copytree(engine.PRETRAINED_DIR / "traversal-dnc", model)
    config = json.loads((model / engine.CONFIG).read_text())
    config["app"]["walk_steps"] = 1
    (model / engine.CONFIG).write_text(json.dumps(config))
    ws = Workspace(root / "home")
    ingest(METRO, IngestOptions(name="metro", model=str(model)), ws)
    return ws


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_long_walks_are_asked_hop_by_hop(hop_ws: Workspace, backend: str) -> None:
    question = "from Fenford Square take the Amber line north for 3 stops"
    result = ask(question, "metro", hop_ws, backend=backend)
    assert result.answer is not None
    assert "answered hop by hop: 3 one-hop queries" in result.note
    nodes = result.answer.nodes
    hops = len(nodes) - 1
    assert 1 <= hops <= 3
    asked = hops
    if hops < 3:  # the model left the map (an unknown label): the walk stops there
        assert f"stopped at {nodes[-1]}" in result.note
        asked = hops + 1  # the hop that named nothing was asked too
    assert [kind for kind, _, _ in result.phases] == ["query", "answer"] * asked
    assert all(stop - start == 1 for _, start, stop in result.phases)
    # each hop is the one-hop question asked from the stored memory where the last one ended
    for here, there in zip(nodes, nodes[1:], strict=False):
        one = ask(f"from {here} take the Amber line north for 1 stop", "metro", hop_ws,
                  backend=backend)
        assert one.answer is not None and one.answer.nodes[1] == there


def test_walk_steps_comes_from_the_lessons_passed() -> None:
    from dnc_qa.app.ship import walk_steps
    from dnc_qa.tasks.traversal import TraversalTask

    lessons = TraversalTask().lessons()
    assert walk_steps(lessons, 0) == 1
    assert walk_steps(lessons, 1) == lessons[0].lesson.length[1] == 1
    assert walk_steps(lessons, 3) == max(t.lesson.length[1] for t in lessons[:3]) > 1
