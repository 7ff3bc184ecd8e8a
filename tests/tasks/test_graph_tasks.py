"""Graph tasks on the data layer's encoding: shapes, determinism, answers, DAgger rollout."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from dnc_qa.encoding.labels import digit_view
from dnc_qa.graphs.lesson_tables import load_curriculum
from dnc_qa.graphs.relations import follow
from dnc_qa.models import DNC
from dnc_qa.tasks import make_task
from dnc_qa.tasks.graph_base import episode_rng, score_digits
from dnc_qa.tasks.inference import (
    InferenceTask,
    draw_query,
    relation_ends,
    relation_length,
    relation_table,
    relation_walks,
)
from dnc_qa.tasks.shortest_path import (
    ShortestPathTask,
    hop_distances,
    out_triples,
    pairs_at_distance,
)
from dnc_qa.tasks.traversal import TraversalTask

GRAPH_TASKS = ["traversal", "inference", "shortest_path"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", GRAPH_TASKS)
def test_shapes_determinism_and_lessons(name: str) -> None:
    task = make_task(name)
    first = task.lessons()[0]
    a, b = first.sample(3, gen(0)), first.sample(3, gen(0))
    assert a.inputs.shape[0] == 3 and a.inputs.shape[2] == 92 and a.targets.shape[2] == 90
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert (a.mask.sum(1) >= 1).all()
    assert len(task.lessons()) == len(load_curriculum(name))
    assert task.lessons()[-1] == task


@pytest.mark.parametrize("name", ["traversal", "inference"])
def test_targets_decode_to_the_answers(name: str) -> None:
    task = make_task(name).lessons()[2]
    for seed in range(3):
        episode = task.build(np.random.default_rng(seed))
        assert all(episode.correct(episode.targets))
        batch = task.sample(1, gen(seed))
        counts = score_digits(batch.targets * 10, batch)
        assert counts.correct_episodes == 1 and counts.bit_errors == 0


def test_traversal_answer_length_is_the_walk() -> None:
    task = TraversalTask()
    episode = task.build(np.random.default_rng(4))
    (path,) = episode.answers
    assert int(episode.mask.sum()) == len(path)
    for a, b in zip(path, path[1:], strict=False):
        assert a.target == b.source


def test_inference_queries_use_known_relations() -> None:
    task = InferenceTask()
    labels = {str(r.label) for r in relation_table().values()}
    episode = task.build(np.random.default_rng(1))
    assert len(episode.answers) == task.current.queries
    for (answer,) in episode.answers:
        assert answer.relation in labels


def test_relation_walks_lists_the_relations_a_simple_walk_spells() -> None:
    # a -9-> b -3-> c -6-> d spells relation 110 (9 3 6) from a; a -2-> e -9-> f spells
    # relation 10 (2 9); a -2-> e -9-> a would revisit a
    graph = nx.MultiDiGraph()
    for u, v, k in [("a", "b", "9"), ("b", "c", "3"), ("c", "d", "6"), ("a", "e", "2"),
                    ("e", "f", "9"), ("e", "a", "9"), ("b", "a", "7")]:
        graph.add_edge(u, v, key=k)
    assert relation_walks(graph, "a", 3) == [("9", "3", "6")]
    assert relation_walks(graph, "a", 2) == sorted(
        p for p in [("9", "3"), ("2", "9")] if p in relation_table())
    assert ("2", "9") in relation_walks(graph, "a", 2)
    assert relation_walks(graph, "d", 2) == []


def test_relation_ends_are_where_the_relations_walks_end() -> None:
    """The search's ends are :func:`follow`'s, relation by relation, on random graphs; and
    no relation that some simple walk spells is missed."""
    from dnc_qa.graphs.random_graphs import random_graph

    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(20):
        graph = random_graph(int(rng.integers(5, 15)), (2, 4), rng, edge_labels=range(10))
        for start in graph.nodes:
            for length in range(2, 6):
                found = relation_ends(graph, start, length)
                assert sorted(found) == relation_walks(graph, start, length)
                for path in (p for p in relation_table() if len(p) == length):
                    assert found.get(path, set()) == follow(graph, start, path)
                checked += len(found)
    assert checked > 100  # the graphs did have relations to check


def test_final_inference_lesson_asks_every_relation_length() -> None:
    lesson = InferenceTask().lessons()[-1].current
    counts = dict.fromkeys(range(2, 6), 0)
    rng = np.random.default_rng(0)
    from dnc_qa.graphs.random_graphs import lesson_graph
    for _ in range(100):
        graph = lesson_graph(lesson, rng, edge_labels=list(range(10)))
        q = draw_query(graph, lesson, rng)
        assert q is not None
        path = next(p for p, r in relation_table().items() if str(r.label) == q.relation)
        assert follow(graph, q.start, path) == {q.answer}
        counts[relation_length(q.relation)] += 1
    # lengths are drawn uniformly: a walk-first draw gave 2-edge relations ~90% of the time
    assert min(counts.values()) >= 10, counts  # 33 / 19 / 35 / 13 at this seed


def test_one_wrong_digit_fails_the_step() -> None:
    batch = TraversalTask().lessons()[0].sample(2, gen(3))
    logits = batch.targets * 10
    t = int(batch.mask[0].nonzero()[0])
    logits[0, t, :10] = torch.roll(logits[0, t, :10], 1)  # first digit now wrong
    counts = score_digits(logits, batch)
    assert counts.correct_episodes == 1 and counts.bit_errors == 1


def test_loss_and_counts_match_every_step_computed() -> None:
    """The loss and counts, which only look at masked steps, equal the same sums over every
    step of a padded batch (hint weights below 1 included; hints are not scored)."""
    from dnc_qa.encoding.labels import digit_targets
    from dnc_qa.encoding.readout import digit_log_probs
    from dnc_qa.tasks.graph_base import digit_nll_per_episode

    batch = InferenceTask(hints=0.25).lessons()[3].sample(5, gen(11))
    assert ((batch.mask > 0) & (batch.mask < 1)).any()  # some hints in play
    logits = torch.randn(batch.targets.shape, generator=gen(12), dtype=torch.float64)
    logits[1, :3] += 3 * batch.targets[1, :3]  # a few right answers, if those are answers
    targets = batch.targets.double()
    picked = digit_log_probs(logits).gather(-1, digit_targets(targets).unsqueeze(-1))
    want = -(picked.squeeze(-1).sum(-1) * batch.mask.double()).sum() / logits.shape[0]
    got = digit_nll_per_episode(logits, batch)  # (in float32)
    torch.testing.assert_close(got.double(), want, rtol=1e-6, atol=0)

    logits = batch.targets * 10
    logits[0, :, :10] = torch.roll(logits[0, :, :10], 1, dims=-1)  # episode 0: first digits
    logits[2, :, 30:40] = torch.roll(logits[2, :, 30:40], 1, dims=-1)  # episode 2: 4th digits
    counts = score_digits(logits, batch)
    answer = batch.mask >= 1
    wrong = (digit_view(logits).argmax(-1) != digit_targets(batch.targets)).sum(-1) * answer
    assert counts.answer_steps == int(answer.sum())
    assert counts.bit_errors == int(wrong.sum()) > 0
    assert counts.correct_steps == int(((wrong == 0) & answer).sum())
    assert counts.correct_episodes == int((wrong.sum(-1) == 0).sum()) == 3


def small_dnc() -> DNC:
    torch.manual_seed(0)
    return DNC(92, 90, hidden_size=16, num_cells=16, cell_width=8, num_reads=1)


def test_hop_distances_are_networkx_shortest_path_lengths() -> None:
    """Every row's breadth-first distances, and the pairs a lesson draws from, equal
    networkx's (directed graphs with unreachable pairs, parallel edges and a lone node)."""
    from dnc_qa.graphs.random_graphs import random_graph

    rng = np.random.default_rng(5)
    graphs = [random_graph(int(rng.integers(2, 30)), (1, 3), rng) for _ in range(15)]
    odd = nx.MultiDiGraph([("a", "b", "1"), ("a", "b", "2"), ("b", "c", "1"), ("c", "b", "3")])
    odd.add_node("z")
    for graph in [*graphs, odd]:
        nodes, distance = hop_distances(graph)
        want = dict(nx.all_pairs_shortest_path_length(graph))
        for i, u in enumerate(nodes):
            for j, v in enumerate(nodes):
                assert distance[i, j] == want[u].get(v, -1)
        for lo, hi in [(1, 1), (2, 5), (0, 3)]:
            assert pairs_at_distance(graph, lo, hi) == sorted(
                (u, v) for u, row in want.items() for v, d in row.items() if lo <= d <= hi)
    assert (distance < 0).any()  # the lone node: unreachable pairs were checked

    # a node reached from 256 nodes of one frontier at once (counted in 8 bits, 256 wraps to 0)
    fan = nx.MultiDiGraph([("s", f"m{i}", "1") for i in range(256)]
                          + [(f"m{i}", "hub", "1") for i in range(256)])
    nodes, distance = hop_distances(fan)
    assert distance[nodes.index("s"), nodes.index("hub")] == 2


def test_optimal_moves_reduce_distance() -> None:
    task = ShortestPathTask()
    problem = task.problem(np.random.default_rng(0))
    node = problem.source
    flags = problem.optimal(node)
    moves = out_triples(problem.graph, node)
    assert any(flags)
    for move, good in zip(moves, flags, strict=True):
        assert good == (problem.distance.get(move.target, -1) == problem.distance[node] - 1)


def test_dagger_beta_one_follows_the_planner() -> None:
    model = small_dnc()
    task = ShortestPathTask(beta=1.0).lessons()[0]
    loss, counts = task.rollout(model, 4, gen(0), torch.device("cpu"), train=True)
    # fed the optimal move every step, the walk reaches the goal in the minimal number of steps
    distances = []
    g = gen(0)
    for _ in range(4):
        problem = task.problem(episode_rng(g))
        distances.append(problem.distance[problem.source])
    assert counts.answer_steps == sum(distances)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_evaluation_uses_the_networks_own_moves() -> None:
    model = small_dnc()
    task = ShortestPathTask().lessons()[0]
    with torch.no_grad():
        _, counts = task.rollout(model, 6, gen(1), torch.device("cpu"), train=False)
    assert counts.episodes == 6
    assert counts.correct_steps <= counts.answer_steps
    # an episode is right only if every one of its steps was an optimal move
    assert counts.correct_episodes <= 6
