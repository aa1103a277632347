"""The stream loop: poll a micro-batch, score it, publish, and only then commit.

Delivery is at-least-once by construction. A partition's offset is committed only after
every alert and dead letter of the batch was acknowledged by the broker (``acks=all``). If
publishing fails, nothing is committed, the consumer is rewound to the batch's first
offsets and the batch is processed again after a backoff; no event is skipped. A crash
between publish and commit re-publishes at most that one batch (bounded duplicates).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from kafka.errors import KafkaError

from logsentry.model_store.errors import PublishError
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.processor import BatchOutcome, TopicPartition, process_batch
from logsentry.stream.records import Message, Outgoing
from logsentry.stream.reload import ModelWatcher
from logsentry.stream.settings import StreamSettings

log = logging.getLogger(__name__)


class Source(Protocol):
    def poll_batch(self, max_records: int, wait_ms: int) -> list[Message]: ...
    def release(self) -> None: ...
    def commit(self, offsets: dict[TopicPartition, int]) -> None: ...
    def rewind(self, offsets: dict[TopicPartition, int]) -> None: ...
    def lag(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]: ...
    def assigned(self) -> int: ...
    def stalled(self) -> bool: ...
    def restart(self) -> None: ...


class Sink(Protocol):
    def publish(self, records: Sequence[Outgoing]) -> None: ...


class StreamRunner:
    def __init__(
        self,
        source: Source,
        sink: Sink,
        watcher: ModelWatcher,
        metrics: StreamMetrics,
        settings: StreamSettings,
        *,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.source = source
        self.sink = sink
        self.watcher = watcher
        self.metrics = metrics
        self.alert_topic = settings.alert_topic
        self.dead_letter_topic = settings.dead_letter_topic
        self.verdict_topic = settings.verdict_topic
        self.limits = settings.limits
        self.input_format = settings.input_format
        self.max_batch_size = settings.batch_size
        self.batch_size = settings.batch_size  # shrinks while batches are slow, see _adapt
        # a member that does not poll within max_poll_interval_ms is put out of the group
        self.slow_batch_s = settings.max_poll_interval_ms / 1000 / 2
        self.batch_wait_ms = settings.batch_wait_ms
        self.max_backoff_s = max_backoff_s
        self.stop_event = threading.Event()
        self.last_loop = time.monotonic()
        self._failures = 0

    # -- one batch ----------------------------------------------------------------------------
    def step(self) -> int:
        """Poll and handle one micro-batch; return how many messages it held."""
        self.last_loop = time.monotonic()
        if self.source.stalled():
            self.metrics.consumer_restarts.inc()
            log.error("consumer group rebalance did not complete; rejoining as a new member")
            self.source.restart()
        self.watcher.swap()
        batch = self.source.poll_batch(self.batch_size, self.batch_wait_ms)
        self.metrics.assigned.set(self.source.assigned())
        if not batch:
            return 0
        if self.handle(batch):
            self._failures = 0
        else:
            self._backoff()
        return len(batch)

    def handle(self, batch: list[Message]) -> bool:
        """Score, publish and commit ``batch``; on a publish failure rewind and return False."""
        started = time.perf_counter()
        try:
            detector = self.watcher.detector
            outcome = process_batch(
                batch,
                detector,
                alert_topic=self.alert_topic,
                dead_letter_topic=self.dead_letter_topic,
                verdict_topic=self.verdict_topic,
                input_format=self.input_format,
                limits=self.limits,
            )
            try:
                self.sink.publish(outcome.outgoing)
            except PublishError as exc:
                self.metrics.publish_failures.inc()
                log.error(
                    "publish failed; batch not committed, will retry messages=%d partitions=%s error=%s",
                    len(batch), sorted(outcome.first_offsets), exc,
                )  # fmt: skip
                self.source.rewind(outcome.first_offsets)
                self.metrics.batch_retries.inc()
                return False
            published_at = time.time()
            try:
                self.source.commit(outcome.commit_offsets)
            except KafkaError as exc:
                # the group moved on (rebalance): the new owner re-reads from the last commit
                self.metrics.commit_failures.inc()
                log.warning("commit failed offsets=%s error=%r", outcome.commit_offsets, exc)
            self.consumed(batch)
            seconds = time.perf_counter() - started
            self._record(outcome, published_at, seconds)
            self._adapt(len(batch), seconds)
            return True
        finally:
            self.source.release()

    def _record(self, outcome: BatchOutcome, published_at: float, seconds: float) -> None:
        m = self.metrics
        m.batch_size.observe(outcome.consumed)
        m.inference.observe(outcome.inference_seconds)
        m.batch_duration.observe(seconds)
        m.scored.inc(len(outcome.scores))
        m.flagged.inc(len(outcome.alerts))
        m.alerts_published.inc(len(outcome.alerts))
        m.verdicts_published.inc(len(outcome.verdicts))
        for reason, n in outcome.dead_letter_reasons.items():
            m.dead_letters.labels(reason).inc(n)
        for (topic, fmt), n in outcome.formats.items():
            m.input_formats.labels(topic, fmt).inc(n)
        for score in outcome.scores:
            m.score.observe(float(score))
        for ts in outcome.alert_timestamps_ms:
            if ts >= 0:
                m.alert_latency.observe(max(0.0, published_at - ts / 1000))
        for ts in outcome.scored_timestamps_ms:
            if ts >= 0:
                m.event_latency.observe(max(0.0, published_at - ts / 1000))
        m.last_processed.set(published_at)
        for (topic, partition), lag in self.source.lag(outcome.commit_offsets).items():
            m.lag.labels(topic, str(partition)).set(lag)

    def _adapt(self, size: int, seconds: float) -> None:
        """Keep one batch well inside the poll interval: halve when slow, grow back when fast."""
        if seconds > self.slow_batch_s and self.batch_size > 1:
            self.batch_size = max(1, min(self.batch_size, size) // 2)
            log.warning(
                "slow batch seconds=%.1f limit=%.1f: batch size now %d", seconds, self.slow_batch_s, self.batch_size
            )
        elif seconds < self.slow_batch_s / 4 and size >= self.batch_size and self.batch_size < self.max_batch_size:
            self.batch_size = min(self.max_batch_size, self.batch_size * 2)
        self.metrics.batch_limit.set(self.batch_size)

    def consumed(self, batch: Sequence[Message]) -> None:
        for topic, n in Counter(message.topic for message in batch).items():
            self.metrics.consumed.labels(topic).inc(n)

    def _backoff(self) -> None:
        self._failures += 1
        delay = min(self.max_backoff_s, 0.5 * 2 ** (self._failures - 1))
        log.info("backing off seconds=%.1f consecutive_failures=%d", delay, self._failures)
        self.stop_event.wait(delay)

    # -- the loop -----------------------------------------------------------------------------
    def healthy(self) -> tuple[bool, str]:
        stalled = time.monotonic() - self.last_loop
        limit = max(60.0, self.max_backoff_s * 2 + self.batch_wait_ms / 1000)
        if stalled > limit:
            return False, f"stream loop stalled for {stalled:.0f}s"
        return True, f"ok model={self.watcher.detector.version}"

    def run(self) -> None:
        """Loop until ``stop_event``; broker trouble is retried with backoff, never fatal."""
        self.metrics.up.set(1)
        try:
            while not self.stop_event.is_set():
                try:
                    self.step()
                except KafkaError as exc:
                    self.metrics.poll_failures.inc()
                    log.warning("kafka error while polling; retrying error=%r", exc)
                    self._backoff()
        finally:
            self.metrics.up.set(0)
