"""Training and scoring the GNN baseline on generated graphs and on the test graphs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import networkx as nx
import numpy as np
import torch

from dnc_qa.baselines.exact import traverse
from dnc_qa.baselines.gnn import (
    SPECS,
    HopGNN,
    Indexed,
    batch_of,
    choose,
    hop_loss,
    inference_hop,
    path_hop,
    traversal_hop,
)
from dnc_qa.graphs.lesson_tables import Lesson, load_curriculum
from dnc_qa.graphs.random_graphs import lesson_graph
from dnc_qa.graphs.relations import EDGE_LABELS
from dnc_qa.reproduce.testmaps import InferenceTest, PathTest, TraversalTest
from dnc_qa.tasks.inference import draw_query
from dnc_qa.tasks.shortest_path import ShortestPathTask
from dnc_qa.tasks.traversal import random_walk

Query = TraversalTest | PathTest | InferenceTest


class GraphQuery(NamedTuple):
    graph: nx.MultiDiGraph
    query: Query


class GnnRun(NamedTuple):
    model: HopGNN
    steps: int
    hops: int
    elapsed_s: float
    curve: list[tuple[int, float]]
    """(step, mean training loss over the last logging window)."""


def generated_query(task: str, lesson: Lesson, rng: np.random.Generator) -> GraphQuery:
    """One graph of ``lesson`` and a query on it, as the DNC's task draws them."""
    for _ in range(200):
        if task == "traversal":
            graph = lesson_graph(lesson, rng)
            nodes = sorted(graph.nodes)
            start = nodes[int(rng.integers(len(nodes)))]
            length = int(rng.integers(lesson.length[0], lesson.length[1] + 1))
            edges = random_walk(graph, start, length, rng)
            answer = traverse(graph, start, edges)
            if edges and answer is not None:
                return GraphQuery(graph, TraversalTest(start, edges, answer))
        elif task == "shortest_path":
            problem = ShortestPathTask(lesson=lesson).problem(rng)
            d = problem.distance[problem.source]
            return GraphQuery(problem.graph, PathTest(problem.source, problem.goal, d))
        else:
            graph = lesson_graph(lesson, rng, edge_labels=[int(e) for e in EDGE_LABELS])
            q = draw_query(graph, lesson, rng)
            if q is not None:
                return GraphQuery(graph, InferenceTest(q.start, q.relation, q.answer, q.relation))
    raise RuntimeError(f"no {task} query for {lesson}")


def training_hops(task: str, item: GraphQuery) -> list:
    """Teacher-forced hops of one query."""
    g = Indexed(item.graph)
    q = item.query
    if isinstance(q, TraversalTest):
        nodes = (q.start, *q.answer)
        return [traversal_hop(g, nodes[i], e, nodes[i + 1]) for i, e in enumerate(q.edges)]
    if isinstance(q, PathTest):
        distance = nx.single_target_shortest_path_length(item.graph, q.goal)
        path = nx.shortest_path(item.graph, q.source, q.goal)
        return [path_hop(g, node, q.goal, dict(distance)) for node in path[:-1]]
    return [inference_hop(g, q.start, int(q.relation), q.answer)]


def train_gnn(task: str, seconds: float | None, steps: int | None, seed: int = 0,
              batch: int = 16, lr: float = 3e-3, hidden: int = 64) -> GnnRun:
    """Train on hops from graphs of every lesson of ``task``'s curriculum (uniformly)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lessons = load_curriculum(task).lessons
    model = HopGNN(SPECS[task], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.monotonic()
    step = hops = 0
    curve: list[tuple[int, float]] = []
    window: list[float] = []
    while (steps is None or step < steps) and (
        seconds is None or time.monotonic() - start < seconds
    ):
        items = []
        for _ in range(batch):
            lesson = lessons[int(rng.integers(len(lessons)))]
            items.extend(training_hops(task, generated_query(task, lesson, rng)))
        data = batch_of(items)
        loss = hop_loss(model(data), data)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        step += 1
        hops += len(items)
        window.append(float(loss.item()))
        if step % 10 == 0:
            curve.append((step, sum(window) / len(window)))
            window = []
    return GnnRun(model, step, hops, time.monotonic() - start, curve)


@torch.no_grad()
def answer_right(model: HopGNN, graph: nx.MultiDiGraph, query: Query) -> bool:
    """Whether the GNN answers ``query`` on ``graph`` (walks chained from its own moves)."""
    model.eval()
    g = Indexed(graph)
    if isinstance(query, TraversalTest):
        node = query.start
        for edge, want in zip(query.edges, query.answer, strict=True):
            data = batch_of([traversal_hop(g, node, edge, None)])
            node = g.nodes[choose(model(data), data)[0]]
            if node != want:
                return False
        return True
    if isinstance(query, PathTest):
        distance = dict(nx.single_target_shortest_path_length(graph, query.goal))
        node = query.source
        for _ in range(query.distance):
            data = batch_of([path_hop(g, node, query.goal, distance)])
            if not bool(data.cand.any()):
                return False
            node = g.nodes[choose(model(data), data)[0]]
        return node == query.goal
    data = batch_of([inference_hop(g, query.start, int(query.relation), None)])
    return g.nodes[choose(model(data), data)[0]] == query.answer


def accuracy(model: HopGNN, graph_queries: Sequence[GraphQuery]) -> float:
    if not graph_queries:
        return 0.0
    return sum(answer_right(model, gq.graph, gq.query) for gq in graph_queries) / len(
        graph_queries
    )
