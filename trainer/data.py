"""Labelled request logs for training and evaluation, read through the shared decoder.

Two kinds of file:

* **labelled CSV** in the reference format, ``|<message>|,<label>``, optionally with a third
  column naming an attack's family (``|<message>|,1,sqli``; what ``logsentry generate``
  writes), which evaluation turns into per-family recall: CSV with ``|`` as the
  quote character and a doubled ``||`` for a literal bar, what ``pandas.read_csv(path,
  engine="python", quotechar="|", header=None)`` reads. We read it with the standard ``csv``
  module under exactly those rules (pandas' python engine is built on it;
  ``tests/contract/test_encoding_contract.py`` checks both agree) because it tells us the
  line each record starts on, which a user needs to fix a bad row.
* **a log file** (one message per line, any input format) with one label for the whole
  file (``--label 0|1``) or a label field named in a ``mapping:FILE``.

The rows are read by :mod:`trainer.sources` (gzip or plain), whose messages go through
:func:`model_store.ingest.formats.decode_message`, the decoder the stream and ``logsentry score``
use: a row the stream would dead-letter is reported here as ``file: line N: reason`` and
skipped (fatal with ``strict``). A message holding many
records (OTLP) gives one training row per record, each with the message's label.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.errors import ConfigError, DataError, MalformedRow
from logsentry.model_store.ingest.formats import InputFormat
from logsentry.model_store.store import file_sha256
from logsentry.trainer.sources import FileShard, TextShard, files, read_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledLogs:
    """Request logs with their labels, and what reading them cost."""

    events: list[dict[str, Any]]
    labels: np.ndarray  # int8, 0 = normal, 1 = attack
    lines: np.ndarray  # 1-based line each kept record's message starts on
    rows_read: int
    rejected: tuple[MalformedRow, ...]
    sha256: str
    families: np.ndarray | None = None  # str per record ("" when not named); None: no family column

    def summary(self) -> str:
        attacks = int(self.labels.sum())
        return (
            f"read {self.rows_read} rows: kept {len(self.events)} "
            f"({attacks} attack, {len(self.events) - attacks} normal), "
            f"rejected {len(self.rejected)}"
        )


class _Collector:
    """Rows as they are read: the records kept (with label and line), the rows refused."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.events: list[dict[str, Any]] = []
        self.labels: list[int] = []
        self.lines: list[int] = []
        self.families: list[str] = []
        self.named = False  # some row carried a family column
        self.rejected: list[MalformedRow] = []
        self.rows = 0

    def keep(self, line: int, records: list[dict[str, Any]], label: int, family: str | None = None) -> None:
        self.rows += 1
        self.events.extend(records)
        self.labels.extend([label] * len(records))
        self.lines.extend([line] * len(records))
        self.families.extend([family or ""] * len(records))
        self.named = self.named or family is not None

    def reject(self, bad: MalformedRow) -> None:
        if self.strict:
            raise bad
        self.rows += 1
        self.rejected.append(bad)

    def logs(self, sha256: str) -> LabelledLogs:
        return LabelledLogs(
            events=self.events,
            labels=np.asarray(self.labels, dtype=np.int8),
            lines=np.asarray(self.lines, dtype=np.int64),
            rows_read=self.rows,
            rejected=tuple(self.rejected),
            sha256=sha256,
            families=np.asarray(self.families, dtype=object) if self.named else None,
        )


def _collect(shard: FileShard, *, strict: bool, sha256: str) -> LabelledLogs:
    rows = _Collector(strict)
    for row in read_rows(shard, strict=strict):
        if isinstance(row, MalformedRow):
            rows.reject(row)
        else:
            rows.keep(row.line, row.records, row.label, row.family)
    return rows.logs(sha256)


def read_labelled_text(text: str, *, strict: bool = False, fmt: InputFormat = InputFormat()) -> LabelledLogs:
    """Labelled CSV rows given as a string."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _collect(TextShard(Path("text.csv"), fmt, None, text), strict=strict, sha256=digest)


def read_labelled_csv(
    path: str | Path, *, strict: bool = False, fmt: InputFormat = InputFormat(), label: int | None = None
) -> LabelledLogs:
    """Read one labelled file (CSV or a log with ``label``) into memory; malformed rows are logged and skipped."""
    path = Path(path)
    logs = _collect(FileShard(path, fmt, label), strict=strict, sha256=file_sha256(path))
    for bad in logs.rejected[:20]:
        log.warning("%s: line %d: %s (row skipped)", path, bad.line, bad.reason)
    if len(logs.rejected) > 20:
        log.warning("%s: %d more rows skipped", path, len(logs.rejected) - 20)
    log.info("%s: %s", path, logs.summary())
    if not logs.events:
        raise DataError(f"{path}: no usable rows ({logs.summary()})")
    return logs


def read_training_data(
    paths: Sequence[Path], *, strict: bool = False, fmt: InputFormat = InputFormat(), label: int | None = None
) -> LabelledLogs:
    """Read and combine several labelled files (their hash covers them all, in order)."""
    if not paths:
        raise ConfigError("no data file given")
    return concat_logs([read_labelled_csv(p, strict=strict, fmt=fmt, label=label) for p in files(paths)])


def concat_logs(parts: Sequence[LabelledLogs]) -> LabelledLogs:
    """Several read files as one (their hash covers them all, in order)."""
    if len(parts) == 1:
        return parts[0]
    return LabelledLogs(
        events=[e for p in parts for e in p.events],
        labels=np.concatenate([p.labels for p in parts]),
        lines=np.concatenate([p.lines for p in parts]),
        rows_read=sum(p.rows_read for p in parts),
        rejected=tuple(r for p in parts for r in p.rejected),
        sha256=hashlib.sha256("".join(p.sha256 for p in parts).encode()).hexdigest(),
        families=join_families([(p.families, len(p.events)) for p in parts]),
    )


def join_families(parts: Sequence[tuple[np.ndarray | None, int]]) -> np.ndarray | None:
    """The family column of several parts put end to end ("" where a part names none); None if none does."""
    if all(families is None for families, _ in parts):
        return None
    return np.concatenate([f if f is not None else np.full(n, "", dtype=object) for f, n in parts])


def format_row(event: dict[str, Any], label: int, family: str | None = None) -> str:
    """One CSV line in the reference format, with a family column if given (the inverse of :func:`parse_row`)."""
    import json

    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return "|" + text.replace("|", "||") + f"|,{label}" + (f",{family}" if family is not None else "") + "\n"
