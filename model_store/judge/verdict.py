"""The one event -> verdict core: raw messages in, for each its scored records or why not.

``logsentry score`` and the stream differ only in where verdicts go (JSON lines; alerts and
dead letters). Both call :func:`judge`, which decodes each message in the input format
(:mod:`model_store.ingest.formats`), cleans every record with the model's own cleanup and scores
all of a batch's records in one :meth:`Detector.score_texts` call.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import numpy as np

from logsentry.errors import InvalidEvent, InvalidMessage
from logsentry.model_store.ingest.decode import INVALID_EVENT, DecodeLimits
from logsentry.model_store.ingest.formats import InputFormat, Record, decode_message
from logsentry.model_store.judge.explain import Span, explain
from logsentry.model_store.judge.rules import NO_RULES, Rules
from logsentry.model_store.model.preprocessing import clean

T = TypeVar("T")


def batches(items: Iterable[T], count: int, max_bytes: int, *, size: Callable[[T], int]) -> Iterator[list[T]]:
    """``items`` in order, in batches of at most ``count`` items and ``max_bytes`` bytes (by
    ``size``); an item larger than ``max_bytes`` alone is a batch of its own. What a batch
    holds in memory follows its bytes, so a batch of large messages is a short one."""
    batch: list[T] = []
    held = 0
    for item in items:
        n = size(item)
        if batch and (len(batch) >= count or held + n > max_bytes):
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += n
    if batch:
        yield batch


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
    flagged: bool  # score >= threshold
    threshold: float  # the model's, or its route's (model_store/judge/rules.py)
    suppressed_by: str | None = None  # a suppression rule's name: flagged, but no alert
    explanation: tuple[Span, ...] = ()  # alerts, when asked for: what drove the score
    explanation_skipped: str | None = None  # "budget": an alert left unexplained by the stream's budget

    @property
    def alert(self) -> bool:
        return self.flagged and self.suppressed_by is None


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
    explain_seconds: float = 0.0
    explained: int = 0  # alerts explained
    explanations_skipped: int = 0  # alerts beyond ``explain_limit``


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
    *,
    explained: bool = False,
    explain_limit: int | None = None,
    rules: Rules = NO_RULES,
) -> Judgement:
    """Decode, clean and score ``values`` as one batch; one :class:`Verdict` per value, in order.

    A multi-record message lists its refused records in ``refused`` beside the scored ones;
    a message none of whose records can be scored has ``error`` set. ``rules`` set each
    record's threshold (per route) and suppressions (:mod:`model_store.judge.rules`). With
    ``explained``, every alert carries its explanation (:mod:`model_store.judge.explain`), or the
    first ``explain_limit`` alerts do and the others say ``explanation_skipped="budget"``.
    """
    texts: list[str] = []
    reads = [_read(value, fmt, limits, scorer.preprocessing.cleanup, texts) for value in values]
    today = dt.datetime.now(dt.UTC).date()
    started = time.perf_counter()
    scores = scorer.score_texts(texts)
    seconds = time.perf_counter() - started
    verdicts: list[Verdict] = []
    position = 0
    for read in reads:
        records = []
        for index, record in read.good:
            records.append(_verdict(index, record, float(scores[position]), scorer.threshold, rules, today))
            position += 1
        verdicts.append(Verdict(read.format, tuple(records), tuple(read.refused), read.error, read.label))
    explain_seconds, done, skipped = 0.0, 0, 0
    if explained:
        started = time.perf_counter()
        verdicts, done, skipped = _explained(verdicts, scorer, explain_limit)
        explain_seconds = time.perf_counter() - started
    return Judgement(verdicts, np.asarray(scores, dtype=np.float32), seconds, explain_seconds, done, skipped)


def _verdict(index: int, record: Record, score: float, threshold: float, rules: Rules, today: dt.date) -> RecordVerdict:
    """One scored record's verdict: its route's threshold (else the model's), then suppressions."""
    if rules.thresholds:
        threshold = rules.threshold(record, threshold)
    flagged = score >= threshold
    suppressed = rules.suppressed_by(record, today) if flagged and rules.suppressions else None
    return RecordVerdict(index, record, score, flagged, threshold, suppressed)


def rejudge(records: Sequence[RecordVerdict], scorer: Scorer, rules: Rules = NO_RULES) -> list[RecordVerdict | None]:
    """The same, already decoded records judged by another ``scorer`` (a shadow candidate) through
    its own cleanup, in one model call; None where its cleanup refuses a record."""
    texts: list[str] = []
    kept: list[int] = []
    for position, verdict in enumerate(records):
        try:
            texts.append(clean(verdict.record, scorer.preprocessing.cleanup))
        except InvalidEvent:
            continue
        kept.append(position)
    scores = scorer.score_texts(texts)
    today = dt.datetime.now(dt.UTC).date()
    out: list[RecordVerdict | None] = [None] * len(records)
    for position, score in zip(kept, scores.tolist(), strict=True):
        r = records[position]
        out[position] = _verdict(r.index, r.record, float(score), scorer.threshold, rules, today)
    return out


def _explained(verdicts: list[Verdict], scorer: Scorer, limit: int | None) -> tuple[list[Verdict], int, int]:
    """``verdicts`` with the first ``limit`` alerts explained (all when None), in one batched
    explanation; the alerts beyond it marked ``explanation_skipped="budget"``. With how many
    were explained and skipped."""
    alerts = [r for v in verdicts for r in v.records if r.alert]
    if not alerts:
        return verdicts, 0, 0
    chosen = alerts if limit is None else alerts[: max(0, limit)]
    explained = dict(
        zip(
            map(id, chosen),
            explain(scorer, [r.record for r in chosen], [r.score for r in chosen], [r.threshold for r in chosen]),
            strict=True,
        )
    )

    def done(r: RecordVerdict) -> RecordVerdict:
        if not r.alert:
            return r
        spans = explained.get(id(r))
        return replace(r, explanation=spans) if spans is not None else replace(r, explanation_skipped="budget")

    out = [
        replace(v, records=tuple(done(r) for r in v.records)) if any(r.alert for r in v.records) else v
        for v in verdicts  # most verdicts: nothing to explain, nothing to copy
    ]
    return out, len(chosen), len(alerts) - len(chosen)
