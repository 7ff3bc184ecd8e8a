"""Models shipped in ``dnc_qa/pretrained/``: cards, weights, configs, and ``--model auto``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from dnc_qa.app import engine
from dnc_qa.app.answer import ask_model
from dnc_qa.app.cards import CARD_JSON, CARD_MD, ModelCard, read_card
from dnc_qa.errors import CheckpointError

SHIPPED = engine.shipped_models()
MAX_BYTES = 5 * 2**20


def test_at_least_one_model_is_shipped() -> None:
    assert SHIPPED
    assert any(engine._read_spec(engine.PRETRAINED_DIR / n / engine.CONFIG).task == "traversal"
               for n in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_card_fields(name: str) -> None:
    folder = engine.PRETRAINED_DIR / name
    card = read_card(folder)
    assert card.name == name
    config = json.loads((folder / engine.CONFIG).read_text())
    assert card.task == config["app"]["task"] == config["task"]
    assert 1 <= card.lessons_reached <= card.lessons_total
    assert 0.0 <= card.heldout_lesson_accuracy <= 1.0
    assert 0.0 <= card.heldout_final_accuracy <= 1.0
    assert 0 <= card.warmup_lessons < card.lessons_total
    if card.heldout_first_accuracy is not None:
        assert 0.0 <= card.heldout_first_accuracy <= 1.0
        assert f"{card.heldout_first_accuracy:.3f}" in (folder / CARD_MD).read_text()
    assert card.heldout_episodes >= 100
    assert card.training_steps > 0 and card.training_minutes > 0
    assert "dncqa train" in card.command
    md = (folder / CARD_MD).read_text()
    assert f"{card.heldout_lesson_accuracy:.3f}" in md and card.command in md


@pytest.mark.parametrize("name", SHIPPED)
def test_weights_load_and_fit_the_config(name: str) -> None:
    folder = engine.PRETRAINED_DIR / name
    weights = folder / engine.WEIGHTS
    assert weights.stat().st_size < MAX_BYTES
    state = load_file(str(weights))
    assert state and all(t.isfinite().all() for t in state.values())
    model = engine.load_model(name)
    assert model is not None and model.trained
    assert model.spec.model == json.loads((folder / engine.CONFIG).read_text())["model"]
    assert set(model.net.state_dict()) == set(state)
    assert model.digest == engine.file_digest(weights)


def test_auto_picks_a_shipped_model() -> None:
    assert engine.resolve_model_ref("auto", "station") in SHIPPED
    assert engine.resolve_model_ref("auto", "person") in SHIPPED
    assert engine.resolve_model_ref("untrained", "station") == "untrained"


def test_bad_cards_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        read_card(tmp_path)
    (tmp_path / CARD_JSON).write_text(json.dumps({"name": "x", "task": "traversal"}))
    with pytest.raises(CheckpointError, match="missing fields"):
        read_card(tmp_path)
    (tmp_path / CARD_JSON).write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        read_card(tmp_path)


def test_card_round_trip(tmp_path: Path) -> None:
    from dnc_qa.app.cards import write_card

    card = ModelCard("m", "traversal", "DNC", 1, 14, 0.25, 0.0, 500, 10, 1.5,
                     "dncqa train --task traversal --out runs/x", "weak")
    write_card(tmp_path, card)
    assert read_card(tmp_path) == card
    assert "0.250" in (tmp_path / CARD_MD).read_text()


def test_lesson_text_counts_warmups_apart() -> None:
    base = dict(name="m", task="traversal", model="DNC", heldout_lesson_accuracy=0.5,
                heldout_final_accuracy=0.0, heldout_episodes=500, training_steps=1,
                training_minutes=1.0, command="dncqa train")
    warm = ModelCard(lessons_reached=1, lessons_total=16, warmup_lessons=2, **base)
    assert warm.lesson_text() == "warm-up lesson 1 of 2 (before the paper's 14)"
    paper = ModelCard(lessons_reached=5, lessons_total=16, warmup_lessons=2, **base)
    assert paper.lesson_text() == "paper lesson 3 of 14"
    plain = ModelCard(lessons_reached=1, lessons_total=14, **base)
    assert plain.lesson_text() == "paper lesson 1 of 14"
    maps = ModelCard(lessons_reached=4, lessons_total=7, curriculum="shortest_path_transit",
                     heldout_first_accuracy=0.9, **base)
    assert maps.lesson_text() == "transit-map lesson 4 of 7"
    text = maps.markdown()
    assert "transit-map lesson 1 | 0.900" in text and "paper lesson" not in text
    assert "shortest_path_transit.json" in text and "freshly generated transit maps" in text


@pytest.mark.parametrize("name", SHIPPED)
def test_app_path_matches_the_cards_accuracy(name: str) -> None:
    """The app's episodes (engine + codec) score the shipped model like the trainer's
    evaluator did for the card: a mismatch in encoding or layout would drop this to ~0.

    Checked on the paper's first lesson (one-step walks, which the app asks exactly as the
    trainer does; longer walks may be asked hop by hop, see ``walk_steps``)."""
    import numpy as np
    import torch

    from dnc_qa.app import codec
    from dnc_qa.app.exact_answers import agrees, exact_answer
    from dnc_qa.app.queries import Step, TraversalQuery
    from dnc_qa.graphs.random_graphs import lesson_graph
    from dnc_qa.tasks.registry import make_task
    from dnc_qa.tasks.traversal import random_walk
    from dnc_qa.train.config import CurriculumConfig
    from dnc_qa.train.curriculum import Curriculum

    card = read_card(engine.PRETRAINED_DIR / name)
    if card.task != "traversal":
        pytest.skip("only traversal models are checked this way")
    model = engine.load_model(name)
    curriculum = Curriculum(make_task("traversal"), CurriculumConfig(warmup=card.warmup_lessons))
    index, expected = card.lessons_reached - 1, card.heldout_lesson_accuracy
    if card.heldout_first_accuracy is not None:
        index, expected = card.warmup_lessons, card.heldout_first_accuracy
    lesson = curriculum.lessons[index].current
    rng = np.random.default_rng(5)
    right = total = 0
    torch.set_num_threads(1)
    while total < 60:
        graph = lesson_graph(lesson, rng)
        nodes = sorted(graph.nodes)
        start = nodes[int(rng.integers(len(nodes)))]
        walk = random_walk(graph, start, int(rng.integers(lesson.length[0],
                                                          lesson.length[1] + 1)), rng)
        if not walk:
            continue
        labels = codec.assign_labels(graph, total, (0, codec.MAX_LABEL), (0, codec.MAX_LABEL),
                                     {})
        desc = engine.describe_graph(model, graph, labels, total)
        state = engine.restore_state(engine.initial_state(model, desc.num_cells), desc.state,
                                     Path("memory"))
        query = TraversalQuery(start, tuple(Step(str(e)) for e in walk))
        out = ask_model(model, state, graph, labels, query)
        total += 1
        right += bool(agrees(graph, query, out.answer, exact_answer(graph, query)))
    assert abs(right / total - expected) <= 0.2, (right, total, expected)


@pytest.mark.parametrize("name", SHIPPED)
def test_app_shortest_paths_match_the_cards_accuracy(name: str) -> None:
    """A shipped shortest-path model, asked through the app (engine, codec, one memory) on
    fresh graphs of the lesson its card reports, is right about as often as the card says:
    the app's episode layout (query, planning budget, answer steps, moves renormalised
    over the station's ways out) is the trainer's."""
    import numpy as np
    import torch

    from dnc_qa.app import codec
    from dnc_qa.app.exact_answers import agrees, exact_answer
    from dnc_qa.app.queries import ShortestPathQuery
    from dnc_qa.tasks.shortest_path import ShortestPathTask
    from dnc_qa.train.config import CurriculumConfig
    from dnc_qa.train.curriculum import Curriculum

    card = read_card(engine.PRETRAINED_DIR / name)
    if card.task != "shortest_path":
        pytest.skip("only shortest-path models are checked this way")
    graphs = "random" if card.curriculum == "paper" else "transit"
    curriculum = Curriculum(ShortestPathTask(graphs=graphs),
                            CurriculumConfig(warmup=card.warmup_lessons))
    lesson = curriculum.lessons[card.lessons_reached - 1]
    model = engine.load_model(name)
    torch.set_num_threads(1)
    right = total = 0
    for seed in range(60):
        problem = lesson.problem(np.random.default_rng(10_000 + seed))
        graph = problem.graph
        labels = codec.assign_labels(graph, seed, (0, codec.MAX_LABEL), (0, codec.MAX_LABEL),
                                     {})
        state = engine.describe_now(model, graph, labels, seed)
        query = ShortestPathQuery(problem.source, problem.goal)
        out = ask_model(model, state, graph, labels, query)
        total += 1
        right += bool(agrees(graph, query, out.answer, exact_answer(graph, query)))
    assert abs(right / total - card.heldout_lesson_accuracy) <= 0.2, (
        right, total, card.heldout_lesson_accuracy)
