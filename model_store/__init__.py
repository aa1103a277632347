"""The core that trainer and stream share, filed by what it holds.

* :mod:`.ingest` reads what a web service logged: the input formats, strict JSON decoding
  and the one definition of a valid request log;
* :mod:`.model` turns a request log into model input and scores it: the cleanup and
  tokenizer every version carries (the one preprocessing path), the runtimes, the detector;
* :mod:`.judge` turns scores into verdicts: thresholds and suppressions, explanations;
* :mod:`.store`, :mod:`.manifest` and :mod:`.bundled` keep the versioned, self-describing
  artifacts and load one for serving.

Heavy imports (TensorFlow) stay inside :mod:`.model.tensorflow_runtime`, loaded only when a
version is served on Keras or trained, so listing or promoting versions loads no deep-learning
runtime.
"""

from logsentry.errors import (
    CorruptArtifact,
    IncompatibleArtifact,
    InvalidEvent,
    LogsentryError,
    StoreError,
)
from logsentry.model_store.manifest import Manifest, TrainingData
from logsentry.model_store.model.preprocessing import (
    PREPROCESSING_VERSION,
    CharTokenizer,
    CleanupSpec,
    Preprocessing,
    clean,
)
from logsentry.model_store.store import ModelStore

__all__ = [
    "PREPROCESSING_VERSION",
    "CharTokenizer",
    "CleanupSpec",
    "CorruptArtifact",
    "IncompatibleArtifact",
    "InvalidEvent",
    "LogsentryError",
    "Manifest",
    "ModelStore",
    "Preprocessing",
    "StoreError",
    "TrainingData",
    "clean",
]
