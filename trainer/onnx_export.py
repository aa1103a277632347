"""The ONNX export at publish, and its check against the Keras model it came from.

Every version the trainer publishes carries ``model.onnx`` beside ``model.keras``: serving runs
it on ONNX Runtime without TensorFlow (:mod:`model_store.onnx_runtime`). The converter is
``tf2onnx`` (the bidirectional LSTM becomes one ONNX ``LSTM`` operator). Before the version is
sealed, both models score the validation split through the same :class:`Detector` path
(same buckets, same windows); the export is refused (:class:`ExportMismatch`, nothing is
published) if any score differs by more than ``TOLERANCE`` or any verdict at the threshold
flips. The figures and both files' checksums go into the manifest's ``onnx`` entry.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np

from logsentry.model_store.errors import ExportMismatch
from logsentry.model_store.onnx_runtime import ONNX_FILE, OnnxInference
from logsentry.model_store.preprocessing import Preprocessing
from logsentry.model_store.scoring import Detector
from logsentry.model_store.store import MODEL_FILE, file_sha256
from logsentry.model_store.tensorflow_runtime import tensorflow

OPSET: Final = 17
TOLERANCE: Final = 1e-5


@dataclass(frozen=True)
class ExportCheck:
    rows: int
    max_abs_diff: float
    verdict_flips: int
    threshold: float
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance and self.verdict_flips == 0


def compare(reference: np.ndarray, exported: np.ndarray, threshold: float, tolerance: float = TOLERANCE) -> ExportCheck:
    """How far the export's scores are from the reference's, and how many verdicts differ."""
    if reference.shape != exported.shape:
        raise ExportMismatch(f"the export scored {exported.shape} rows where the model scored {reference.shape}")
    diff = float(np.max(np.abs(reference - exported))) if reference.size else 0.0
    if not np.isfinite(diff):
        diff = float("inf")
    flips = int(np.count_nonzero((reference >= threshold) != (exported >= threshold)))
    return ExportCheck(rows=int(reference.size), max_abs_diff=diff, verdict_flips=flips, threshold=threshold,
                       tolerance=tolerance)  # fmt: skip


def export_onnx(model: Any, path: Path, *, variable_length: bool, max_len: int) -> None:
    """Write ``model`` as ONNX: int32 ids of any batch size (and any width if ``variable_length``)."""
    tf = tensorflow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tf2onnx

        logging.getLogger("tf2onnx").setLevel(logging.WARNING)
        spec = (tf.TensorSpec((None, None if variable_length else max_len), tf.int32, name="ids"),)
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(path))


def export_checked(
    model: Any,
    directory: Path,
    preprocessing: Preprocessing,
    *,
    variable_length: bool,
    texts: Sequence[str],
    scores: np.ndarray,
    threshold: float,
) -> dict[str, Any]:
    """Export into ``directory`` and check it on ``texts`` against ``scores`` (the Keras model's).

    Returns the manifest's ``onnx`` entry; :class:`ExportMismatch` if the check fails.
    """
    path = directory / ONNX_FILE
    export_onnx(model, path, variable_length=variable_length, max_len=preprocessing.tokenizer.max_len)
    exported = Detector(OnnxInference(path), preprocessing).score_texts(texts)
    check = compare(np.asarray(scores, dtype=np.float32), exported, threshold)
    if not check.passed:
        raise ExportMismatch(
            f"the ONNX export disagrees with the Keras model on the validation split: largest score difference "
            f"{check.max_abs_diff:.2e} (at most {check.tolerance:.0e}), {check.verdict_flips} verdicts flipped; "
            "the version is not published"
        )
    return {
        "file": ONNX_FILE,
        "opset": OPSET,
        "converter": f"tf2onnx {metadata.version('tf2onnx')}",
        "onnxruntime": metadata.version("onnxruntime"),
        "checked_on": "validation",
        **asdict(check),
        "sha256": file_sha256(path),
        "keras_sha256": file_sha256(directory / MODEL_FILE),
    }
