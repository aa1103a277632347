"""The ONNX export at publish, and its check against the Keras model it came from.

Every version the trainer publishes carries ``model.onnx`` beside ``model.keras``: serving runs
it on ONNX Runtime without TensorFlow (:mod:`model_store.model.onnx_runtime`). The converter is
``tf2onnx`` (the bidirectional LSTM becomes one ONNX ``LSTM`` operator). Before the version is
sealed, both models score the validation split through the same :class:`Detector` path
(same buckets, same windows), and the export must pass two rules:

* **no verdict flips** at the version's threshold;
* **no score differs by more than float noise**, judged on the logit. Two correct programs
  that sum the same float32 products in another order (another kernel, another fusion, a
  1,024-step recurrence) differ by a few units in the last place of the network's pre-sigmoid
  output ``z``; a wrong conversion (a dropped bias, a swapped gate, another activation)
  moves ``z`` by tenths or more. A probability hides ``z``'s difference in proportion to its
  slope, ``dp = p (1 - p) dz``, and adds its own rounding (a float32 probability near 1 is a
  multiple of 2^-24). So each row's difference is read back on the logit,
  ``dz = max(|dp| - ATOL, 0) / (p (1 - p))`` with ``ATOL`` = four float32 steps at 1.0, and
  every row must stay within ``LOGIT_TOLERANCE`` (1e-2). Measured on trained models of every
  architecture, three seeds each (``bench/export_check.py``, docs/benchmarks.md), float noise
  reaches 1.2e-3 of logit (the reference ``lstm-dense``, seed 42: a 1,024-step recurrence
  carries rounding a long way) and stays below 3e-5 elsewhere; 1e-2 leaves a factor 8 over
  that and a factor 5 under the smallest wrong conversion the unit tests plant (a bias off by
  0.05). A fixed tolerance on the probability (the first rule, 1e-5) refused the reference
  ``lstm`` over a difference of 1.9e-5 with no verdict flipped; a logit tolerance of 1e-3
  refused ``lstm-dense`` seed 42 over 1.2e-3 with none flipped.

Kendall's tau between both score lists is recorded beside them (``rank_agreement``): a figure
for people, not a rule, because ties among saturated scores break either way.

When the check refuses an export, nothing trained is lost: the version is kept *held* in the
store (``held/<version>``, with the texts the check scored), and ``logsentry models publish V
--keras-only`` publishes it served by Keras, or ``logsentry models export V`` runs only the
export and its check again. ``train --export-fallback keras`` publishes it served by Keras at once.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np

from logsentry.errors import ExportMismatch
from logsentry.model_store.model.onnx_runtime import ONNX_FILE, OnnxInference
from logsentry.model_store.model.preprocessing import Preprocessing
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.model.tensorflow_runtime import KerasInference, load_keras_model, tensorflow
from logsentry.model_store.store import CHECK_SAMPLE_FILE, MODEL_FILE, ModelStore, file_sha256

OPSET: Final = 17
ATOL: Final = 2.0**-22  # four float32 steps at 1.0: the rounding of a probability itself
LOGIT_TOLERANCE: Final = 1e-2


@dataclass(frozen=True)
class ExportCheck:
    rows: int
    max_abs_diff: float  # on the probability
    max_logit_diff: float  # the largest difference the scores imply on the logit, beyond rounding
    rank_agreement: float | None  # Kendall's tau-b of both score lists; None when undefined
    verdict_flips: int
    threshold: float
    logit_tolerance: float = LOGIT_TOLERANCE
    atol: float = ATOL

    @property
    def passed(self) -> bool:
        return self.max_logit_diff <= self.logit_tolerance and self.verdict_flips == 0

    def describe(self) -> str:
        return (
            f"largest logit difference {self.max_logit_diff:.2e} (at most {self.logit_tolerance:.0e}; largest score "
            f"difference {self.max_abs_diff:.2e}), {self.verdict_flips} verdicts flipped at {self.threshold:.4f}"
        )


def logit_differences(reference: np.ndarray, exported: np.ndarray, atol: float = ATOL) -> np.ndarray:
    """Each row's score difference read back on the logit, less a probability's own rounding."""
    a, b = reference.astype(np.float64), exported.astype(np.float64)
    mean = (a + b) / 2
    slope = np.maximum(mean * (1 - mean), 1e-300)
    with np.errstate(invalid="ignore"):
        diff = np.maximum(np.abs(a - b) - atol, 0.0) / slope
    return np.where(np.isfinite(diff), diff, np.inf)


def rank_agreement(reference: np.ndarray, exported: np.ndarray) -> float | None:
    from scipy.stats import kendalltau

    if reference.size < 2:
        return None
    tau = float(kendalltau(reference, exported).statistic)
    return None if not np.isfinite(tau) else round(tau, 6)


def compare(
    reference: np.ndarray, exported: np.ndarray, threshold: float, tolerance: float = LOGIT_TOLERANCE
) -> ExportCheck:
    """How far the export's scores are from the reference's, and how many verdicts differ."""
    if reference.shape != exported.shape:
        raise ExportMismatch(f"the export scored {exported.shape} rows where the model scored {reference.shape}")
    finite = bool(np.isfinite(reference).all() and np.isfinite(exported).all())
    diff = float(np.max(np.abs(reference - exported))) if reference.size and finite else 0.0
    logit = float(np.max(logit_differences(reference, exported))) if reference.size else 0.0
    if not finite:
        diff = logit = float("inf")
    flips = int(np.count_nonzero((reference >= threshold) != (exported >= threshold)))
    return ExportCheck(
        rows=int(reference.size),
        max_abs_diff=diff,
        max_logit_diff=logit,
        rank_agreement=rank_agreement(reference, exported) if finite else None,
        verdict_flips=flips,
        threshold=threshold,
        logit_tolerance=tolerance,
    )


def export_onnx(model: Any, path: Path, *, variable_length: bool, max_len: int) -> str:
    """Write ``model`` as ONNX: int32 ids of any batch size (and any width if ``variable_length``).

    The default family's graph is written from its weights (:mod:`trainer.onnx_graph`); any other
    model is converted by ``tf2onnx``. Returns the converter, as the manifest records it."""
    import onnx

    from logsentry.trainer.onnx_graph import NAME, conv_lstm_graph

    built = conv_lstm_graph(model, OPSET)
    if built is not None:
        onnx.save(built, str(path))
        return f"{NAME} (onnx {metadata.version('onnx')})"
    return convert_with_tf2onnx(model, path, variable_length=variable_length, max_len=max_len)


def convert_with_tf2onnx(model: Any, path: Path, *, variable_length: bool, max_len: int) -> str:
    """``model`` converted by ``tf2onnx`` (every architecture); returns the converter."""
    tf = tensorflow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tf2onnx

        logging.getLogger("tf2onnx").setLevel(logging.WARNING)
        spec = (tf.TensorSpec((None, None if variable_length else max_len), tf.int32, name="ids"),)
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(path))
    return f"tf2onnx {metadata.version('tf2onnx')}"


def _entry(check: ExportCheck, directory: Path, *, exported: bool, converter: str) -> dict[str, Any]:
    return {
        "file": ONNX_FILE if exported else None,
        "status": "checked" if exported else "refused",
        "opset": OPSET,
        "converter": converter,
        "onnxruntime": metadata.version("onnxruntime"),
        "checked_on": "validation",
        **asdict(check),
        **({"sha256": file_sha256(directory / ONNX_FILE)} if exported else {}),
        "keras_sha256": file_sha256(directory / MODEL_FILE),
    }


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

    Returns the manifest's ``onnx`` entry. If the check fails, the export is removed and
    :class:`ExportMismatch` carries the entry a held or Keras-only version records.
    """
    path = directory / ONNX_FILE
    converter = export_onnx(model, path, variable_length=variable_length, max_len=preprocessing.tokenizer.max_len)
    exported = Detector(OnnxInference(path), preprocessing).score_texts(texts)
    check = compare(np.asarray(scores, dtype=np.float32), exported, threshold)
    if check.passed:
        return _entry(check, directory, exported=True, converter=converter)
    entry = _entry(check, directory, exported=False, converter=converter)
    path.unlink()
    raise ExportMismatch(
        f"the ONNX export disagrees with the Keras model on the validation split: {check.describe()}", entry
    )


def write_check_sample(directory: Path, texts: Sequence[str]) -> None:
    """The texts the check scored, kept with a held version so that the export can be re-run alone."""
    with gzip.open(directory / CHECK_SAMPLE_FILE, "wt", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps(text) + "\n")


def read_check_sample(directory: Path) -> list[str]:
    with gzip.open(directory / CHECK_SAMPLE_FILE, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def reexport(store: ModelStore, ref: str) -> tuple[str, dict[str, Any]]:
    """Run only the export and its check again on a held version, and publish it if the check passes.

    The Keras scores are recomputed from ``model.keras`` on the texts the first check scored.
    """
    version = store.resolve_held(ref)
    path = store.verify_held(version)
    manifest = store.held_manifest(version)
    texts = read_check_sample(path)
    model = load_keras_model(path / MODEL_FILE)
    inference = KerasInference(
        model, variable_length=manifest.variable_length, max_len=manifest.preprocessing.tokenizer.max_len
    )
    scores = Detector(inference, manifest.preprocessing).score_texts(texts)
    with tempfile.TemporaryDirectory(dir=store.root, prefix=".export-") as scratch:
        work = Path(scratch)
        shutil.copyfile(path / MODEL_FILE, work / MODEL_FILE)
        entry = export_checked(
            model,
            work,
            manifest.preprocessing,
            variable_length=manifest.variable_length,
            texts=texts,
            scores=scores,
            threshold=manifest.threshold,
        )
        published = replace(manifest, onnx=entry)
        store.release(version, published, add={ONNX_FILE: work / ONNX_FILE}, remove=(CHECK_SAMPLE_FILE,))
    return version, entry
