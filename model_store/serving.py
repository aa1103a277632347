"""A version loaded to serve: verified against its checksums, its network on a runtime.

The store side of scoring: :mod:`.model.scoring` holds the detector and knows nothing of
stores; this module opens a version and hands its network, preprocessing and threshold to a
:class:`~logsentry.model_store.model.scoring.Detector` (the bundled fallback is
:mod:`.bundled`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from logsentry.errors import CorruptArtifact
from logsentry.model_store.manifest import Manifest
from logsentry.model_store.model.onnx_runtime import ONNX_FILE, OnnxInference
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME, Inference, Runtime, check_runtime
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.store import MODEL_FILE, ModelStore

log = logging.getLogger(__name__)


def load_inference(path: Path, manifest: Manifest, runtime: Runtime) -> Inference:
    """The network of a verified version on ``runtime``; Keras for a version without an export."""
    if runtime == "onnx":
        if manifest.keras_only:
            log.warning("version=%s is served by Keras only (its ONNX export was refused at publish)", manifest.version)
        elif manifest.onnx is not None and (path / ONNX_FILE).is_file():
            return OnnxInference(path / ONNX_FILE)
        elif manifest.onnx is not None:
            raise CorruptArtifact(f"{path.name}: its manifest records an ONNX export but {ONNX_FILE} is missing")
        else:
            log.warning("version=%s predates the ONNX export: running it on Keras", manifest.version)
    from logsentry.model_store.model.tensorflow_runtime import KerasInference, load_keras_model

    return KerasInference(
        load_keras_model(path / MODEL_FILE),
        variable_length=manifest.variable_length,
        max_len=manifest.preprocessing.tokenizer.max_len,
    )


def load_detector(store: ModelStore, ref: str = "current", runtime: str = DEFAULT_RUNTIME) -> Detector:
    """Verify and load a version: checksums, preprocessing version, then its network on ``runtime``."""
    runtime = check_runtime(runtime)
    path = store.verify(ref)
    manifest = store.manifest(path.name, verify=False)  # just verified
    return Detector(
        load_inference(path, manifest, runtime),
        manifest.preprocessing,
        threshold=manifest.threshold,
        version=manifest.version,
        architecture=manifest.architecture,
    )
