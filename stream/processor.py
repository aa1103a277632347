"""The pure core of the stream: a batch of messages in, alerts, dead letters and offsets out.

No Kafka here. The scoring goes through :class:`model_store.scoring.Detector`, the same
object ``logsentry score`` uses, one call per batch.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from model_store.errors import InvalidEvent, InvalidMessage
from model_store.preprocessing import clean
from stream.decode import INVALID_EVENT, DecodeLimits, decode_event
from stream.records import Message, Outgoing, alert_record, dead_letter_record

TopicPartition = tuple[str, int]


class Scorer(Protocol):
    version: str
    threshold: float
    preprocessing: Any

    def score_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class BatchOutcome:
    alerts: list[Outgoing] = field(default_factory=list)
    dead_letters: list[Outgoing] = field(default_factory=list)
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    alert_timestamps_ms: list[int] = field(default_factory=list)
    scored_timestamps_ms: list[int] = field(default_factory=list)
    commit_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to read
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # where a retry restarts
    inference_seconds: float = 0.0
    consumed: int = 0

    @property
    def outgoing(self) -> list[Outgoing]:
        return self.alerts + self.dead_letters


def offsets_of(messages: Sequence[Message]) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first offset, last offset + 1) of each partition in ``messages``."""
    first: dict[TopicPartition, int] = {}
    after: dict[TopicPartition, int] = {}
    for m in messages:
        tp = (m.topic, m.partition)
        first[tp] = min(first.get(tp, m.offset), m.offset)
        after[tp] = max(after.get(tp, 0), m.offset + 1)
    return first, after


def process_batch(
    messages: Sequence[Message],
    scorer: Scorer,
    *,
    alert_topic: str,
    dead_letter_topic: str,
    limits: DecodeLimits = DecodeLimits(),
    now_ms: float | None = None,
) -> BatchOutcome:
    now = time.time() * 1000 if now_ms is None else now_ms
    out = BatchOutcome(consumed=len(messages))
    out.first_offsets, out.commit_offsets = offsets_of(messages)
    kept: list[tuple[Message, dict[str, Any]]] = []
    texts: list[str] = []
    cleanup = scorer.preprocessing.cleanup
    for message in messages:
        try:
            event = decode_event(message.value, limits)
            texts.append(clean(event, cleanup))
        except InvalidMessage as exc:
            out.dead_letters.append(dead_letter_record(dead_letter_topic, message, exc.reason, exc.detail, now))
            out.dead_letter_reasons[exc.reason] += 1
            continue
        except InvalidEvent as exc:
            out.dead_letters.append(dead_letter_record(dead_letter_topic, message, INVALID_EVENT, str(exc), now))
            out.dead_letter_reasons[INVALID_EVENT] += 1
            continue
        kept.append((message, event))
    started = time.perf_counter()
    out.scores = scorer.score_texts(texts)
    out.inference_seconds = time.perf_counter() - started
    for (message, event), score in zip(kept, out.scores, strict=True):
        out.scored_timestamps_ms.append(message.timestamp_ms)
        if score >= scorer.threshold:
            out.alerts.append(
                alert_record(alert_topic, message, event, float(score), scorer.threshold, scorer.version, now)
            )
            out.alert_timestamps_ms.append(message.timestamp_ms)
    return out
