"""The one event -> verdict core: raw messages in, for each its scored records or why not.

``logsentry score`` and the stream differ only in where verdicts go (JSON lines; alerts and
dead letters). Both call :func:`judge`, which decodes each message in the input format
(:mod:`model_store.formats`), cleans every record with the model's own cleanup and scores
all of a batch's records in one :meth:`Detector.score_texts` call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from logsentry.model_store.decode import INVALID_EVENT, DecodeLimits
from logsentry.model_store.errors import InvalidEvent, InvalidMessage
from logsentry.model_store.formats import InputFormat, Record, decode_message
from logsentry.model_store.preprocessing import clean


class Scorer(Protocol):
    version: str
    threshold: float
    preprocessing: Any

    def score_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class RecordVerdict:
    index: int  # position of the record within its message
    record: Record
    score: float
    flagged: bool


@dataclass(frozen=True)
class Verdict:
    """What became of one message: scored records, refused records, or the whole refused."""

    format: str | None
    records: tuple[RecordVerdict, ...] = ()
    refused: tuple[tuple[int, InvalidMessage], ...] = ()
    error: InvalidMessage | None = None
    label: int | None = None

    @property
    def record_count(self) -> int:
        return len(self.records) + len(self.refused)


@dataclass(frozen=True)
class Judgement:
    verdicts: list[Verdict]
    scores: np.ndarray  # every scored record's score, in verdict order
    inference_seconds: float


@dataclass
class _Read:
    """One message after decoding and cleanup, before scoring."""

    format: str | None
    label: int | None = None
    good: list[tuple[int, Record]] = field(default_factory=list)
    refused: list[tuple[int, InvalidMessage]] = field(default_factory=list)
    error: InvalidMessage | None = None


def _read(value: bytes | None, fmt: InputFormat, limits: DecodeLimits, cleanup: Any, texts: list[str]) -> _Read:
    """Decode and clean one message; its records' texts are appended to ``texts``."""
    try:
        message = decode_message(value, fmt, limits)
    except InvalidMessage as exc:
        return _Read(None, error=exc)
    read = _Read(message.format, message.label)
    for index, record in enumerate(message.records):
        if isinstance(record, InvalidMessage):
            read.refused.append((index, record))
            continue
        try:
            texts.append(clean(record, cleanup))
        except InvalidEvent as exc:
            read.refused.append((index, InvalidMessage(INVALID_EVENT, str(exc))))
            continue
        read.good.append((index, record))
    if not read.good:  # nothing to score: the message is refused as a whole
        read.error = read.refused[0][1] if read.refused else InvalidMessage(INVALID_EVENT, "no request record")
        if len(message.records) == 1:
            read.refused = []
    return read


def judge(
    values: Sequence[bytes | None],
    scorer: Scorer,
    fmt: InputFormat = InputFormat(),
    limits: DecodeLimits = DecodeLimits(),
) -> Judgement:
    """Decode, clean and score ``values`` as one batch; one :class:`Verdict` per value, in order.

    A multi-record message lists its refused records in ``refused`` beside the scored ones;
    a message none of whose records can be scored has ``error`` set.
    """
    texts: list[str] = []
    reads = [_read(value, fmt, limits, scorer.preprocessing.cleanup, texts) for value in values]
    started = time.perf_counter()
    scores = scorer.score_texts(texts)
    seconds = time.perf_counter() - started
    verdicts: list[Verdict] = []
    position = 0
    for read in reads:
        records = []
        for index, record in read.good:
            score = float(scores[position])
            position += 1
            records.append(RecordVerdict(index, record, score, score >= scorer.threshold))
        verdicts.append(Verdict(read.format, tuple(records), tuple(read.refused), read.error, read.label))
    return Judgement(verdicts, np.asarray(scores, dtype=np.float32), seconds)
