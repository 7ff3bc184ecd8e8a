"""Graph-task options: planning budgets, DAgger beta, one-hop bridge lessons; config round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.tasks.inference import InferenceTask
from dnc_qa.tasks.registry import make_task
from dnc_qa.tasks.shortest_path import ShortestPathTask
from dnc_qa.train.config import GraphConfig, TrainConfig


def _planning_span(episode) -> int:
    span = next(p for p in episode.phases if p.kind == "planning")
    return span.stop - span.start


@pytest.mark.parametrize("per_edge", [0.0, 0.5, 1.0])
def test_planning_budget_grows_with_the_graph(per_edge: float) -> None:
    for task in (ShortestPathTask(planning_steps=3, planning_per_edge=per_edge),
                 InferenceTask(planning_steps=3, planning_per_edge=per_edge)):
        lesson = task.lessons()[2]
        for seed in range(4):
            rng = np.random.default_rng(seed)
            episode = lesson.build(rng)
            edges = next(p for p in episode.phases if p.kind == "description").stop
            assert _planning_span(episode) == 3 + math.ceil(per_edge * edges)


def test_bridge_warmups_ask_one_hop_questions() -> None:
    sp = ShortestPathTask(bridge=True).warmup_lessons(2)
    distances = {sp[0].problem(np.random.default_rng(s)).best for s in range(40)}
    assert 1 in distances and distances <= {1, 2}
    assert {lesson.current.length for lesson in ShortestPathTask().warmup_lessons(2)} == {(2, 2)}
    inf = InferenceTask(bridge=True).warmup_lessons(1)[0]
    relations = set()
    for s in range(30):
        episode = inf.build(np.random.default_rng(s))
        for (answer,) in episode.answers:
            relations.add(int(answer.relation))
    assert any(r < 10 for r in relations) and any(r >= 10 for r in relations)


def test_one_hop_inference_answer_is_the_edge_target() -> None:
    task = InferenceTask(bridge=True).warmup_lessons(1)[0]
    from dnc_qa.graphs.random_graphs import lesson_graph
    from dnc_qa.tasks.inference import draw_query

    seen = 0
    for s in range(50):
        rng = np.random.default_rng(s)
        graph = lesson_graph(task.current, rng, edge_labels=list(range(10)))
        q = draw_query(graph, task.current, rng)
        if q is not None and int(q.relation) < 10:
            seen += 1
            targets = [v for _, v, k in graph.out_edges(q.start, keys=True) if k == q.relation]
            assert targets == [q.answer]
    assert seen > 5


def test_config_round_trip_and_defaults() -> None:
    cfg = TrainConfig(task="shortest_path",
                      graph=GraphConfig(planning_steps=4, planning_per_edge=0.5, beta=0.6,
                                        bridge=True))
    back = TrainConfig.from_json(cfg.to_json())
    assert back.graph == cfg.graph
    task = make_task(back.task, **back.task_options())
    assert (task.planning_steps, task.planning_per_edge, task.beta, task.bridge) == (
        4, 0.5, 0.6, True)
    # a config written before these options existed still loads, with the paper's setup
    old = json.loads(cfg.to_json())
    del old["graph"]
    assert TrainConfig.from_dict(old).graph == GraphConfig()
    assert TrainConfig(task="shortest_path").task_options() == {}
    with pytest.raises(DncQaError, match="--beta"):
        TrainConfig(task="shortest_path", graph=GraphConfig(beta=1.5)).validate()
