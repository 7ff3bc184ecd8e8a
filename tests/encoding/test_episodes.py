"""Episodes: phases, channels, loss masks, relabelling, collate, and encode->decode identity."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from dnc_qa.encoding import (
    ANSWER_CHANNEL,
    PHASE_CHANNEL,
    InferenceQuery,
    Relabelling,
    ShortestPathQuery,
    TraversalQuery,
    collate,
    inference_episode,
    masked_digit_nll,
    shortest_path_episode,
    traversal_episode,
    traversal_path,
)
from dnc_qa.encoding.readout import candidate_scores
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple, triples
from dnc_qa.graphs.random_graphs import random_graph
from dnc_qa.graphs.relations import follow, paper_relations


def _walk(g: nx.MultiDiGraph, rng: np.random.Generator, length: int) -> TraversalQuery:
    start = node = list(g)[int(rng.integers(len(g)))]
    edges = []
    for _ in range(length):
        options = [k for *_, k in g.out_edges(node, keys=True)]
        edge = options[int(rng.integers(len(options)))]
        edges.append(edge)
        node = traversal_path(g, node, [edge])[0].target
    return TraversalQuery(start, tuple(edges))


def _phase_layout(ep, kinds):  # noqa: ANN001, ANN202
    assert [p.kind for p in ep.phases] == kinds
    for p in ep.phases:
        flags = ep.inputs[p.start:p.stop, PHASE_CHANNEL].tolist()
        assert flags == [float(p.kind != "description")] + [0.0] * (p.stop - p.start - 1)
        answer = ep.inputs[p.start:p.stop, ANSWER_CHANNEL].tolist()
        assert set(answer) == {float(p.kind == "answer")}
        assert ep.mask[p.start:p.stop].all() == (p.kind == "answer")
    assert ep.phases[-1].stop == len(ep)


def test_traversal_round_trip() -> None:
    rng = np.random.default_rng(0)
    g = random_graph(20, (2, 4), rng)
    queries = [_walk(g, rng, 5), _walk(g, rng, 3)]
    ep = traversal_episode(g, queries, seed=1)
    _phase_layout(ep, ["description"] + ["query", "answer"] * 2)
    desc = ep.phases[0]
    assert desc.stop == g.number_of_edges()
    described = {Triple(*t) for t in ep.decode_inputs()[desc.start:desc.stop]}
    assert described == set(triples(g))
    assert ep.decode_answers(ep.targets) == ep.answers
    assert ep.correct(ep.targets) == [True, True]
    q = ep.phases[1]
    inputs = ep.decode_inputs()[q.start:q.stop]
    assert inputs[0] == (queries[0].start, queries[0].edges[0], None)
    assert inputs[1:] == [(None, e, None) for e in queries[0].edges[1:]]
    assert all(t == (None, None, None) for t in ep.decode_inputs()[ep.phases[2].start:
                                                                 ep.phases[2].stop])


def test_relabelling_differs_per_episode_and_decodes() -> None:
    g = random_graph(10, (2, 3), 3)
    q = [_walk(g, np.random.default_rng(1), 2)]
    a, b = traversal_episode(g, q, seed=1), traversal_episode(g, q, seed=2)
    assert a.relabelling != b.relabelling
    assert a.answers == b.answers == a.decode_answers(a.targets) == b.decode_answers(b.targets)
    assert not torch.equal(a.inputs, b.inputs)
    assert torch.equal(a.inputs, traversal_episode(g, q, seed=1).inputs)  # deterministic


def test_shortest_path_round_trip_and_previous_actions() -> None:
    g = random_graph(15, (2, 4), 5)
    src, dst = list(g)[0], list(g)[7]
    nodes = nx.shortest_path(g, src, dst)
    path = tuple(Triple(u, next(iter(g[u][v])), v) for u, v in zip(nodes, nodes[1:],
                                                                     strict=False))
    ep = shortest_path_episode(g, [ShortestPathQuery(path)], seed=0)
    _phase_layout(ep, ["description", "query", "planning", "answer"])
    assert ep.phases[2].stop - ep.phases[2].start == 10
    assert ep.decode_inputs()[ep.phases[1].start] == (src, None, dst)
    steps = ep.answer_steps(0)
    assert ep.decode_inputs()[steps.start] == (None, None, None)
    assert [Triple(*t) for t in ep.decode_inputs()[steps.start + 1:steps.stop]] == list(path[:-1])
    assert ep.decode_answers(ep.targets) == (path,)
    wrong = path[-1]
    dagger = shortest_path_episode(g, [ShortestPathQuery(path, (None,) + (wrong,) *
                                                         (len(path) - 1))], seed=0,
                                   planning_steps=3)
    assert dagger.decode_inputs()[dagger.answer_steps(0).stop - 1] == tuple(wrong)
    assert dagger.phases[2].stop - dagger.phases[2].start == 3


def test_inference_round_trip_with_fixed_relation_labels() -> None:
    relations = paper_relations()
    g = random_graph(12, (2, 4), 7, edge_labels=range(10))
    rng = np.random.default_rng(0)
    queries = []
    for rel in relations:
        for start in g:
            ends = follow(g, start, rel.path)
            if len(ends) == 1:
                queries.append(InferenceQuery(start, str(rel.label), ends.pop()))
                break
        if len(queries) == 3:
            break
    ep = inference_episode(g, queries, seed=rng)
    _phase_layout(ep, ["description"] + ["query", "planning", "answer"] * 3)
    assert ep.decode_answers(ep.targets) == tuple((Triple(*q),) for q in queries)
    assert all(ep.relabelling.edges[str(i)] == i for i in range(10) if str(i) in
               ep.relabelling.edges)
    assert ep.relabelling.edges[queries[0].relation] == int(queries[0].relation)


def test_family_inference_with_named_relations() -> None:
    from dnc_qa.graphs.family import BASE_RELATIONS, family_tree
    g = family_tree(seed=16)
    fixed = {name: i for i, name in enumerate(BASE_RELATIONS)} | {"maternal grandmother": 10}
    start = next(n for n in g if follow(g, n, ("mother", "mother")))
    end = follow(g, start, ("mother", "mother")).pop()
    ep = inference_episode(g, [InferenceQuery(start, "maternal grandmother", end)], seed=0,
                           fixed_edges=fixed)
    assert ep.relabelling.edges["mother"] == 0
    assert ep.decode_answers(ep.targets) == ((Triple(start, "maternal grandmother", end),),)


def test_bad_traversal_raises() -> None:
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", key="x", label="x")
    g.add_edge("a", "c", key="x", label="x")
    with pytest.raises(DncQaError, match="several"):
        traversal_path(g, "a", ["x"])
    with pytest.raises(DncQaError, match="no edge"):
        traversal_path(g, "b", ["x"])


def test_collate_and_loss() -> None:
    g = random_graph(6, (2, 2), 0)
    rng = np.random.default_rng(0)
    eps = [traversal_episode(g, [_walk(g, rng, n)], seed=n) for n in (1, 4)]
    batch = collate(eps)
    t = max(len(e) for e in eps)
    assert batch.inputs.shape == (2, t, 92) and batch.targets.shape == (2, t, 90)
    assert batch.lengths.tolist() == [len(e) for e in eps]
    assert batch.valid.sum().item() == sum(len(e) for e in eps)
    assert batch.mask.sum().item() == 5 and not (batch.mask & ~batch.valid).any()
    perfect = batch.targets * 50
    assert masked_digit_nll(perfect, batch.targets, batch.mask).item() < 1e-6
    uniform = torch.zeros_like(batch.targets)
    expected = 9 * torch.log(torch.tensor(10.0))
    assert torch.isclose(masked_digit_nll(uniform, batch.targets, batch.mask), expected)


def test_candidate_scores_renormalise() -> None:
    from dnc_qa.encoding import encode_triple
    cands = torch.stack([encode_triple(1, 2, 3), encode_triple(1, 5, 9)])
    logits = encode_triple(1, 5, 9) * 3
    scores = candidate_scores(logits, cands)
    assert torch.isclose(scores.exp().sum(), torch.tensor(1.0)) and scores.argmax() == 1


def test_relabelling_checks() -> None:
    with pytest.raises(DncQaError):
        Relabelling({"a": 1, "b": 1}, {})
    r = Relabelling.random(["a", "b"], ["x", "y"], 0, fixed_edges={"x": 3})
    assert r.edges["x"] == 3 and r.edges["y"] != 3
    assert r.decode(r.encode("a", "y", None)) == ("a", "y", None)
    small = Relabelling({"a": 1}, {"x": 2})
    assert small.decode_triple((1, 2, 1)) == Triple("a", "x", "a")
    assert small.decode_triple((1, 2, 7)) is None and small.decode_triple((1, -1, 1)) is None
