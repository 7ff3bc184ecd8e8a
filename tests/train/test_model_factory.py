"""The model factory honours every ModelConfig field, and bad controller names are user errors."""

from __future__ import annotations

import pytest

from dnc_qa.errors import DncQaError
from dnc_qa.models.controller import FeedforwardController, LSTMController
from dnc_qa.train.config import ModelConfig, TrainConfig
from dnc_qa.train.model_factory import build_model


@pytest.mark.parametrize("kind", ["dnc", "ntm"])
@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_controller_choice(kind: str, controller: str) -> None:
    model = build_model(ModelConfig(kind=kind, controller=controller), 6, 5)
    expected = LSTMController if controller == "lstm" else FeedforwardController
    assert isinstance(model.controller, expected)


@pytest.mark.parametrize("option", ["masking", "deallocation", "link_sharpness"])
def test_dnc_memory_options_reach_the_memory(option: str) -> None:
    plain = build_model(ModelConfig(kind="dnc"), 6, 5)
    assert getattr(plain.memory, option) is False
    model = build_model(ModelConfig(kind="dnc", **{option: True}), 6, 5)
    assert getattr(model.memory, option) is True
    # the options add interface outputs (masks, sharpness) or none (deallocation)
    assert model.interface.out_features >= plain.interface.out_features


def test_config_round_trips_new_fields() -> None:
    config = TrainConfig(model=ModelConfig(controller="feedforward", masking=True))
    again = TrainConfig.from_json(config.to_json())
    assert again.model.controller == "feedforward" and again.model.masking is True


def test_unknown_controller_is_a_user_error() -> None:
    with pytest.raises(DncQaError, match="unknown controller 'gru'"):
        TrainConfig(model=ModelConfig(controller="gru")).validate()
