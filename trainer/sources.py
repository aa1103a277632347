"""Where training rows come from, read lazily: files (plain or gzip, any input format), rows
held in memory (generated or analysts' verdicts), and a Kafka topic's offset range.

Every source is a tuple of *shards*, each read from its start as often as needed (one pass to
count, one to fit the vocabulary, one per epoch) and never held whole. A shard yields
:data:`Row` values or :class:`MalformedRow` (the caller decides whether a bad row is fatal),
and numbers its rows ``0, 1, 2, ...`` in a way that is the same on every pass: the record
sequence of a file, the offset minus the range's start of a topic partition. Every message
goes through :func:`model_store.ingest.formats.decode_message`, the decoder the stream uses.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

from logsentry.errors import ConfigError, DataError, InvalidMessage, MalformedRow
from logsentry.model_store.ingest.decode import DecodeLimits
from logsentry.model_store.ingest.formats import InputFormat, decode_message
from logsentry.model_store.ingest.lines import allow_csv_fields, read_lines

_LABELS = {"0": 0, "1": 1}
# the stream's own default limits: a row the stream would refuse as too large or too deep is
# refused here too, so training never learns from what serving would dead-letter
TRAINING_LIMITS = DecodeLimits()
LABEL_HEADER = "logsentry-label"  # a topic message's label, when the topic carries one


class Row(NamedTuple):
    """One row read: its number in the shard, the line (or offset) it starts on, its records."""

    ordinal: int
    line: int
    records: list[dict[str, Any]]
    label: int
    family: str | None


Wanted = Callable[[int], bool]  # which row numbers a pass reads


class Shard(Protocol):
    @property
    def name(self) -> str: ...

    def count(self) -> int:
        """How many row numbers the shard uses (cheap: no message is decoded)."""
        ...

    def rows(self, wanted: Wanted | None = None) -> Iterator[Row | MalformedRow]:
        """Every row (or why not), in order; with ``wanted``, only the row numbers it accepts,
        the others not decoded (a pass that reads one part skips the cost of the rest)."""
        ...


def decode_row(line: int, message: str | bytes, fmt: InputFormat) -> tuple[list[dict[str, Any]], int | None]:
    """The request logs of one message (and a mapping's label), or :class:`MalformedRow`."""
    raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
    try:
        decoded = decode_message(raw, fmt, TRAINING_LIMITS)
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


def is_labelled_csv(path: Path, label: int | None) -> bool:
    """A file is read as labelled CSV unless a label is given for it or it is not ``.csv`` (or ``.csv.gz``)."""
    name = path.name.lower()
    return label is None and (name.endswith(".csv") or name.endswith(".csv.gz"))


def _open(path: Path) -> BinaryIO:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if handle.peek(2)[:2] == b"\x1f\x8b":
        return gzip.open(handle)  # type: ignore[return-value]
    return handle


def text_lines(path: Path) -> Iterator[str]:
    """The lines of a file (gzip or plain), decoded as UTF-8, with errors a user can act on.

    Lines as :mod:`model_store.ingest.lines` counts them (a bare ``\r`` stays inside its line); a
    line longer than a message may be (``TRAINING_LIMITS.max_bytes``, twice that for a CSV
    row's quoting) is not held: it reads as :data:`TOO_LONG`, a row refused with its number.
    """
    handle = _open(path)
    number = 0
    try:
        for line in read_lines(handle, 2 * TRAINING_LIMITS.max_bytes):
            number = line.number
            yield TOO_LONG if line.value is None else line.value.decode("utf-8") + "\n"
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: line {number}: not UTF-8 ({exc.reason})") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: line {number + 1}: cannot be read: {exc}") from None
    finally:
        handle.close()


TOO_LONG = "\x00too long\n"  # what text_lines yields for a line it did not hold (no text line holds NUL)


def _too_long(line: int) -> MalformedRow:
    return MalformedRow(line, f"too_large: the line is longer than {2 * TRAINING_LIMITS.max_bytes} bytes")


def _one_line_row(line: str) -> list[str] | None:
    """The fields of ``|message|,label[,family]`` on one line with no other bar and no
    carriage return — the reference format's common row — split as the csv reader splits
    them, at string speed; None for any other line (the csv reader reads it)."""
    if not line.startswith("|"):
        return None
    close = line.find("|", 1)
    if close < 0 or line.find("|", close + 1) >= 0 or "\r" in line:
        return None  # a multi-line message, a doubled bar, a bar after the message, or a case for the reader
    rest = line[close + 1 :].removesuffix("\n")
    if rest and not rest.startswith(","):
        return None
    return [line[1:close], *(rest[1:].split(",") if rest else ())]


def _csv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | MalformedRow]]:
    """(line the record starts on, fields or why not) of each non-blank CSV record in the
    reference dialect; a line :func:`text_lines` did not hold, and a row the csv reader
    refuses, are reported with their line and reading goes on. A one-line row in the common
    shape is split directly (:func:`_one_line_row`); any other record is handed to the csv
    reader, which takes the lines it needs and no more."""
    numbered = enumerate(lines, start=1)
    pending: list[str] = []  # the line a record starts on, handed to the reader
    skipped: list[int] = []  # lines inside a record read as TOO_LONG, handed to the reader as blank lines

    def feed() -> Iterator[str]:
        while True:
            if pending:
                yield pending.pop()
                continue
            try:
                number, line = next(numbered)
            except StopIteration:
                return
            if line == TOO_LONG:
                skipped.append(number)
                yield "\n"
            else:
                yield line

    allow_csv_fields(2 * TRAINING_LIMITS.max_bytes)  # a line text_lines holds is never refused for its size
    reader = csv.reader(feed(), quotechar="|", doublequote=True, strict=False)
    for start, line in numbered:
        if line == TOO_LONG:
            yield start, _too_long(start)
            continue
        fields: list[str] | MalformedRow | None = _one_line_row(line)
        if fields is None:
            pending.append(line)
            try:
                fields = next(reader, None)
            except csv.Error as exc:
                reason = "a carriage return outside |quotes|" if "new-line character" in str(exc) else str(exc)
                fields = MalformedRow(start, f"not a CSV row: {reason}")
        if fields:  # a blank line is not a row
            yield start, fields
        while skipped:
            number = skipped.pop(0)
            yield number, _too_long(number)


@dataclass(frozen=True)
class FileShard:
    """One file: labelled CSV (``|message|,label[,family]``) or a log with one message per line."""

    path: Path
    fmt: InputFormat = field(default_factory=InputFormat)
    label: int | None = None  # the label of every row of a log file

    def __post_init__(self) -> None:
        if not self.csv and self.label is None and (self.fmt.mapping is None or not self.fmt.mapping.label):
            raise ConfigError(f"{self.path}: a log file needs --label 0|1, or an input mapping with a label field")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def csv(self) -> bool:
        return is_labelled_csv(self.path, self.label) and (self.fmt.mapping is None or not self.fmt.mapping.label)

    def _lines(self) -> Iterable[str]:
        return text_lines(self.path)

    def _messages(self) -> Iterator[tuple[int, list[str] | MalformedRow]]:
        if self.csv:
            yield from _csv_records(self._lines())
            return
        for number, line in enumerate(self._lines(), start=1):
            if line == TOO_LONG:
                yield number, _too_long(number)
                continue
            line = line.rstrip("\n").removesuffix("\r")
            if line.strip():
                yield number, [line]

    def count(self) -> int:
        return sum(1 for _ in self._messages())

    def rows(self, wanted: Wanted | None = None) -> Iterator[Row | MalformedRow]:
        for ordinal, (line, fields) in enumerate(self._messages()):
            if wanted is not None and not wanted(ordinal):
                continue
            if isinstance(fields, MalformedRow):
                yield fields
                continue
            try:
                if self.csv:
                    records, label, family = parse_row(line, fields, self.fmt)
                else:
                    records, found = decode_row(line, fields[0], self.fmt)
                    chosen = self.label if self.label is not None else found
                    if chosen is None:
                        raise MalformedRow(line, "no label")
                    label, family = chosen, None
            except MalformedRow as bad:
                yield bad
                continue
            yield Row(ordinal, line, records, label, family)


@dataclass(frozen=True)
class TextShard(FileShard):
    """Rows given as one string (``path`` only names them: ``.csv`` for labelled CSV)."""

    text: str = ""

    def _lines(self) -> Iterable[str]:
        return io.StringIO(self.text, newline="\n")  # lines end at \n only, as in files


@dataclass(frozen=True)
class MemoryShard:
    """Rows already in memory (generated requests, analysts' verdicts): one record each."""

    name: str
    events: Sequence[dict[str, Any]]
    labels: Sequence[int]
    families: Sequence[str | None] | None = None

    def count(self) -> int:
        return len(self.events)

    def rows(self, wanted: Wanted | None = None) -> Iterator[Row | MalformedRow]:
        families = self.families if self.families is not None else [None] * len(self.events)
        for ordinal, (event, label, family) in enumerate(zip(self.events, self.labels, families, strict=True)):
            if wanted is not None and not wanted(ordinal):
                continue
            yield Row(ordinal, 0, [event], int(label), family)


class Message(Protocol):
    """A message of a topic: what :class:`TopicShard` reads (``stream.tools.ranges.Message``)."""

    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...]: ...


@dataclass(frozen=True)
class TopicShard:
    """One partition's offsets ``[start, end)`` of a topic; row number = offset - start.

    ``read`` gives the range's messages (``stream.tools.ranges.read_range``: no consumer group).
    A message's label is ``label`` if given, else the input mapping's label field, else its
    ``logsentry-label`` header (``0``/``1``: labelled sets kept in Kafka), else 0: a site's own
    traffic is read as benign.
    """

    name: str
    start: int
    end: int
    read: Callable[[], Iterable[Message]]
    fmt: InputFormat = field(default_factory=InputFormat)
    label: int | None = None

    def count(self) -> int:
        return self.end - self.start

    def _label(self, found: int | None, headers: Iterable[tuple[str, bytes]]) -> int:
        if self.label is not None:
            return self.label
        if found is not None:
            return found
        for key, value in headers:
            if key == LABEL_HEADER and value in (b"0", b"1"):
                return int(value)
        return 0

    def rows(self, wanted: Wanted | None = None) -> Iterator[Row | MalformedRow]:
        for message in self.read():
            if wanted is not None and not wanted(message.offset - self.start):
                continue
            try:
                records, found = decode_row(message.offset, message.value or b"", self.fmt)
            except MalformedRow as bad:
                yield bad
                continue
            label = self._label(found, message.headers)
            yield Row(message.offset - self.start, message.offset, records, label, None)


def files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, a directory standing for the files in it (sorted; hidden files skipped)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise DataError(f"{path}: an empty directory")
            out += inside
        else:
            out.append(path)
    return out


def file_shards(
    paths: Sequence[Path], *, fmt: InputFormat = InputFormat(), label: int | None = None
) -> list[FileShard]:
    return [FileShard(path, fmt, label) for path in files(paths)]


def read_rows(shard: Shard, *, strict: bool) -> Iterator[Row | MalformedRow]:
    """``shard.rows()``, a bad row raising (with the shard's name) when ``strict``."""
    for row in shard.rows():
        if strict and isinstance(row, MalformedRow):
            raise MalformedRow(row.line, f"{row.reason} (in {shard.name}; --strict makes bad rows fatal)")
        yield row
