"""Shortest path on transit maps (``--graphs transit``): the lesson maps, the episodes drawn on
them, the config option and the CLI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import CURRICULA, Lesson, load_curriculum
from dnc_qa.graphs.transit_generator import lesson_map
from dnc_qa.tasks.registry import make_task
from dnc_qa.tasks.shortest_path import ShortestPathTask, out_triples
from dnc_qa.train.config import CurriculumConfig, GraphConfig, TrainConfig
from tests.cli.test_train_cli import assert_user_error, run_main


def test_the_transit_curriculum_grows_to_application_sized_maps() -> None:
    assert "shortest_path_transit" in CURRICULA
    table = load_curriculum("shortest_path_transit")
    assert len(table) >= 5
    for a, b in zip(table.lessons, table.lessons[1:], strict=False):
        assert a.nodes <= b.nodes and a.lines <= b.lines and a.length[1] <= b.length[1]
    final = table.final
    assert final.nodes[0] <= 16 and final.nodes[1] >= 20 and final.length == (2, 5)
    # the paper's tables keep no lines (random graphs)
    assert load_curriculum("shortest_path").final.lines == (0, 0)


@pytest.mark.parametrize("lesson_index", [0, 3, 6])
def test_lesson_maps_have_the_lessons_size_and_one_label_per_line_direction(
        lesson_index: int) -> None:
    lesson = load_curriculum("shortest_path_transit").lessons[lesson_index]
    rng = np.random.default_rng(lesson_index)
    for _ in range(10):
        graph = lesson_map(lesson, rng)
        assert lesson.nodes[0] <= graph.number_of_nodes() <= lesson.nodes[1]
        assert nx.is_strongly_connected(graph)
        lines = {k.rsplit(" ", 1)[0] for _, _, k in graph.edges(keys=True)}
        assert lesson.lines[0] <= len(lines) <= lesson.lines[1]
        # a label runs along one line in one direction: at most one edge per label out of and
        # into each station, and the reverse of every edge is the same line's other direction
        for node in graph:
            outs = Counter(k for _, _, k in graph.out_edges(node, keys=True))
            ins = Counter(k for _, _, k in graph.in_edges(node, keys=True))
            assert max(outs.values()) == 1 and max(ins.values()) == 1
        for u, v, k in graph.edges(keys=True):
            back = [k2 for k2 in graph[v][u]]
            assert any(k2.rsplit(" ", 1)[0] == k.rsplit(" ", 1)[0] and k2 != k for k2 in back)


def test_lesson_map_refuses_a_lesson_without_lines() -> None:
    with pytest.raises(DncQaError, match="lines"):
        lesson_map(Lesson(1, (5, 9), (1, 2), (2, 2)), 0)
    with pytest.raises(DncQaError, match="no transit map"):
        lesson_map(Lesson(1, (40, 41), (0, 0), (2, 2), 1, (2, 2)), 0, tries=5)


def test_transit_episodes_ask_paths_of_the_lessons_length_on_maps() -> None:
    task = ShortestPathTask(graphs="transit")
    lessons = task.lessons()
    assert [t.current for t in lessons] == list(load_curriculum("shortest_path_transit").lessons)
    assert task.current == load_curriculum("shortest_path_transit").final
    for lesson in (lessons[0], lessons[-1]):
        seen = set()
        for seed in range(12):
            problem = lesson.problem(np.random.default_rng(seed))
            lo, hi = lesson.current.length
            assert lo <= problem.best <= hi
            seen.add(problem.best)
            assert all(" " in k for _, _, k in problem.graph.edges(keys=True))
            # the optimal moves are exactly those one step closer to the goal
            node = problem.source
            for triple, good in zip(out_triples(problem.graph, node), problem.optimal(node),
                                    strict=True):
                closer = nx.shortest_path_length(problem.graph, triple.target, problem.goal)
                assert good == (closer == problem.best - 1)
        assert len(seen) > 1
    # the paper's setup is unchanged
    assert ShortestPathTask().lessons()[0].current == load_curriculum("shortest_path").lessons[0]


def test_graphs_option_reaches_the_task_and_is_checked() -> None:
    cfg = TrainConfig(task="shortest_path", graph=GraphConfig(graphs="transit"))
    cfg.validate()
    back = TrainConfig.from_json(cfg.to_json())
    task = make_task(back.task, **back.task_options())
    assert task.graphs == "transit" and task.curriculum == "shortest_path_transit"
    assert TrainConfig(task="shortest_path").task_options() == {}
    with pytest.raises(DncQaError, match="unknown --graphs 'grid'"):
        TrainConfig(task="shortest_path", graph=GraphConfig(graphs="grid")).validate()
    with pytest.raises(DncQaError, match="only for --task shortest_path"):
        TrainConfig(task="traversal", graph=GraphConfig(graphs="transit")).validate()
    with pytest.raises(DncQaError, match="--warmup"):
        TrainConfig(task="shortest_path", graph=GraphConfig(graphs="transit"),
                    curriculum=CurriculumConfig(warmup=1)).validate()
    with pytest.raises(DncQaError, match="unknown graphs"):
        ShortestPathTask(graphs="grid")
    with pytest.raises(DncQaError, match="no warm-up"):
        ShortestPathTask(graphs="transit").warmup_lessons(1)


def test_cli_trains_and_evaluates_on_transit_maps(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code, _, err = run_main(["train", "--task", "shortest_path", "--graphs", "transit",
                             "--model", "dnc", "--controller", "feedforward", "--hidden-size",
                             "16", "--num-cells", "8", "--cell-width", "8", "--num-reads", "1",
                             "--fit-cells", "--steps", "2", "--batch-size", "2",
                             "--eval-every", "1", "--eval-episodes", "2",
                             "--final-eval-episodes", "2", "--threads", "1", "--no-progress",
                             "--out", str(out)], capsys)
    assert code == 0, err
    code, text, err = run_main(["eval", str(out), "--lesson", "7", "--episodes", "6",
                                "--json"], capsys)
    assert code == 0, err
    import json

    data = json.loads(text)
    assert data["lesson"] == 7 and data["episodes"] == 6
    assert {row["length"] for row in data["by_length"]} <= {2, 3, 4, 5}
    code, _, err = run_main(["train", "--task", "traversal", "--graphs", "transit", "--steps",
                             "1", "--out", str(tmp_path / "bad")], capsys)
    assert_user_error(code, err, "--graphs")
