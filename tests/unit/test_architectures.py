from __future__ import annotations

import pytest

from logsentry.errors import ConfigError
from logsentry.model_store.model.preprocessing import CharTokenizer
from logsentry.trainer.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, get_architecture

REFERENCE_VOCABULARY = "".join(chr(c) for c in range(33, 33 + 62))


@pytest.mark.parametrize(("name", "params"), [("rnn", 4129), ("lstm", 26913), ("lstm-dense", 31073)])
def test_reference_parameter_counts_with_a_62_character_vocabulary(name: str, params: int) -> None:
    tok = CharTokenizer(REFERENCE_VOCABULARY, oov="drop")  # the reference dropped unknown characters
    assert tok.input_dim == 63
    model = get_architecture(name).build(tok.input_dim, 1024)
    assert model.count_params() == params
    assert model.input_shape == (None, 1024)


def test_default_is_lstm_family_variable_length_and_builds() -> None:
    arch = ARCHITECTURES[DEFAULT_ARCHITECTURE]
    assert arch.variable_length
    model = arch.build(64, 1024)
    assert model.input_shape == (None, None)
    import keras

    recurrent = [getattr(layer, "forward_layer", layer) for layer in model.layers]
    assert any(isinstance(layer, keras.layers.LSTM) for layer in recurrent)


def test_unknown_architecture_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        get_architecture("transformer")


def test_the_default_family_anneals_and_averages_its_weights_unless_asked_not_to() -> None:
    from logsentry.trainer.architectures import (
        ANNEAL_MIN_STEPS,
        EMA_MOMENTUM,
        FINAL_RATE_SHARE,
        LEARNING_RATE,
        effective_schedule,
        family_adam,
    )

    long_run = family_adam(10_000, "annealed")
    assert long_run.use_ema and long_run.ema_momentum == EMA_MOMENTUM
    rate = long_run._learning_rate  # the schedule: from the full rate down to its final share
    assert abs(float(rate(0)) - LEARNING_RATE) < 1e-9
    assert abs(float(rate(10_000)) - LEARNING_RATE * FINAL_RATE_SHARE) < 1e-9
    shorter = family_adam(2_500, "annealed")  # the average spans the last fifth of a shorter run
    assert shorter.use_ema and abs(shorter.ema_momentum - (1 - 5 / 2_500)) < 1e-9
    short_run = family_adam(ANNEAL_MIN_STEPS - 1, "annealed")  # a small training set: a constant rate
    assert not short_run.use_ema and abs(float(short_run.learning_rate) - LEARNING_RATE) < 1e-9
    assert effective_schedule(ANNEAL_MIN_STEPS - 1, "annealed") == "constant"
    assert effective_schedule(ANNEAL_MIN_STEPS, "annealed") == "annealed"
    constant = family_adam(10_000, "constant")
    assert not constant.use_ema and abs(float(constant.learning_rate) - LEARNING_RATE) < 1e-9
    reference = ARCHITECTURES["lstm"].build(10, 64, total_steps=10_000, schedule="annealed")
    assert not reference.optimizer.use_ema, "the reference architectures keep the reference protocol"


def test_a_schedule_is_one_of_the_two() -> None:
    from pathlib import Path

    from logsentry.trainer.settings import TrainSettings

    with pytest.raises(ConfigError, match="--schedule must be annealed or constant"):
        TrainSettings(data=(Path("x.csv"),), store=Path("m"), schedule="warm")  # type: ignore[arg-type]
