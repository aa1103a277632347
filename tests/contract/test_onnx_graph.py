"""The default family's ONNX graph, written from the Keras weights: the same function as the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logsentry.model_store.model.onnx_runtime import OnnxInference
from logsentry.trainer.architectures import ARCHITECTURES
from logsentry.trainer.onnx_export import OPSET, export_onnx
from logsentry.trainer.onnx_graph import NAME, conv_lstm_graph

VOCABULARY = 40
# widths no bucket has as well as bucket widths: the pooling's padding (a width not a multiple of
# the pool), a width shorter than the kernel and than the pool, one row
SHAPES = [(64, 32), (16, 30), (8, 77), (4, 3), (1, 1), (3, 256)]


def _trained_like(name: str, seed: int) -> object:
    """The architecture with weights drawn at a scale where every gate and bias matters."""
    import keras

    keras.utils.set_random_seed(seed)
    model = ARCHITECTURES[name].build(VOCABULARY, 256)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("name", ["conv-lstm", "conv-lstm-wide"])
def test_the_written_graph_scores_what_the_keras_model_scores(name: str, tmp_path: Path) -> None:
    model = _trained_like(name, seed=3)
    path = tmp_path / "model.onnx"
    assert export_onnx(model, path, variable_length=True, max_len=256).startswith(NAME)
    inference = OnnxInference(path)
    rng = np.random.default_rng(0)
    for rows, width in SHAPES:
        ids = rng.integers(0, VOCABULARY, size=(rows, width)).astype(np.int32)
        expected = np.asarray(model(ids, training=False)).reshape(-1)
        got = inference(ids)
        assert got.shape == (rows,)
        assert np.max(np.abs(got - expected)) < 1e-5, (rows, width)
    assert (
        float(np.std(np.asarray(model(rng.integers(0, VOCABULARY, (64, 32)).astype(np.int32))))) > 0.05
    )  # not saturated


def test_a_gate_in_the_wrong_order_would_be_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: the graph with Keras' gate order (not ONNX's) scores otherwise."""
    from logsentry.trainer import onnx_graph

    model = _trained_like("conv-lstm", seed=4)
    monkeypatch.setattr(onnx_graph, "_onnx_gates", lambda matrix: matrix)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, variable_length=True, max_len=256)
    ids = np.random.default_rng(1).integers(0, VOCABULARY, size=(64, 32)).astype(np.int32)
    assert np.max(np.abs(OnnxInference(path)(ids) - np.asarray(model(ids)).reshape(-1))) > 1e-3


@pytest.mark.parametrize("name", ["rnn", "lstm", "lstm-dense"])
def test_other_architectures_are_left_to_the_converter(name: str) -> None:
    assert conv_lstm_graph(ARCHITECTURES[name].build(VOCABULARY, 64), OPSET) is None
