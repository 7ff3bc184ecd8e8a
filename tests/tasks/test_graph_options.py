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


# ------------------------------------------------------------------ inference hints


def test_hints_supervise_each_hop_during_planning() -> None:
    """Planning step 2k of each query targets hop k of its relation's walk (weight
    ``hints``); the answer steps are the paper's, unchanged."""
    from dnc_qa.encoding.labels import encode_triples
    from dnc_qa.tasks.inference import relation_paths, walk_nodes

    task = InferenceTask(hints=0.25).lessons()[3]  # relations of 2-3 hops
    plain = InferenceTask().lessons()[3]
    seen_hops = 0
    for seed in range(6):
        graph, queries, episode = task.problem(np.random.default_rng(seed))
        hinted = task.task_episode(np.random.default_rng(seed))
        base = plain.task_episode(np.random.default_rng(seed))
        answers = base.mask == 1
        assert bool((hinted.mask[answers] == 1).all())
        assert (hinted.targets[answers] == base.targets[answers]).all()
        assert set(hinted.mask.unique().tolist()) <= {0.0, 0.25, 1.0}
        for span in (p for p in episode.phases if p.kind == "planning"):
            q = queries[span.query]
            path = relation_paths()[q.relation]
            nodes = walk_nodes(graph, q.start, path)
            assert nodes is not None and nodes[-1] == q.answer
            for k in range(1, len(path)):
                step = span.start + 2 * k - 1
                hop = episode.relabelling.encode(nodes[k - 1], path[k - 1], nodes[k])
                assert hinted.mask[step] == 0.25
                assert (hinted.targets[step] == encode_triples([hop])[0]).all()
                seen_hops += 1
            hinted_here = int((hinted.mask[span.start:span.stop] > 0).sum())
            assert hinted_here == len(path) - 1
    assert seen_hops > 6


def test_hints_are_weighted_in_the_loss_and_never_scored() -> None:
    import torch

    from dnc_qa.tasks.graph_base import digit_nll_per_episode, score_digits

    task = InferenceTask(hints=0.5).lessons()[0]
    batch = task.sample(3, torch.Generator().manual_seed(0))
    hints = batch.mask == 0.5
    assert hints.any()
    perfect = batch.targets * 50.0 - 25.0  # logits whose digit modes are the targets
    wrong_hints = perfect.clone()
    wrong_hints[hints] = -perfect[hints]
    right = score_digits(perfect, batch)
    wrong = score_digits(wrong_hints, batch)
    fields = ("episodes", "correct_episodes", "answer_steps", "correct_steps", "bit_errors")
    assert [getattr(wrong, f) for f in fields] == [getattr(right, f) for f in fields]
    assert right.correct_episodes == 3  # hints are not answers
    assert right.answer_steps == int((batch.mask == 1).sum())
    extra = digit_nll_per_episode(wrong_hints, batch) - digit_nll_per_episode(perfect, batch)
    unweighted = batch._replace(mask=hints.float())
    full = digit_nll_per_episode(wrong_hints, unweighted) - digit_nll_per_episode(perfect,
                                                                                   unweighted)
    assert float(extra) == pytest.approx(0.5 * float(full), rel=1e-5)


def test_hints_are_an_inference_option() -> None:
    config = TrainConfig(task="inference", steps=1, graph=GraphConfig(hints=0.3))
    config.validate()
    assert make_task(config.task, **config.task_options()).hints == 0.3
    with pytest.raises(DncQaError, match="--hints: only for --task inference"):
        TrainConfig(task="traversal", steps=1, graph=GraphConfig(hints=0.3)).validate()
    with pytest.raises(DncQaError, match="--hints is out of range"):
        TrainConfig(task="inference", steps=1, graph=GraphConfig(hints=1.0)).validate()
