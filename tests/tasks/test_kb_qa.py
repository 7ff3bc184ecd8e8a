"""The kb_qa task: random knowledge bases stored as ingest stores a text file, questions
chaining 1-3 relations encoded as traversals with the app's label numbering."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnc_qa.app import codec
from dnc_qa.app.codec import assign_labels
from dnc_qa.encoding import INPUT_SIZE, OUTPUT_SIZE
from dnc_qa.graphs.model import Triple
from dnc_qa.kb.textkb import read_text_kb
from dnc_qa.tasks.kb_qa import (
    KbQaTask,
    app_relabelling,
    chain_from,
    kb_sentences,
    load_kb_curriculum,
    random_kb,
    single_steps,
)
from dnc_qa.tasks.registry import check_task_name, make_task


def test_registered() -> None:
    assert check_task_name("kb-qa") == "kb_qa"
    task = make_task("kb_qa")
    assert isinstance(task, KbQaTask)
    assert (task.input_size, task.output_size) == (INPUT_SIZE, OUTPUT_SIZE)


def test_lessons_grow_to_three_hop_questions_on_large_knowledge_bases() -> None:
    lessons = load_kb_curriculum()
    assert lessons[0].length == (1, 1) and lessons[-1].length == (1, 3)
    for a, b in zip(lessons, lessons[1:], strict=False):
        assert b.sentences[0] >= a.sentences[0] and b.sentences[1] > a.sentences[1]
        assert b.length[1] >= a.length[1]
    tasks = KbQaTask().lessons()
    assert [t.current for t in tasks] == list(lessons)
    assert tasks[-1] == KbQaTask()
    warm = KbQaTask().warmup_lessons(2)
    assert all(t.current.length == (1, 1) for t in warm)
    assert warm[-1].current.sentences[1] <= lessons[0].sentences[1]


def test_final_lesson_knowledge_bases_hold_about_sixty_triples() -> None:
    final = load_kb_curriculum()[-1]
    sizes = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(final.sentences[0], final.sentences[1] + 1))
        kb = random_kb(n, rng)
        assert len(kb.facts) == n
        sizes.append(kb.graph.number_of_edges())
    assert 40 <= np.mean(sizes) <= 70 and max(sizes) <= 80


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sentences_read_back_as_the_same_graph(tmp_path, seed: int) -> None:
    """What ingest stores for the knowledge base's sentences is exactly its graph."""
    kb = random_kb(12 + 9 * seed, np.random.default_rng(seed))
    path = tmp_path / "kb.txt"
    path.write_text(kb_sentences(kb), encoding="utf-8")
    read = read_text_kb(path)
    assert not read.unread
    assert set(read.graph.edges(keys=True)) == set(kb.graph.edges(keys=True))
    assert len(kb.sentences) == len(kb.facts)


def test_knowledge_bases_are_consistent() -> None:
    for seed in range(10):
        kb = random_kb(40, np.random.default_rng(seed))
        g = kb.graph
        assert all(u != v for u, v in g.edges())
        for node in g.nodes:  # the stated relations are functional
            stated = [t.relation for t in kb.facts if t.source == node
                      and t.relation not in ("write", "found")]
            assert len(stated) == len(set(stated))
        mothers = {t.target for t in kb.facts if t.relation == "mother"}
        fathers = {t.target for t in kb.facts if t.relation == "father"}
        assert not mothers & fathers
        assert set(kb.kinds) == set(g.nodes)


def test_chains_are_simple_and_single_valued() -> None:
    kb = random_kb(40, np.random.default_rng(7))
    rng = np.random.default_rng(0)
    found = 0
    for start in sorted(kb.graph.nodes):
        labels = chain_from(kb.graph, start, 3, rng)
        if labels is None:
            continue
        found += 1
        node, seen = start, [start]
        for label in labels:
            steps = dict(single_steps(kb.graph, node))
            node = steps[label]
            assert node not in seen
            seen.append(node)
    assert found > 0


def _episodes(task: KbQaTask, n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [task.build(rng) for _ in range(n)]


@pytest.mark.parametrize("lesson", range(len(load_kb_curriculum())))
def test_episodes_are_valid(lesson: int) -> None:
    task = KbQaTask().lessons()[lesson]
    spec = task.current
    for ep in _episodes(task, 8, seed=lesson):
        description = next(p for p in ep.phases if p.kind == "description")
        triples = {t for t in (ep.relabelling.decode_triple(codec.decode_triple(
            ep.inputs[i, :OUTPUT_SIZE])[0]) for i in range(description.start, description.stop))}
        # the description writes every stored triple once
        assert len(triples) == description.stop - description.start
        assert len(ep.answers) == spec.queries
        inputs = ep.decode_inputs()
        for q, answer in enumerate(ep.answers):
            steps = ep.answer_steps(q)
            assert len(steps) == len(answer)  # one answer step per hop
            assert spec.length[0] <= len(answer) <= spec.length[1]
            query = next(p for p in ep.phases if p.kind == "query" and p.query == q)
            asked = inputs[query.start:query.stop]
            assert asked[0][0] == answer[0].source
            assert [a[1] for a in asked] == [t.relation for t in answer]
            for i, t in enumerate(answer):  # the answers follow the stored triples
                assert t in triples
                assert i == 0 or t.source == answer[i - 1].target
                assert ep.mask[steps[i]]
        assert ep.inputs.shape == (len(ep), INPUT_SIZE)
        assert ep.targets.shape == (len(ep), OUTPUT_SIZE)
        assert int(ep.mask.sum()) == sum(len(a) for a in ep.answers)


def test_final_lesson_asks_one_two_and_three_hops() -> None:
    lengths = {len(a) for ep in _episodes(KbQaTask(), 40) for a in ep.answers}
    assert lengths == {1, 2, 3}


def test_numbered_as_the_app_numbers_an_ingested_graph() -> None:
    kb = random_kb(30, np.random.default_rng(3))
    labels = assign_labels(kb.graph, 11)
    relabelling = app_relabelling(kb.graph, 11)
    assert dict(relabelling.nodes) == labels.nodes
    assert dict(relabelling.edges) == labels.edges
    # the query step of an episode is the input the app writes for the same question
    ep = KbQaTask().build(np.random.default_rng(5))
    query = next(p for p in ep.phases if p.kind == "query")
    start, edge, _ = ep.decode_inputs()[query.start]
    r = ep.relabelling
    app_row = codec.encode_triples([(r.nodes[start], r.edges[edge], None)], phase=[True])
    assert torch.equal(ep.inputs[query.start], app_row[0])
    answer = ep.answers[0][0]
    target = codec.encode_triples([(r.nodes[answer.source], r.edges[answer.relation],
                                    r.nodes[answer.target])])[0][:OUTPUT_SIZE]
    assert torch.equal(ep.targets[ep.answer_steps(0)[0]], target)
    assert isinstance(answer, Triple)


def test_deterministic_under_a_seed() -> None:
    task = KbQaTask()
    a = task.sample(4, torch.Generator().manual_seed(3))
    b = task.sample(4, torch.Generator().manual_seed(3))
    c = task.sample(4, torch.Generator().manual_seed(4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a.inputs[:, :20], c.inputs[:, :20]) or a.inputs.shape != c.inputs.shape
    kb1 = random_kb(20, np.random.default_rng(9))
    kb2 = random_kb(20, np.random.default_rng(9))
    assert kb1.sentences == kb2.sentences
