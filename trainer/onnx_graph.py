"""The ONNX graph of the default family (``conv-lstm``, ``conv-lstm-wide``), written from the
Keras weights rather than converted.

``tf2onnx`` turns ``Conv1D`` into a 2-D convolution between a ``Squeeze`` and an ``Unsqueeze``,
with the bias add and the ReLU outside it. ONNX Runtime then runs the convolution in its blocked
channel layout, reorders the full-length output back before the bias, and cannot fuse either:
on 2 Intel Xeon cores the reorders, the add and the ReLU were a third of the network's time.
Here the convolution carries its bias, the ReLU and the max-pooling follow it in the same
4-D layout (ONNX Runtime fuses the ReLU and reorders once, after the eight-fold pooling), and
the pooled sequence goes to one bidirectional ``LSTM`` operator: the same scores to the last
bit on the bundled model's values, at 1.25-1.30x the rows per second of the converted graph
(``bench/offline_score.py``, docs/benchmarks.md).
Every export is still checked against the Keras model at publish (:mod:`trainer.onnx_export`).

The graph is built only for a model whose layers are exactly the family's (checked below);
any other model gets ``None`` and goes through ``tf2onnx``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

FAMILY: Final = (
    "InputLayer",
    "Embedding",
    "Conv1D",
    "MaxPooling1D",
    "Bidirectional",
    "GlobalMaxPooling1D",
    "Concatenate",
    "Dropout",
    "Dense",
)
NAME: Final = "logsentry-graph 1"  # what the manifest records as the converter


def _layers(model: Any) -> dict[str, Any] | None:
    """The family's layers by type, or None if ``model`` is anything else."""
    layers = list(model.layers)
    if tuple(type(layer).__name__ for layer in layers) != FAMILY:
        return None
    by_type = {type(layer).__name__: layer for layer in layers}
    conv, pool = by_type["Conv1D"].get_config(), by_type["MaxPooling1D"].get_config()
    bi, dense = by_type["Bidirectional"], by_type["Dense"]
    forward, backward = bi.forward_layer.get_config(), bi.backward_layer.get_config()
    try:  # which layers feed the concatenation, in order (Keras keeps it on the layer's first call)
        concatenated = [t._keras_history.operation for t in by_type["Concatenate"]._inbound_nodes[0].input_tensors]
    except (AttributeError, IndexError):  # another Keras: not known to be the family, so tf2onnx converts it
        return None
    plain = (
        conv["padding"] == "same"
        and tuple(conv["strides"]) == (1,)
        and tuple(conv["dilation_rate"]) == (1,)
        and conv["activation"] == "relu"
        and conv["use_bias"]
        and conv["groups"] == 1
        and conv["data_format"] == "channels_last"
        and pool["padding"] == "same"
        and tuple(pool["strides"]) == tuple(pool["pool_size"])
        and pool["data_format"] == "channels_last"
        and bi.merge_mode == "concat"
        and all(
            c["activation"] == "tanh"
            and c["recurrent_activation"] == "sigmoid"
            and c["use_bias"]
            and not c["return_sequences"]
            for c in (forward, backward)
        )
        and not forward["go_backwards"]
        and backward["go_backwards"]
        and dense.get_config()["activation"] == "sigmoid"
        and dense.get_config()["units"] == 1
        and concatenated == [bi, by_type["GlobalMaxPooling1D"]]
        and not by_type["Embedding"].get_config().get("mask_zero")
    )
    return by_type if plain else None


def _onnx_gates(matrix: np.ndarray) -> np.ndarray:
    """Keras orders an LSTM's gates input, forget, cell, output; ONNX input, output, forget, cell."""
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([i, o, f, c], axis=-1)


def conv_lstm_graph(model: Any, opset: int) -> Any | None:
    """The ONNX model of ``model`` (input ``ids``: int32 [rows, width], any width; output: the
    score [rows, 1]), or None if ``model`` is not of the family."""
    layers = _layers(model)
    if layers is None:
        return None
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    (embeddings,) = layers["Embedding"].get_weights()  # (vocabulary, dims)
    kernel, bias = layers["Conv1D"].get_weights()  # (width, dims, filters), (filters,)
    (pool,) = layers["MaxPooling1D"].get_config()["pool_size"]
    bi = layers["Bidirectional"]
    (fk, fr, fb), (bk, br, bb) = bi.forward_layer.get_weights(), bi.backward_layer.get_weights()
    dense, dense_bias = layers["Dense"].get_weights()
    width, hidden = kernel.shape[0], fr.shape[0]
    left = (width - 1) // 2  # "same": the extra column of an even kernel goes right, as in Keras

    initializers: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    axis = {k: const(f"axis_{k}", np.array([k], np.int64)) for k in (1, 2)}
    x = node("Gather", [const("embeddings", embeddings.astype(np.float32)), "ids"], "embedded")  # (N, L, D)
    x = node("Unsqueeze", [x, axis[1]], "embedded_nhwc")  # (N, 1, L, D)
    x = node("Transpose", [x], "embedded_nchw", perm=[0, 3, 1, 2])  # (N, D, 1, L)
    filters = np.transpose(kernel, (2, 1, 0))[:, :, None, :]  # (F, D, 1, width)
    x = node(
        "Conv",
        [x, const("conv_kernel", filters.astype(np.float32)), const("conv_bias", bias.astype(np.float32))],
        "conv",
        kernel_shape=[1, width],
        pads=[0, left, 0, width - 1 - left],
    )
    x = node("Relu", [x], "conv_relu")
    # Keras' "same" pooling pads (total // 2) before and the rest after, like SAME_UPPER; both
    # leave the padding out of the max
    x = node("MaxPool", [x], "pooled_nchw", kernel_shape=[1, pool], strides=[1, pool], auto_pad="SAME_UPPER")
    pooled = node("Squeeze", [x, axis[2]], "pooled")  # (N, F, L')
    salient = node("ReduceMax", [pooled], "salient", axes=[2], keepdims=0)  # (N, F)
    steps = node("Transpose", [pooled], "steps", perm=[2, 0, 1])  # (L', N, F): time first
    zeros = np.zeros(4 * hidden, np.float32)
    lstm_inputs = [
        steps,
        const("lstm_w", np.stack([_onnx_gates(fk).T, _onnx_gates(bk).T]).astype(np.float32)),
        const("lstm_r", np.stack([_onnx_gates(fr).T, _onnx_gates(br).T]).astype(np.float32)),
        const("lstm_b", np.stack([np.concatenate([_onnx_gates(b), zeros]) for b in (fb, bb)]).astype(np.float32)),
    ]
    nodes.append(
        helper.make_node("LSTM", lstm_inputs, ["", "last"], name="lstm", hidden_size=hidden, direction="bidirectional")
    )
    last = node("Transpose", ["last"], "last_by_row", perm=[1, 0, 2])  # (N, 2, H): forward, backward
    summary = node("Reshape", [last, const("summary_shape", np.array([0, 2 * hidden], np.int64))], "summary")
    x = node("Concat", [summary, salient], "features", axis=1)
    x = node("MatMul", [x, const("dense_kernel", dense.astype(np.float32))], "logit_unbiased")
    x = node("Add", [x, const("dense_bias", dense_bias.astype(np.float32))], "logit")
    node("Sigmoid", [x], "score")
    graph = helper.make_graph(
        nodes,
        model.name,
        [helper.make_tensor_value_info("ids", TensorProto.INT32, ["rows", "width"])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["rows", 1])],
        initializers,
    )
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=NAME)
    onnx.checker.check_model(built, full_check=True)
    return built
