"""Models shipped in ``dnc_qa/pretrained/``: cards, weights, configs, and ``--model auto``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from dnc_qa.app import engine
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
