"""Importing TensorFlow without its start-up noise on stderr.

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
from types import ModuleType

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
