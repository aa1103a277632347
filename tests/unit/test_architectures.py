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
