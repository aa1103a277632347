"""Labelled request logs in the reference CSV format: ``|<json>|,<label>``.

The format is CSV with ``|`` as the quote character and a doubled ``||`` for a literal bar,
what ``pandas.read_csv(path, engine="python", quotechar="|", header=None)`` reads. We read
it with the standard ``csv`` module under exactly those rules (pandas' python engine is
built on it; ``tests/contract/test_csv_format.py`` checks both agree) because it tells us the
line each record starts on, which a user needs to fix a bad row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model_store.errors import DataError, MalformedRow

log = logging.getLogger(__name__)

_LABELS = {"0": 0, "1": 1}


@dataclass(frozen=True)
class LabelledLogs:
    """Request logs with their labels, and what reading them cost."""

    events: list[dict[str, Any]]
    labels: np.ndarray  # int8, 0 = normal, 1 = attack
    lines: np.ndarray  # 1-based line each kept row starts on
    rows_read: int
    rejected: tuple[MalformedRow, ...]
    sha256: str

    def summary(self) -> str:
        attacks = int(self.labels.sum())
        return (
            f"read {self.rows_read} rows: kept {len(self.events)} "
            f"({attacks} attack, {len(self.events) - attacks} normal), "
            f"rejected {len(self.rejected)}"
        )


def _records(handle: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle, quotechar="|", doublequote=True, strict=False)
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def parse_row(line: int, fields: list[str]) -> tuple[dict[str, Any], int]:
    """One CSV record to (event, label), or :class:`MalformedRow` saying why not."""
    if len(fields) != 2:
        raise MalformedRow(line, f"expected 2 fields (|json|,label), found {len(fields)}")
    text, label_text = fields
    label = _LABELS.get(label_text.strip())
    if label is None:
        raise MalformedRow(line, f"label must be 0 or 1, found {label_text.strip()[:20]!r}")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedRow(line, f"request log is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedRow(line, f"request log must be a JSON object, not {type(event).__name__}")
    return event, label


def read_labelled_text(text: str, *, strict: bool = False, sha256: str = "") -> LabelledLogs:
    events: list[dict[str, Any]] = []
    labels: list[int] = []
    lines: list[int] = []
    rejected: list[MalformedRow] = []
    rows = 0
    for line, fields in _records(io.StringIO(text, newline="")):
        if not fields:  # a blank line is not a row
            continue
        rows += 1
        try:
            event, label = parse_row(line, fields)
        except MalformedRow as bad:
            if strict:
                raise
            rejected.append(bad)
            continue
        events.append(event)
        labels.append(label)
        lines.append(line)
    return LabelledLogs(
        events=events,
        labels=np.asarray(labels, dtype=np.int8),
        lines=np.asarray(lines, dtype=np.int64),
        rows_read=rows,
        rejected=tuple(rejected),
        sha256=sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def read_labelled_csv(path: str | Path, *, strict: bool = False) -> LabelledLogs:
    """Read a labelled CSV file; malformed rows are logged with their line and skipped."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 ({exc.reason})") from None
    try:
        logs = read_labelled_text(text, strict=strict, sha256=hashlib.sha256(raw).hexdigest())
    except MalformedRow as bad:
        raise MalformedRow(bad.line, f"{bad.reason} (in {path}; --strict makes bad rows fatal)") from None
    for row in logs.rejected:
        log.warning("%s: line %d: %s (row skipped)", path, row.line, row.reason)
    log.info("%s: %s", path, logs.summary())
    if not logs.events:
        raise DataError(f"{path}: no usable rows ({logs.summary()})")
    return logs


def format_row(event: dict[str, Any], label: int) -> str:
    """One CSV line in the reference format (the inverse of :func:`parse_row`)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return "|" + text.replace("|", "||") + f"|,{label}\n"
