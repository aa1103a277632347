"""TensorFlow and Keras for the trainer and the ``keras`` runtime, imported quietly.

Serving runs on ONNX Runtime (:mod:`model_store.model.onnx_runtime`) and never imports this module's
dependencies; this is the Keras side (:class:`KerasInference`, :func:`load_keras_model`).

TensorFlow's native libraries write lines such as ``oneDNN custom operations are on`` to
file descriptor 2 while they load, before any logging configuration applies (even
``TF_CPP_MIN_LOG_LEVEL=3`` does not stop them). A command-line tool whose errors are one line
on stderr cannot have that, so the first import runs with descriptor 2 pointed at
``/dev/null``; ``--verbose``/``--debug`` (:func:`show_native_logs`) keep it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from logsentry.errors import CorruptArtifact
from logsentry.model_store.model.runtimes import Runtime, require_training_extra

_show = False


def show_native_logs(show: bool) -> None:
    global _show
    _show = show


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to protect
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def tensorflow() -> ModuleType:
    """``import tensorflow`` (and Keras), quietly unless native logs were asked for."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _show:
        import keras
        import tensorflow as tf

        return tf
    with _native_stderr_silenced(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import keras  # noqa: F401
        import tensorflow as tf
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return tf


KERAS_CHUNK = 1024


class KerasInference:
    """A Keras model through one traced inference function (``training=False``).

    One trace serves every bucket width and chunk size. Each call carries a fixed cost (the
    recurrent layer's loop, ~1-4 ms whatever the row count), so the buckets of a batch run on
    two threads: while one call is in that loop the other keeps the cores busy (1.16x on the
    holdout, identical scores).
    """

    runtime: Runtime = "keras"
    chunk = KERAS_CHUNK
    parallel_buckets = True

    def __init__(self, model: Any, *, variable_length: bool, max_len: int) -> None:
        tf = tensorflow()
        self.model = model
        width = None if variable_length else max_len
        self._infer = tf.function(
            lambda ids: model(ids, training=False),
            input_signature=[tf.TensorSpec((None, width), tf.int32)],
            reduce_retracing=True,
        )

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self._infer(ids)).reshape(-1)


def load_keras_model(path: Path) -> Any:
    """A version's ``model.keras`` in Keras' safe mode (refuses lambda layers and other code)."""
    require_training_extra(f"running {path.parent.name}/{path.name} on Keras", ("tensorflow", "keras"))
    tensorflow()
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types; all mean "this artifact is unusable"
        raise CorruptArtifact(f"{path.parent.name}: {path.name} cannot be loaded safely: {exc}") from exc
