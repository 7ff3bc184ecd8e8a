"""Relabelled memories vote (``ask --views``): the vote, the views' numbers, and that voting
makes the shipped traversal model right more often on the bundled map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dnc_qa
from dnc_qa.app import engine
from dnc_qa.app.answer import ask_model
from dnc_qa.app.answer.runner import ModelAnswer
from dnc_qa.app.answer.views import MAX_VIEWS, ask_views, view_labels, vote
from dnc_qa.app.ask import ask
from dnc_qa.app.demo import PACKAGE_DATA
from dnc_qa.app.exact_answers import Answer, exact_answer
from dnc_qa.app.queries import Step, TraversalQuery
from dnc_qa.app.workspace import Workspace
from tests.cli.test_train_cli import assert_user_error, run_main

METRO = PACKAGE_DATA / "meridian.json"


def _said(node: str | None, confidence: float | None = 0.5, note: str = "") -> ModelAnswer:
    answer = None if node is None else Answer("node", (node,))
    return ModelAnswer(answer, confidence, note)


def test_the_answer_most_views_give_wins_with_a_shared_confidence() -> None:
    out = vote([_said("Ann", 0.9), _said("Bo", 0.6), _said("Bo", 0.5), _said(None, None)])
    assert out.answer == Answer("node", ("Bo",))
    assert out.confidence == pytest.approx((0.6 + 0.5) / 4)  # views without answer count too
    assert out.votes == (2, 4) and out.note.endswith("2 of 4 relabelled memories gave this answer")
    # ties: the larger summed confidence, then the earlier view
    assert vote([_said("Ann", 0.4), _said("Bo", 0.7)]).answer.nodes == ("Bo",)
    assert vote([_said("Ann", 0.5), _said("Bo", 0.5)]).answer.nodes == ("Ann",)
    # an answer that carries no confidence keeps none
    assert vote([_said("Ann", None), _said("Ann", None)]).confidence is None
    # no view answered: the first view's result as it is; one view: unchanged
    first = _said(None, note="label 417 names nothing")
    assert vote([first, _said(None)]) is first
    alone = _said("Ann", 0.8, "a note")
    assert vote([alone]) is alone and alone.votes is None
    with pytest.raises(ValueError):
        vote([])


def test_lists_are_voted_member_by_member() -> None:
    def listed(*nodes: str, confidence: float = 0.8) -> ModelAnswer:
        return ModelAnswer(Answer("nodes", nodes), confidence)

    out = vote([listed("Ann", "Bo", "Xan"), listed("Ann", "Bo"), listed("Bo", "Ann", "Cy"),
                ModelAnswer(None), listed("Ann", "Bo")])
    assert out.answer == Answer("nodes", ("Ann", "Bo"))  # Xan and Cy: one memory each
    assert out.votes == (2, 5)
    # 4 of 5 answered; over those 4 each member's vote is 4:0 or 3:1 (Ann, Bo 4; Xan, Cy 1)
    assert out.confidence == pytest.approx((4 + 4 + 3 + 3) / 16 * 4 / 5)
    nobody = vote([listed("Ann"), ModelAnswer(Answer("none", ()), 0.6),
                   ModelAnswer(Answer("none", ()), 0.6)])
    assert nobody.answer.kind == "none" and nobody.votes == (2, 3)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("home")
    dnc_qa.ingest(METRO, "metro", home=path)
    return path


def test_views_number_the_graph_afresh_within_the_models_ranges(home: Path) -> None:
    entry = Workspace(home).load("metro")
    model = engine.load_model(entry.meta.model, backend="numpy")
    assert view_labels(model, entry.graph, entry.labels, 0) is entry.labels
    one = view_labels(model, entry.graph, entry.labels, 1)
    again = view_labels(model, entry.graph, entry.labels, 1)
    two = view_labels(model, entry.graph, entry.labels, 2)
    assert one.nodes == again.nodes and one.edges == again.edges  # reproducible
    assert one.nodes != entry.labels.nodes and one.nodes != two.nodes
    assert set(one.nodes) == set(entry.labels.nodes) and set(one.edges) == set(entry.labels.edges)
    assert engine.fits_labels(model, one) and engine.fits_labels(model, two)


def test_voting_is_right_at_least_as_often_as_the_stored_memory(home: Path) -> None:
    """Every one-hop traversal of the bundled map: five relabelled memories voting get more
    of them right than the stored memory alone (which the model gets wrong a few times)."""
    entry = Workspace(home).load("metro")
    model = engine.load_model(entry.meta.model, backend="numpy")
    graph = entry.graph
    stored = engine.load_state(model, entry.memory_file, entry.meta.memory_cells)
    numbers = [view_labels(model, graph, entry.labels, v) for v in range(5)]
    states = [stored] + [engine.describe_now(model, graph, n, seed=v)
                         for v, n in enumerate(numbers) if v]
    single = voted = total = 0
    for node in sorted(graph):
        for label in sorted({k for _, _, k in graph.out_edges(node, keys=True)}):
            query = TraversalQuery(node, (Step(label),))
            exact = exact_answer(graph, query)
            results = [ask_model(model, s, graph, n, query)
                       for s, n in zip(states, numbers, strict=True)]
            single += results[0].answer == exact
            voted += vote(results).answer == exact
            total += 1
    assert total == graph.number_of_edges()
    assert voted >= single and voted >= 0.97 * total


def test_ask_views_stops_when_the_question_cannot_be_put(home: Path) -> None:
    entry = Workspace(home).load("metro")
    model = engine.load_model(entry.meta.model, backend="numpy")
    calls = []

    def never_asked(state, numbers) -> ModelAnswer:
        calls.append(numbers)
        return ModelAnswer(None, note="model 'x' was trained for inference")

    out = ask_views(model, entry.graph, entry.labels, None, never_asked, views=5)
    assert len(calls) == 1 and out.votes is None
    with pytest.raises(ValueError):
        ask_views(model, entry.graph, entry.labels, None, never_asked, views=MAX_VIEWS + 1)


def test_ask_reports_votes_and_one_view_is_the_stored_memory(home: Path) -> None:
    ws = Workspace(home)
    question = "start at Silwick Hill and follow Garnet N"
    one = ask(question, "metro", ws, views=1, min_confidence=0.0)
    assert one.votes is None and one.to_json()["votes"] is None
    three = ask(question, "metro", ws, views=3, min_confidence=0.0)
    assert three.to_json()["votes"]["asked"] == 3
    assert 1 <= three.votes[0] <= 3 and "of 3 relabelled memories" in three.note


def test_cli_views_option(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(home))
    code, out, err = run_main(["ask", "start at Silwick Hill and follow Garnet N", "--views",
                               "2", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["votes"]["asked"] == 2
    for bad in ("0", str(MAX_VIEWS + 1)):
        code, _, err = run_main(["ask", "start at Silwick Hill and follow Garnet N",
                                 "--views", bad], capsys)
        assert_user_error(code, err, "--views must be between 1 and")


def test_a_shortest_path_steps_every_memory_in_lockstep(home: Path) -> None:
    """Two copies of one memory average to that memory's own moves and confidence; relabelled
    memories give a path that starts at the source and follows the graph's edges."""
    from dnc_qa.app.answer.runner import Runner
    from dnc_qa.app.answer.shortest_path import answer_shortest_path
    from dnc_qa.app.answer.views import relabelled_memories
    from dnc_qa.app.queries import ShortestPathQuery

    entry = Workspace(home).load("metro")
    model = engine.load_model("shortest-path-dnc", backend="numpy")
    graph, labels = entry.graph, entry.labels
    assert engine.fits_labels(model, labels)
    state = engine.describe_now(model, graph, labels)
    query = ShortestPathQuery("Kelstead", "Marley Square")
    edges = graph.number_of_edges()
    one = answer_shortest_path([Runner(model, state, edges)], graph, [labels], query)
    twice = answer_shortest_path([Runner(model, state, edges), Runner(model, state, edges)],
                                 graph, [labels, labels], query)
    assert twice.answer == one.answer and twice.confidence == pytest.approx(one.confidence)
    more = relabelled_memories(model, graph, labels, 3)
    assert len(more) == 2 and all(n.nodes != labels.nodes for _, n in more)
    out = ask_model(model, state, graph, labels, query, more)
    path = out.answer
    assert path.kind == "path" and path.nodes[0] == "Kelstead"
    for u, k, v in zip(path.nodes, path.labels, path.nodes[1:], strict=False):
        assert graph.has_edge(u, v, key=k)
    assert 0.0 < out.confidence <= 1.0
    with pytest.raises(ValueError):
        answer_shortest_path([Runner(model, state, edges)], graph, [labels, labels], query)
    result = ask("shortest path from Kelstead to Marley Square", "metro", Workspace(home),
                 views=3, min_confidence=0.0)
    assert "each move averaged over 3 relabelled memories" in result.note
    assert result.votes is None


def test_beam_search_decodes_paths_of_the_models_moves(home: Path) -> None:
    """Beam 1 is greedy decoding; a wider beam answers with a path along the map's edges
    from the source, the most likely arriving one it kept, and says it searched."""
    from dnc_qa.app.answer.runner import Runner
    from dnc_qa.app.answer.shortest_path import answer_shortest_path
    from dnc_qa.app.queries import ShortestPathQuery

    entry = Workspace(home).load("metro")
    model = engine.load_model("shortest-path-dnc", backend="numpy")
    graph, labels = entry.graph, entry.labels
    state = engine.describe_now(model, graph, labels)
    edges = graph.number_of_edges()
    for source, target in (("Kelstead", "Marley Square"), ("Fenford Square", "Larkton")):
        query = ShortestPathQuery(source, target)
        greedy = answer_shortest_path([Runner(model, state, edges)], graph, [labels], query)
        wide = answer_shortest_path([Runner(model, state, edges)], graph, [labels], query,
                                    beam=4)
        assert "beam search" not in greedy.note and "(width 4)" in wide.note
        path = wide.answer
        assert path.nodes[0] == source and len(set(path.nodes)) == len(path.nodes)
        for u, k, v in zip(path.nodes, path.labels, path.nodes[1:], strict=False):
            assert graph.has_edge(u, v, key=k)
        assert 0.0 < wide.confidence <= 1.0
        again = answer_shortest_path([Runner(model, state, edges)], graph, [labels], query,
                                     beam=4)
        assert again.answer == wide.answer and again.confidence == wide.confidence
    with pytest.raises(ValueError):
        answer_shortest_path([Runner(model, state, edges)], graph, [labels],
                             ShortestPathQuery("Kelstead", "Larkton"), beam=0)


def test_cli_beam_option(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNCQA_HOME", str(home))
    code, out, err = run_main(["ask", "shortest path from Kelstead to Marley Square", "--beam",
                               "2", "--views", "1", "--min-confidence", "0", "--json"], capsys)
    assert code == 0, err
    assert "(width 2)" in json.loads(out)["note"]
    code, _, err = run_main(["ask", "shortest path from Kelstead to Marley Square", "--beam",
                             "0"], capsys)
    assert_user_error(code, err, "--beam must be between 1 and")
