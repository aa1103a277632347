"""Model artifacts and the preprocessing they carry: the package trainer and stream share.

Heavy imports (TensorFlow) stay inside :mod:`model_store.scoring`, so listing or promoting
versions does not load a deep-learning runtime.
"""

from logsentry.model_store.errors import (
    CorruptArtifact,
    IncompatibleArtifact,
    InvalidEvent,
    LogsentryError,
    StoreError,
)
from logsentry.model_store.manifest import Manifest, TrainingData
from logsentry.model_store.preprocessing import (
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
