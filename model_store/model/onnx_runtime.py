"""A version's network on ONNX Runtime: a small native library, no TensorFlow in the process.

One session per loaded version, its operators on ``INFERENCE_THREADS`` threads, all graph
optimisations on; the buckets of a batch run one after another in 512-row calls. Measured on
2 Intel Xeon cores over the holdout: 20-25k events/s, about what Keras does there; basic or
extended optimisation, 256-2,048-row calls and a 2-thread bucket pool of single-threaded
sessions were no better (docs/benchmarks.md). ONNX Runtime releases the GIL while it
computes, so the stream's other threads keep running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from logsentry.errors import CorruptArtifact
from logsentry.model_store.model.runtimes import INFERENCE_THREADS, Runtime

ONNX_FILE: Final = "model.onnx"
ONNX_CHUNK: Final = 512


class OnnxInference:
    runtime: Runtime = "onnx"
    chunk = ONNX_CHUNK
    parallel_buckets = False

    def __init__(self, path: Path, threads: int = INFERENCE_THREADS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a CLI's stderr is for its own lines
        # no busy-waiting between calls: the stream's Kafka client threads (and, on a small machine,
        # the broker) share these cores, and explanations make many small calls whose spinning
        # threads took their time; `score` runs as fast either way
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types; all mean "unusable"
            raise CorruptArtifact(f"{path.parent.name}: {path.name} cannot be loaded: {exc}") from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(int32)" or len(inputs[0].shape) != 2:
            raise CorruptArtifact(f"{path.parent.name}: {path.name} does not take one int32 matrix of token ids")
        self.input_name = inputs[0].name

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        (out,) = self.session.run(None, {self.input_name: np.ascontiguousarray(ids, dtype=np.int32)})
        return np.asarray(out, dtype=np.float32).reshape(-1)
