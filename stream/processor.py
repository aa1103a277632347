"""The pure core of the stream: a batch of messages in; alerts, verdicts, suppressed alerts, dead
letters, shadow records and offsets out.

No Kafka here. Decoding and scoring are :func:`model_store.judge.verdict.judge`, the same core
``logsentry score`` runs, one model call per batch; this module only turns its verdicts into
records to publish. A message whose records are all refused is dead-lettered with the
reason; a multi-record message (OTLP) with some records refused is dead-lettered once, with
the refused records' indexes in a header, while its good records are scored.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from logsentry.model_store.ingest.decode import DecodeLimits
from logsentry.model_store.ingest.formats import InputFormat
from logsentry.model_store.judge.rules import NO_RULES, Rules
from logsentry.model_store.judge.verdict import RecordVerdict, Scorer, Verdict, judge, rejudge
from logsentry.stream.records import (
    Message,
    Outgoing,
    TopicPartition,
    alert_record,
    dead_letter_record,
    offsets_of,
    shadow_record,
    shadow_summary_record,
    verdict_record,
)

__all__ = ["BatchOutcome", "Scorer", "TopicPartition", "offsets_of", "process_batch"]


@dataclass
class BatchOutcome:
    alerts: list[Outgoing] = field(default_factory=list)
    dead_letters: list[Outgoing] = field(default_factory=list)
    verdicts: list[Outgoing] = field(default_factory=list)
    suppressed_records: list[Outgoing] = field(default_factory=list)  # --suppressed-topic
    suppressed: Counter[str] = field(default_factory=Counter)  # rule -> flagged records it kept from alerting
    shadow: Counter[str] = field(default_factory=Counter)  # both / current_only / candidate_only / neither
    shadow_records: list[Outgoing] = field(default_factory=list)  # disagreements and the batch's summary
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    formats: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, detected format) -> messages
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    alert_timestamps_ms: list[int] = field(default_factory=list)
    scored_timestamps_ms: list[int] = field(default_factory=list)
    commit_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to read
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # where a retry restarts
    inference_seconds: float = 0.0
    explain_seconds: float = 0.0
    explained: int = 0  # alerts that carry their explanation
    explanations_skipped: int = 0  # alerts the explanation budget left unexplained
    shadow_shed: int = 0  # records the shadow candidate did not score: the stream was behind
    consumed: int = 0

    @property
    def outgoing(self) -> list[Outgoing]:
        return self.alerts + self.dead_letters + self.verdicts + self.suppressed_records + self.shadow_records


def process_batch(
    messages: Sequence[Message],
    scorer: Scorer,
    *,
    alert_topic: str,
    dead_letter_topic: str,
    verdict_topic: str = "",
    input_format: InputFormat = InputFormat(),
    limits: DecodeLimits = DecodeLimits(),
    now_ms: float | None = None,
    explained: bool = True,
    explain_limit: int | None = None,
    rules: Rules = NO_RULES,
    suppressed_topic: str = "",
    shadow: Scorer | None = None,
    shadow_topic: str = "",
) -> BatchOutcome:
    now = time.time() * 1000 if now_ms is None else now_ms
    out = BatchOutcome(consumed=len(messages))
    out.first_offsets, out.commit_offsets = offsets_of(messages)
    judgement = judge(
        [m.value for m in messages],
        scorer,
        input_format,
        limits,
        explained=explained,
        explain_limit=explain_limit,
        rules=rules,
    )
    out.inference_seconds = judgement.inference_seconds
    out.explain_seconds = judgement.explain_seconds
    out.explained, out.explanations_skipped = judgement.explained, judgement.explanations_skipped
    out.scores = judgement.scores
    for message, verdict in zip(messages, judgement.verdicts, strict=True):
        if verdict.format is not None:
            out.formats[(message.topic, verdict.format)] += 1
        if verdict.error is not None or verdict.refused:
            error = verdict.error or verdict.refused[0][1]
            indexes = [i for i, _ in verdict.refused]
            out.dead_letters.append(
                dead_letter_record(dead_letter_topic, message, error.reason, error.detail, now, records=indexes)
            )
            out.dead_letter_reasons[error.reason] += 1
        for record in verdict.records:
            out.scored_timestamps_ms.append(message.timestamp_ms)
            if not (verdict_topic or record.alert or record.suppressed_by is not None):
                continue  # the unflagged majority: nothing to publish
            _route(
                out,
                message,
                verdict,
                record,
                scorer.version,
                now,
                alert_topic=alert_topic,
                verdict_topic=verdict_topic,
                suppressed_topic=suppressed_topic,
                explained=explained,
            )
    if shadow is not None:
        _compare(out, messages, judgement.verdicts, scorer, shadow, rules, shadow_topic)
    return out


def _route(
    out: BatchOutcome,
    message: Message,
    verdict: Verdict,
    record: RecordVerdict,
    version: str,
    now: float,
    *,
    alert_topic: str,
    verdict_topic: str,
    suppressed_topic: str,
    explained: bool,
) -> None:
    """What one scored record publishes: a verdict (when asked for), a suppressed alert, an alert."""
    if verdict_topic:
        out.verdicts.append(
            verdict_record(
                verdict_topic,
                message,
                record_index=record.index,
                score=record.score,
                threshold=record.threshold,
                version=version,
                flagged=record.flagged,
                input_format=verdict.format or "",
                suppressed_by=record.suppressed_by,
            )
        )
    if not record.alert and record.suppressed_by is None:
        return
    alert = functools.partial(
        alert_record,
        message=message,
        event=record.record,
        score=record.score,
        threshold=record.threshold,
        version=version,
        now_ms=now,
        record_index=record.index,
        input_format=verdict.format or "",
        records_in_message=verdict.record_count,
    )
    if record.suppressed_by is not None:
        out.suppressed[record.suppressed_by] += 1
        if suppressed_topic:
            out.suppressed_records.append(alert(suppressed_topic, suppressed_by=record.suppressed_by))
    if record.alert:
        skipped = record.explanation_skipped if explained else "disabled"
        out.alerts.append(alert(alert_topic, explanation=record.explanation, explanation_skipped=skipped))
        out.alert_timestamps_ms.append(message.timestamp_ms)


def _compare(
    out: BatchOutcome,
    messages: Sequence[Message],
    verdicts: Sequence[Verdict],
    scorer: Scorer,
    shadow: Scorer,
    rules: Rules,
    shadow_topic: str,
) -> None:
    """Score the batch's decoded records with the shadow candidate (its own cleanup, the same
    rules; nothing decoded twice) and count who flags what; records judged differently go
    to ``shadow_topic``. Nothing alerts."""
    pairs = [
        (message, record) for message, verdict in zip(messages, verdicts, strict=True) for record in verdict.records
    ]
    theirs = rejudge([record for _, record in pairs], shadow, rules)
    for (message, record), cand in zip(pairs, theirs, strict=True):
        if cand is None:  # the candidate's cleanup refused it: nothing to compare
            continue
        outcome = (
            ("both" if cand.flagged else "current_only")
            if record.flagged
            else ("candidate_only" if cand.flagged else "neither")
        )
        out.shadow[outcome] += 1
        if shadow_topic and outcome in ("current_only", "candidate_only"):
            out.shadow_records.append(
                shadow_record(
                    shadow_topic,
                    message,
                    record.index,
                    record.record,
                    _judged(scorer.version, record),
                    _judged(shadow.version, cand),
                )
            )
    if shadow_topic and out.shadow:
        out.shadow_records.append(shadow_summary_record(shadow_topic, scorer.version, shadow.version, dict(out.shadow)))


def _judged(version: str, record: RecordVerdict) -> dict[str, object]:
    return {
        "version": version,
        "score": round(record.score, 6),
        "threshold": record.threshold,
        "flagged": record.flagged,
    }
