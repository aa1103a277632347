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

Every message goes through :func:`model_store.formats.decode_message`, the decoder the
stream and ``logsentry score`` use: a row the stream would dead-letter is reported here
as ``file: line N: reason`` and skipped (fatal with ``strict``). A message holding many
records (OTLP) gives one training row per record, each with the message's label.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.model_store.decode import DecodeLimits
from logsentry.model_store.errors import ConfigError, DataError, InvalidMessage, MalformedRow
from logsentry.model_store.formats import InputFormat, decode_message

log = logging.getLogger(__name__)

_LABELS = {"0": 0, "1": 1}
# the stream's own default limits: a row the stream would refuse as too large or too deep is
# reported here too, so training never learns from what serving would dead-letter
_TRAINING_LIMITS = DecodeLimits()


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


def _records(handle: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle, quotechar="|", doublequote=True, strict=False)
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def decode_row(line: int, message: str, fmt: InputFormat) -> tuple[list[dict[str, Any]], int | None]:
    """The request logs of one message (and a mapping's label), or :class:`MalformedRow`."""
    try:
        decoded = decode_message(message.encode("utf-8", "surrogatepass"), fmt, _TRAINING_LIMITS)
    except InvalidMessage as exc:
        raise MalformedRow(line, f"{exc.reason}: {exc.detail}") from None
    records = []
    for index, record in enumerate(decoded.records):
        if isinstance(record, InvalidMessage):
            raise MalformedRow(line, f"record {index}: {record.reason}: {record.detail}")
        records.append(record)
    return records, decoded.label


def parse_row(
    line: int, fields: list[str], fmt: InputFormat = InputFormat()
) -> tuple[list[dict[str, Any]], int, str | None]:
    """One CSV record to (request logs, label, family or None), or :class:`MalformedRow` saying why not."""
    if len(fields) not in (2, 3):
        raise MalformedRow(line, f"expected 2 or 3 fields (|json|,label[,family]), found {len(fields)}")
    text, label_text = fields[:2]
    label = _LABELS.get(label_text.strip())
    if label is None:
        raise MalformedRow(line, f"label must be 0 or 1, found {label_text.strip()[:20]!r}")
    family = fields[2].strip() if len(fields) == 3 else None
    return decode_row(line, text, fmt)[0], label, family


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


def read_labelled_text(
    text: str, *, strict: bool = False, sha256: str = "", fmt: InputFormat = InputFormat()
) -> LabelledLogs:
    rows = _Collector(strict)
    for line, fields in _records(io.StringIO(text, newline="")):
        if not fields:  # a blank line is not a row
            continue
        try:
            records, label, family = parse_row(line, fields, fmt)
        except MalformedRow as bad:
            rows.reject(bad)
            continue
        rows.keep(line, records, label, family)
    return rows.logs(sha256 or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def read_log_text(
    text: str, *, label: int | None, strict: bool = False, sha256: str = "", fmt: InputFormat = InputFormat()
) -> LabelledLogs:
    """One message per line; every record gets ``label``, or the mapping's label field."""
    if label is None and (fmt.mapping is None or not fmt.mapping.label):
        raise ConfigError("a log file needs --label 0|1, or an input mapping with a label field")
    rows = _Collector(strict)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records, found = decode_row(number, line, fmt)
            chosen = label if label is not None else found
            if chosen is None:
                raise MalformedRow(number, "no label")
        except MalformedRow as bad:
            rows.reject(bad)
            continue
        rows.keep(number, records, chosen)
    return rows.logs(sha256 or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def is_labelled_csv(path: Path, label: int | None) -> bool:
    """A file is read as labelled CSV unless a label is given for it or it is not ``.csv``."""
    return label is None and path.suffix.lower() == ".csv"


def read_input_text(path: str | Path) -> tuple[str, str]:
    """(text, sha256) of an input file, with errors a user can act on."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 ({exc.reason})") from None
    return text, hashlib.sha256(raw).hexdigest()


def read_labelled_csv(
    path: str | Path, *, strict: bool = False, fmt: InputFormat = InputFormat(), label: int | None = None
) -> LabelledLogs:
    """Read one labelled file; malformed rows are logged with their line and skipped."""
    path = Path(path)
    text, digest = read_input_text(path)
    try:
        if is_labelled_csv(path, label) and (fmt.mapping is None or not fmt.mapping.label):
            logs = read_labelled_text(text, strict=strict, sha256=digest, fmt=fmt)
        else:
            logs = read_log_text(text, label=label, strict=strict, sha256=digest, fmt=fmt)
    except MalformedRow as bad:
        raise MalformedRow(bad.line, f"{bad.reason} (in {path}; --strict makes bad rows fatal)") from None
    for row in logs.rejected[:20]:
        log.warning("%s: line %d: %s (row skipped)", path, row.line, row.reason)
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
    return concat_logs([read_labelled_csv(p, strict=strict, fmt=fmt, label=label) for p in paths])


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
