"""The stream loop: poll a micro-batch, score it, publish, and only then commit.

Delivery is at-least-once by construction. A partition's offset is committed only after
every alert, verdict and dead letter of the batch was acknowledged by the broker
(``acks=all``). If publishing fails, nothing is committed, the consumer is rewound to the
batch's first offsets and the batch is processed again after a backoff; no event is skipped.

The loop is pipelined: while the broker acknowledges batch N, batch N+1 is decoded and
scored (the model runs outside the GIL; the producer sends from its own thread). In order::

    poll N+1  ->  send N  ->  score N+1  ->  wait for N's acks  ->  commit N

N is sent only after N+1 was polled, so nothing is in flight while the consumer polls (a
rebalance that runs inside the poll never waits on the loop), and N+1 is sent only after
N was committed: per partition, commits stay in order, and at most one batch is published
and not yet committed at any time. A commit that fails for a retriable reason (the
coordinator is away: a broker restart) is retried before anything else is sent; one the
group refuses (the partitions moved to another member) is dropped, and the new owner
re-reads from the last commit. So any one fault -- a crash of this process, a broker
failure, a rebalance -- re-publishes at most that one batch (bounded duplicates, as
without the pipeline). The producer is idempotent: its own retries write nothing twice.
Partitions revoked from a scored, unsent batch are left out of it (see
:class:`consumer.KafkaSource`). ``pipelined=False`` runs each batch to its commit before
the next poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from kafka.errors import KafkaError

from logsentry.errors import PublishError
from logsentry.model_store.judge.rules import NO_RULES
from logsentry.stream.explain_budget import ExplainBudget
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.processor import BatchOutcome, process_batch
from logsentry.stream.records import Message, Outgoing, TopicPartition
from logsentry.stream.reload import ModelWatcher
from logsentry.stream.rules_watch import RulesWatcher
from logsentry.stream.settings import StreamSettings

log = logging.getLogger(__name__)


class Source(Protocol):
    def poll_batch(self, max_records: int, wait_ms: int, *, idle: bool = True) -> list[Message]: ...
    def begin_send(self) -> set[TopicPartition]: ...
    def release(self) -> None: ...
    def discard_unsent(self) -> None: ...
    def commit(self, offsets: dict[TopicPartition, int]) -> None: ...
    def rewind(self, offsets: dict[TopicPartition, int]) -> None: ...
    def lag(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]: ...
    def assigned(self) -> int: ...
    def assignment(self) -> set[TopicPartition]: ...
    def stalled(self) -> bool: ...
    def restart(self) -> None: ...


class Delivery(Protocol):
    def wait(self) -> None: ...


class Sink(Protocol):
    def send(self, records: Sequence[Outgoing]) -> Delivery: ...


@dataclass
class _Batch:
    """A polled batch and what scoring made of it; ``delivery`` once its records were sent."""

    messages: list[Message]
    outcome: BatchOutcome
    started: float  # perf_counter when it was polled
    delivery: Delivery | None = None


def _earliest(*offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    out: dict[TopicPartition, int] = {}
    for part in offsets:
        for tp, offset in part.items():
            out[tp] = min(out.get(tp, offset), offset)
    return out


_ALERTS = "alerts and dead letters not acknowledged, offsets held"
_OFFSETS = "offsets not committed"


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
        rules: RulesWatcher | None = None,
    ) -> None:
        self.source = source
        self.rules = rules
        self.sink = sink
        self.watcher = watcher
        self.metrics = metrics
        self.alert_topic = settings.alert_topic
        self.dead_letter_topic = settings.dead_letter_topic
        self.verdict_topic = settings.verdict_topic
        self.suppressed_topic = settings.suppressed_topic
        self.shadow_topic = settings.shadow_topic
        self.limits = settings.limits
        self.input_format = settings.input_format
        self.pipelined = settings.pipelined
        self.explain = settings.explain
        self.explain_budget = ExplainBudget(settings.explain_budget)
        self.max_batch_size = settings.batch_size
        self.batch_size = settings.batch_size  # shrinks while batches are slow, see _adapt
        # a member that does not poll within max_poll_interval_ms is put out of the group
        self.slow_batch_s = settings.max_poll_interval_ms / 1000 / 2
        self.batch_wait_ms = settings.batch_wait_ms
        self.stall_after_s = settings.stall_after_s
        self.max_backoff_s = max_backoff_s
        self.stop_event = threading.Event()
        self.last_loop = time.monotonic()
        self._failures = 0
        self._ready: _Batch | None = None  # scored, not sent yet (pipelined)
        self._uncommitted: dict[TopicPartition, int] = {}  # published; the commit failed and is retried
        self._blocked: dict[str, tuple[float, str]] = {}  # what cannot go out (alerts, offsets): since, why

    # -- one step -----------------------------------------------------------------------------
    def step(self) -> int:
        """Poll one micro-batch and move the pipeline on; return how many messages were polled."""
        self.last_loop = time.monotonic()
        if self.source.stalled():
            self.metrics.consumer_restarts.inc()
            log.error("consumer group rebalance did not complete; rejoining as a new member")
            self._ready = None  # uncommitted: the group hands its messages out again
            self.source.restart()
        if self._uncommitted and not self._commit({}):
            self._backoff()  # nothing more is sent while a published batch waits for its commit
            return 0
        self.watcher.swap()
        if self.rules is not None:
            self.rules.swap()
        ready, self._ready = self._ready, None
        # with a scored batch waiting, take what is already fetched: its alerts go out now
        try:
            if ready is None:
                messages = self.source.poll_batch(self.batch_size, self.batch_wait_ms)
            else:
                messages = self.source.poll_batch(self.batch_size, 0, idle=False)
        except BaseException:
            self._ready = ready  # still scored and unsent: the next step sends it
            raise
        self.metrics.assigned.set(self.source.assigned())
        if ready is not None:
            self._send(ready)
        polled = self._score(messages, time.perf_counter()) if messages else None
        if ready is not None and not self._finish(ready, polled):
            self._backoff()
            return len(messages)
        if polled is not None:
            if self.pipelined:
                self._ready = polled
            else:
                self._send(polled)
                if not self._finish(polled, None):
                    self._backoff()
                    return len(messages)
        self._failures = 0
        return len(messages)

    def drain(self) -> None:
        """Send and commit the scored batch still waiting (on a graceful stop)."""
        ready, self._ready = self._ready, None
        if self._uncommitted and not self._commit({}):
            return  # not sent: the next owner reads it from the last commit
        if ready is not None:
            self._send(ready)
            self._finish(ready, None)

    def _score(self, messages: list[Message], started: float) -> _Batch:
        limit = self.explain_budget.allowance(time.monotonic()) if self.explain else 0
        shadow = self.watcher.shadow
        # a full batch means more is waiting: the shadow's second scoring is shed until the stream
        # catches up (its comparison is a sample; verdicts, alerts and dead letters never are)
        behind = shadow is not None and self._full(messages)
        outcome = process_batch(
            messages,
            self.watcher.detector,
            alert_topic=self.alert_topic,
            dead_letter_topic=self.dead_letter_topic,
            verdict_topic=self.verdict_topic,
            input_format=self.input_format,
            limits=self.limits,
            explained=self.explain,
            explain_limit=limit,
            rules=self.rules.rules if self.rules is not None else NO_RULES,
            suppressed_topic=self.suppressed_topic,
            shadow=None if behind else shadow,
            shadow_topic=self.shadow_topic,
        )
        self.explain_budget.spent(outcome.explained, outcome.explain_seconds)
        outcome.shadow_shed = len(outcome.scores) if behind else 0
        return _Batch(messages, outcome, started)

    def _full(self, messages: list[Message]) -> bool:
        """The batch reached its count or its bytes: the source had more than a batch waiting."""
        return len(messages) >= self.batch_size or sum(len(m.value or b"") for m in messages) >= self.limits.batch_bytes

    def _send(self, batch: _Batch) -> None:
        lost = self.source.begin_send()
        if lost:  # revoked while it waited: those messages belong to their new owner now
            kept = [m for m in batch.messages if (m.topic, m.partition) not in lost]
            log.info(
                "left out of a scored batch: revoked partitions=%s messages=%d",
                sorted(lost),
                len(batch.messages) - len(kept),
            )
            batch.messages = kept
            batch.outcome = self._score(kept, batch.started).outcome
        batch.delivery = self.sink.send(batch.outcome.outgoing)

    def _finish(self, batch: _Batch, following: _Batch | None) -> bool:
        """Wait for ``batch``'s acknowledgements, then commit it; on a publish failure rewind it
        (and ``following``, scored but not sent) and return False."""
        outcome = batch.outcome
        try:
            assert batch.delivery is not None
            try:
                batch.delivery.wait()
            except PublishError as exc:
                self._blocked.setdefault(_ALERTS, (time.monotonic(), str(exc)))
                self.metrics.publish_failures.inc()
                log.error(
                    "publish failed; batch not committed, will retry messages=%d partitions=%s error=%s",
                    len(batch.messages),
                    sorted(outcome.first_offsets),
                    exc,
                )
                self.source.discard_unsent()
                self.source.rewind(
                    _earliest(outcome.first_offsets, following.outcome.first_offsets if following else {})
                )
                self.metrics.batch_retries.inc()
                return False
            self._blocked.pop(_ALERTS, None)
            published_at = time.time()
            self._commit(outcome.commit_offsets)
            self.consumed(batch.messages)
            seconds = time.perf_counter() - batch.started
            self._record(outcome, published_at, seconds)
            self._adapt(len(batch.messages), seconds)
            return True
        finally:
            self.source.release()

    def _commit(self, offsets: dict[TopicPartition, int]) -> bool:
        """Commit ``offsets`` with those a failed commit left; False while some stay uncommitted.

        A retriable failure keeps them for the next step, which sends nothing before they are
        committed. A refusal (the group moved on) or a partition no longer assigned here drops
        them: the new owner re-reads from the last commit, which re-publishes that one batch.
        """
        pending = _latest(self._uncommitted, offsets)
        if self._uncommitted:
            owned = self.source.assignment()
            pending = {tp: offset for tp, offset in pending.items() if tp in owned}
        self._uncommitted = {}
        try:
            if pending:
                self.source.commit(pending)
        except KafkaError as exc:
            self.metrics.commit_failures.inc()
            if getattr(exc, "retriable", False):
                self._blocked.setdefault(_OFFSETS, (time.monotonic(), repr(exc)))
                self._uncommitted = pending
                log.warning("commit failed, retried before the next batch is sent offsets=%s error=%r", pending, exc)
                return False
            log.warning("commit refused: the group moved on, the new owner re-reads offsets=%s error=%r", pending, exc)
        self._blocked.pop(_OFFSETS, None)  # committed, or dropped for the new owner: nothing held here
        return True

    def _record(self, outcome: BatchOutcome, published_at: float, seconds: float) -> None:
        m = self.metrics
        m.batch_size.observe(outcome.consumed)
        m.inference.observe(outcome.inference_seconds)
        if outcome.alerts and self.explain:
            m.explain.observe(outcome.explain_seconds)
            m.explanations_skipped.inc(outcome.explanations_skipped)
        m.shedding.labels("explanations").set(1 if outcome.explanations_skipped else 0)
        m.shedding.labels("shadow").set(1 if outcome.shadow_shed else 0)
        m.shadow_skipped.inc(outcome.shadow_shed)
        m.batch_duration.observe(seconds)
        m.scored.inc(len(outcome.scores))
        m.flagged.inc(len(outcome.alerts))
        m.alerts_published.inc(len(outcome.alerts))
        m.verdicts_published.inc(len(outcome.verdicts))
        for outcome_name, n in outcome.shadow.items():
            m.shadow_records.labels(outcome_name).inc(n)
        if outcome.suppressed and self.rules is not None:
            self.rules.matched(outcome.suppressed)
        for reason, n in outcome.dead_letter_reasons.items():
            m.dead_letters.labels(reason).inc(n)
        for (topic, fmt), n in outcome.formats.items():
            m.input_formats.labels(topic, fmt).inc(n)
        m.score.observe_many(outcome.scores)
        m.alert_latency.observe_many(_latencies(outcome.alert_timestamps_ms, published_at))
        m.event_latency.observe_many(_latencies(outcome.scored_timestamps_ms, published_at))
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
    def alive(self) -> tuple[bool, str]:
        """Liveness: the loop comes round (broker trouble is waited out inside it)."""
        stalled = time.monotonic() - self.last_loop
        limit = max(self.stall_after_s, self.max_backoff_s * 2 + self.batch_wait_ms / 1000)
        if stalled > limit:
            return False, f"stream loop stalled for {stalled:.0f}s"
        return True, f"ok model={self.watcher.detector.version}"

    def healthy(self) -> tuple[bool, str]:
        """Health: alive, and what it publishes and commits goes out. While the broker refuses
        alerts (say, fewer in-sync replicas than the topic's min.insync.replicas) or offset
        commits, nothing is lost — offsets stay where they are — but nothing is delivered either."""
        ok, detail = self.alive()
        if not ok or not self._blocked:
            return ok, detail
        now = time.monotonic()
        return False, "; ".join(f"{what} for {now - since:.0f}s: {why}" for what, (since, why) in self._blocked.items())

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
            self.drain()
        finally:
            self.metrics.up.set(0)


def _latest(*offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    out: dict[TopicPartition, int] = {}
    for part in offsets:
        for tp, offset in part.items():
            out[tp] = max(out.get(tp, offset), offset)
    return out


def _latencies(timestamps_ms: list[int], now_s: float) -> np.ndarray:
    """Seconds from each Kafka timestamp (``-1``: none) to ``now_s``, never negative."""
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    return np.maximum(0.0, now_s - ts[ts >= 0] / 1000)
