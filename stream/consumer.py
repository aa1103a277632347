"""The consumer-group member: bounded micro-batches, commits on request, safe rebalances.

kafka-python specifics of consuming live here; the loop (runner.py) sees only its ``Source``
protocol (``poll_batch / begin_send / release / commit / rewind`` and the rebalance checks).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KafkaTopicPartition

from logsentry.model_store.judge.verdict import batches
from logsentry.stream.kafka import clients
from logsentry.stream.kafka.topics import await_topics
from logsentry.stream.records import Message, TopicPartition, offsets_of
from logsentry.stream.settings import KafkaSettings, StreamSettings

log = logging.getLogger(__name__)

DEFAULTS = StreamSettings()  # one place holds every default: the settings

MIN_IDLE_POLL_MS = 1000  # see KafkaSource.poll_batch
COMMIT_TIMEOUT_MS = 10_000  # then the loop retries it (runner.py), staying responsive in an outage


def _size(message: Message) -> int:
    return len(message.value or b"")


def _message(record: Any) -> Message:
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp if record.timestamp is not None else -1,
        key=record.key,
        value=record.value,
        headers=tuple((k, v if v is not None else b"") for k, v in (record.headers or ())),
    )


@dataclass
class _Unsent:
    """A batch handed out whose records are not sent yet: where each partition starts, and
    which partitions were revoked since (their messages must not be sent)."""

    first_offsets: dict[TopicPartition, int]
    lost: set[TopicPartition] = field(default_factory=set)


class _Listener(AsyncConsumerRebalanceListener):
    """Runs on kafka-python's IO thread: it must never block, only await."""

    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: Iterable[Any]) -> None:
        await self.source._on_revoked({(tp.topic, tp.partition) for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        self.source._on_assigned(list(assigned))


class KafkaSource:
    """A consumer-group member that hands out bounded micro-batches and commits on request.

    Rebalances: kafka-python calls the listener on its IO thread. Messages polled but not
    yet handed out for revoked partitions are dropped: unpublished and uncommitted, so a
    new owner reads them from the committed offset. So are the revoked partitions of a batch
    handed out but not yet sent (the pipelined loop holds one while it polls the next):
    :meth:`begin_send` names them and the loop leaves them out. A partition that comes
    straight back to this member keeps its fetch position in kafka-python, so it is rewound
    to the first dropped offset (no loss, no duplicate). A batch whose records were sent is
    waited for, so it is committed before its partitions move; the loop never polls while
    one is in flight, so the wait never waits on the poll that runs it.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Sequence[str],
        group_id: str,
        *,
        max_poll_interval_ms: int = DEFAULTS.max_poll_interval_ms,
        session_timeout_ms: int = DEFAULTS.session_timeout_ms,
        auto_offset_reset: str = DEFAULTS.auto_offset_reset,
        batch_bytes: int = DEFAULTS.batch_bytes,
        client_id: str = "logsentry",
        revoke_wait_s: float = 60.0,
        rebalance_stall_s: float = DEFAULTS.rebalance_stall_s,
    ) -> None:
        self.revoke_wait_s = revoke_wait_s
        self.batch_bytes = batch_bytes
        self.rebalance_stall_s = rebalance_stall_s
        self._lock = threading.Lock()
        self._held: list[Message] = []  # polled, not yet handed out
        self._unsent: deque[_Unsent] = deque()  # handed out, records not sent yet (oldest first)
        self._in_flight: deque[set[TopicPartition]] = deque()  # partitions of sent, uncommitted batches
        self._rewind: dict[TopicPartition, int] = {}  # first dropped offset of each revoked partition
        self._rebalance_started: float | None = None  # a revocation whose assignment has not come yet
        self._kafka = kafka
        self._options = dict(
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            max_poll_interval_ms=max_poll_interval_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=min(3000, session_timeout_ms // 3),
            # what the consumer buffers follows the batch bound (a message larger still arrives alone)
            fetch_max_bytes=batch_bytes,
            max_partition_fetch_bytes=min(batch_bytes, 1_048_576),
        )
        self.topics = list(topics)
        await_topics(kafka, topics)
        self.consumer = self._connect()

    def _connect(self) -> KafkaConsumer:
        consumer = clients.consumer(self._kafka, **self._options)
        consumer.subscribe(self.topics, listener=_Listener(self))
        return consumer

    def stalled(self) -> bool:
        """A rebalance began (partitions revoked) and no assignment followed within ``rebalance_stall_s``."""
        started = self._rebalance_started
        return started is not None and time.monotonic() - started > self.rebalance_stall_s

    def restart(self) -> None:
        """Replace a consumer stuck in a rebalance by a fresh group member."""
        with contextlib.suppress(Exception):
            self.consumer.close(autocommit=False)
        with self._lock:
            self._held, self._rewind = [], {}
            self._unsent.clear()
            self._in_flight.clear()
        self._rebalance_started = None
        self.consumer = self._connect()

    async def _on_revoked(self, lost: set[TopicPartition]) -> None:
        self._rebalance_started = time.monotonic()
        with self._lock:
            kept = []
            for m in self._held:
                tp = (m.topic, m.partition)
                if tp in lost:
                    self._rewind[tp] = min(self._rewind.get(tp, m.offset), m.offset)
                else:
                    kept.append(m)
            dropped = len(self._held) - len(kept)
            self._held = kept
            for unsent in self._unsent:
                for tp in lost & unsent.first_offsets.keys():
                    self._rewind[tp] = min(self._rewind.get(tp, unsent.first_offsets[tp]), unsent.first_offsets[tp])
                    unsent.lost.add(tp)
            busy = self._busy(lost)
        log.info("partitions revoked=%s dropped_unprocessed=%d batch_in_flight=%s", sorted(lost), dropped, busy)
        deadline = time.monotonic() + self.revoke_wait_s
        sleep = getattr(getattr(self.consumer, "_coordinator", None), "_net", None)
        while busy and sleep is not None and time.monotonic() < deadline:
            await sleep.sleep(0.02)  # yields the IO loop, which serves the batch's publish and commit
            with self._lock:
                busy = self._busy(lost)
        if busy:
            log.warning("revocation did not wait for the in-flight batch; its commit may fail (duplicates)")

    def _busy(self, lost: set[TopicPartition]) -> bool:
        return any(partitions & lost for partitions in self._in_flight)

    def _on_assigned(self, assigned: list[Any]) -> None:
        self._rebalance_started = None
        with self._lock:
            rewind, self._rewind = self._rewind, {}
        for tp in assigned:
            offset = rewind.get((tp.topic, tp.partition))
            if offset is not None:
                self.consumer.seek(tp, offset)  # local state only: safe on the IO thread
        log.info(
            "partitions assigned=%s rewound=%s",
            sorted((tp.topic, tp.partition) for tp in assigned),
            sorted(k for k in rewind if k in {(tp.topic, tp.partition) for tp in assigned}),
        )

    def poll_batch(self, max_records: int, wait_ms: int, *, idle: bool = True) -> list[Message]:
        """Up to ``max_records`` messages and ``batch_bytes`` of message values (at least one
        message), waiting at most ``wait_ms`` after the first poll.

        Messages polled past either bound are held, in order, for the next batch (a revocation
        drops them like any polled message). The first poll waits up to ``MIN_IDLE_POLL_MS``
        for work when ``idle`` (nothing else to do, nothing held); with ``idle=False`` it takes
        what is fetched already, unless a rebalance is settling.
        """
        deadline = time.monotonic() + wait_ms / 1000
        first = True
        while True:
            with self._lock:
                room = max_records - len(self._held)
                held = bool(self._held)
                full = room <= 0 or sum(_size(m) for m in self._held) >= self.batch_bytes
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            if full:
                break
            # kafka-python 3 can lose a group join that a short poll interrupts; poll long
            # while waiting for work or for a rebalance (poll returns as soon as records arrive)
            settling = self._rebalance_started is not None or not self.consumer.assignment()
            timeout = max(remaining, MIN_IDLE_POLL_MS) if (first and idle and not held) or settling else remaining
            first = False
            polled = self.consumer.poll(timeout_ms=timeout, max_records=room)
            with self._lock:
                for records in polled.values():
                    self._held.extend(_message(r) for r in records)
            if remaining == 0:
                break
        with self._lock:
            batch = next(batches(self._held, max_records, self.batch_bytes, size=_size), [])
            self._held = self._held[len(batch) :]
            if batch:
                self._unsent.append(_Unsent(offsets_of(batch)[0]))
        return batch

    def begin_send(self) -> set[TopicPartition]:
        """The oldest handed-out batch's records are about to be sent: its partitions that were
        revoked meanwhile (leave their messages out), the others now wait for :meth:`release`."""
        with self._lock:
            if not self._unsent:
                return set()
            unsent = self._unsent.popleft()
            self._in_flight.append(set(unsent.first_offsets) - unsent.lost)
            return set(unsent.lost)

    def discard_unsent(self) -> None:
        """Handed-out batches that will not be sent (the loop rewound to before them)."""
        with self._lock:
            self._unsent.clear()

    def release(self) -> None:
        """The oldest sent batch is committed (or abandoned): revocations need not wait for it."""
        with self._lock:
            if self._in_flight:
                self._in_flight.popleft()

    def assigned(self) -> int:
        return len(self.consumer.assignment())

    def assignment(self) -> set[TopicPartition]:
        return {(tp.topic, tp.partition) for tp in self.consumer.assignment()}

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        self.consumer.commit(
            {KafkaTopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()},
            timeout_ms=COMMIT_TIMEOUT_MS,
        )

    def rewind(self, offsets: dict[TopicPartition, int]) -> None:
        """Read these partitions again from these offsets; what was held of them is dropped (it
        will be fetched again after the batch that failed, in order)."""
        with self._lock:
            self._held = [m for m in self._held if (m.topic, m.partition) not in offsets]
        assigned = self.consumer.assignment()
        for (topic, partition), offset in offsets.items():
            tp = KafkaTopicPartition(topic, partition)
            if tp in assigned:
                self.consumer.seek(tp, offset)

    def lag(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        out = {}
        for (topic, partition), position in positions.items():
            high = self.consumer.highwater(KafkaTopicPartition(topic, partition))
            if high is not None:
                out[(topic, partition)] = max(0, high - position)
        return out

    def close(self) -> None:
        self.consumer.close(autocommit=False)
