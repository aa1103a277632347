"""The one error hierarchy of logsentry, where every package sees it (``logsentry.errors``).

Every error that logsentry raises on purpose derives from :class:`LogsentryError`, so a
caller (the CLI's one-line error report) can catch the whole family in one place. Packages
add one-line subclasses here rather than inventing roots of their own. A message the stream
cannot score is not an exception that travels: it becomes a dead letter with its reason
(:class:`InvalidMessage`'s ``reason``, ``stream.records``).
"""

from __future__ import annotations

from typing import Any


class LogsentryError(Exception):
    """Root of every error logsentry raises on purpose."""


class ConfigError(LogsentryError):
    """A setting is missing, malformed or contradicts another."""


class InvalidEvent(LogsentryError):
    """A request log cannot be cleaned: not a JSON object, or of an unsupported shape."""


class InvalidMessage(InvalidEvent):
    """Bytes from Kafka that are not a usable request log; ``reason`` is a short stable label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class DataError(LogsentryError):
    """Training or evaluation data is unusable (no rows left, one class only, ...)."""


class MalformedRow(DataError):
    """One row of a labelled CSV file cannot be used; carries its 1-based line number."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class TrainingDiverged(LogsentryError):
    """The training loss became NaN or infinite: the weights are unusable, nothing is published."""


class WorkerFailed(LogsentryError):
    """A worker of a multi-worker training run failed, or the workers ended with different weights."""


class StoreError(LogsentryError):
    """The model store cannot do what was asked (unknown version, nothing published, ...)."""


class CorruptArtifact(StoreError):
    """A model version's files do not match their recorded checksums or cannot be read."""


class IncompatibleArtifact(StoreError):
    """A model version was written with a preprocessing spec this code cannot honour."""


class MissingExtra(ConfigError):
    """A command needs what only an optional install brings (``pip install 'logsentry[train]'``)."""


class ExportMismatch(StoreError):
    """A model's ONNX export does not score like the model itself: the version is not published.

    ``entry`` holds the check's figures as a manifest records them, when the check ran.
    """

    def __init__(self, message: str, entry: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.entry = entry


class StreamError(LogsentryError):
    """The streaming detector failed in a way it cannot recover from by itself."""


class PublishError(StreamError):
    """An alert or dead letter was not acknowledged by the broker."""
