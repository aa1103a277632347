"""KafkaSource cuts batches by bytes as well as count, with a stand-in for kafka-python's consumer."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kafka.structs import TopicPartition as KafkaTopicPartition

from logsentry.stream.consumer import KafkaSource

TP = KafkaTopicPartition("logs", 0)


@dataclass
class _Record:
    offset: int
    value: bytes
    topic: str = "logs"
    partition: int = 0
    timestamp: int = 0
    key: bytes | None = None
    headers: list[Any] = field(default_factory=list)


class _Consumer:
    """Hands out records from its position, up to ``max_records`` a poll, like kafka-python."""

    def __init__(self, values: list[bytes]) -> None:
        self.records = [_Record(i, v) for i, v in enumerate(values)]
        self.position = 0

    def assignment(self) -> set[KafkaTopicPartition]:
        return {TP}

    def poll(self, timeout_ms: int, max_records: int) -> dict[KafkaTopicPartition, list[_Record]]:
        out = self.records[self.position : self.position + max_records]
        self.position += len(out)
        return {TP: out} if out else {}

    def seek(self, tp: KafkaTopicPartition, offset: int) -> None:
        self.position = offset


def _source(consumer: _Consumer, batch_bytes: int) -> KafkaSource:
    source = KafkaSource.__new__(KafkaSource)  # no broker: only the batching state
    source.batch_bytes, source.consumer, source._lock = batch_bytes, consumer, threading.Lock()
    source._held, source._unsent, source._in_flight, source._rewind = [], deque(), deque(), {}
    source._rebalance_started = None
    return source


def test_a_batch_ends_at_its_bytes_and_what_was_polled_past_it_comes_next_in_order() -> None:
    source = _source(_Consumer([bytes([65 + i]) * 40 for i in range(7)]), batch_bytes=100)
    got = [[m.offset for m in source.poll_batch(1024, 0, idle=False)] for _ in range(5)]
    assert got == [[0, 1], [2, 3], [4, 5], [6], []]  # 80 bytes each: a third message would pass 100
    big = _source(_Consumer([b"x" * 500, b"y"]), batch_bytes=100)
    assert [m.offset for m in big.poll_batch(1024, 0, idle=False)] == [0]  # alone, however large


def test_a_rewound_partition_drops_what_was_held_of_it_and_reads_it_again_in_order() -> None:
    consumer = _Consumer([b"a" * 40 for _ in range(6)])
    source = _source(consumer, batch_bytes=100)
    assert [m.offset for m in source.poll_batch(1024, 0, idle=False)] == [0, 1]
    assert [m.offset for m in source._held] == [2, 3, 4, 5]  # polled past the bound
    source.rewind({("logs", 0): 0})  # the batch's publish failed: read it again
    assert source._held == []
    got = [[m.offset for m in source.poll_batch(1024, 0, idle=False)] for _ in range(3)]
    assert got == [[0, 1], [2, 3], [4, 5]]
