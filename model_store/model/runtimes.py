"""Which engine runs a model version's network: ONNX Runtime (serving's default) or Keras.

A version carries ``model.keras`` and, since the ONNX export at publish, ``model.onnx`` with
the export's check in its manifest (:mod:`trainer.onnx_export`). Serving (``score``,
``stream``) runs ``model.onnx`` on ONNX Runtime and never imports TensorFlow; Keras runs a
version published before the export existed, and whatever asks for it by name. Keras and
TensorFlow come with the ``train`` extra; asking for them on a base install is one clear line.
"""

from __future__ import annotations

import importlib.util
from typing import Final, Literal, Protocol, cast

import numpy as np

from logsentry.errors import ConfigError, MissingExtra

Runtime = Literal["onnx", "keras"]
RUNTIMES: Final[tuple[Runtime, ...]] = ("onnx", "keras")
DEFAULT_RUNTIME: Final[Runtime] = "onnx"
TRAIN_EXTRA: Final = "pip install 'logsentry[train]'"
INFERENCE_THREADS: Final = 2  # threads one process gives the network, on either runtime (a process per 2 cores)


class Inference(Protocol):
    """A loaded network: padded token ids (rows x width, int32) in, one probability per row out."""

    runtime: Runtime
    chunk: int  # rows per call
    parallel_buckets: bool  # run the buckets of a batch on the inference pool (else one after another)

    def __call__(self, ids: np.ndarray) -> np.ndarray: ...


def check_runtime(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise ConfigError(f"runtime {name!r} is not one of {', '.join(RUNTIMES)}")
    return cast(Runtime, name)


TRAINING_MODULES: Final = ("tensorflow", "keras", "sklearn", "tf2onnx")


def require_training_extra(what: str, modules: tuple[str, ...] = TRAINING_MODULES) -> None:
    """:class:`MissingExtra` in one line when a module of the training extra is not installed."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(f"{what} needs {' and '.join(missing)}, which come with the training extra: {TRAIN_EXTRA}")


class CountingInference:
    """A network that counts the rows and calls it is given: how benchmarks and tests measure
    what a change costs the model (the cache, long values, hostile messages)."""

    def __init__(self, inner: Inference, *, parallel_buckets: bool | None = None) -> None:
        self.inner, self.rows, self.calls = inner, 0, 0
        self.runtime, self.chunk = inner.runtime, inner.chunk
        self.parallel_buckets = inner.parallel_buckets if parallel_buckets is None else parallel_buckets

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        self.rows += len(ids)
        self.calls += 1
        return self.inner(ids)
