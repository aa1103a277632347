"""The one event -> verdict core: raw messages in, for each its scored records or why not.

``logsentry score`` and the stream differ only in where verdicts go (JSON lines; alerts and
dead letters). Both call :func:`judge`, which decodes each message in the input format
(:mod:`model_store.formats`), cleans every record with the model's own cleanup and scores
all of a batch's records in one :meth:`Detector.score_texts` call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from model_store.decode import INVALID_EVENT, DecodeLimits
from model_store.errors import InvalidEvent, InvalidMessage
from model_store.formats import Decoded, InputFormat, Record, decode_message
from model_store.preprocessing import clean


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
    inference_seconds: float

    @property
    def scores(self) -> np.ndarray:
        return np.asarray([r.score for v in self.verdicts for r in v.records], dtype=np.float32)


def judge(
    values: Sequence[bytes | None],
    scorer: Scorer,
    fmt: InputFormat = InputFormat(),
    limits: DecodeLimits = DecodeLimits(),
) -> Judgement:
    """Decode, clean and score ``values`` as one batch; one :class:`Verdict` per value, in order."""
    cleanup = scorer.preprocessing.cleanup
    decoded: list[
        tuple[Decoded | None, InvalidMessage | None, list[tuple[int, Record]], list[tuple[int, InvalidMessage]]]
    ] = []
    texts: list[str] = []
    for value in values:
        try:
            message = decode_message(value, fmt, limits)
        except InvalidMessage as exc:
            decoded.append((None, exc, [], []))
            continue
        good: list[tuple[int, Record]] = []
        bad: list[tuple[int, InvalidMessage]] = []
        for index, record in enumerate(message.records):
            if isinstance(record, InvalidMessage):
                bad.append((index, record))
                continue
            try:
                text = clean(record, cleanup)
            except InvalidEvent as exc:
                bad.append((index, InvalidMessage(INVALID_EVENT, str(exc))))
                continue
            texts.append(text)
            good.append((index, record))
        if not good and len(bad) == 1 and len(message.records) == 1:
            decoded.append((message, bad[0][1], [], []))  # a one-record message: refuse the message
        else:
            decoded.append((message, None, good, bad))
    started = time.perf_counter()
    scores = scorer.score_texts(texts)
    seconds = time.perf_counter() - started
    threshold = scorer.threshold
    verdicts: list[Verdict] = []
    position = 0
    for maybe, error, good, bad in decoded:
        if error is not None or maybe is None:
            verdicts.append(Verdict(maybe.format if maybe else None, error=error))
            continue
        message = maybe
        scored = []
        for index, record in good:
            score = float(scores[position])
            position += 1
            scored.append(RecordVerdict(index, record, score, score >= threshold))
        if not scored and bad:
            verdicts.append(Verdict(message.format, refused=tuple(bad), error=bad[0][1], label=message.label))
        else:
            verdicts.append(Verdict(message.format, tuple(scored), tuple(bad), label=message.label))
    return Judgement(verdicts, seconds)
