"""A bounded offset range of a Kafka topic, read without a consumer group (training's input).

``logsentry train --from-topic requests --since 7d`` reads, in every partition, from the
first offset written in the last seven days up to the end offset at the moment training
starts (or an explicit ``--offsets``), so later traffic never changes the data of a run
already going. The reads use no consumer group: nothing is committed and the live
detector's group, its offsets and its partition assignment are left exactly as they were.

The trainer turns the messages into rows (``trainer.sources.TopicShard``); this module only
reads them from Kafka.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from logsentry.errors import ConfigError, DataError
from logsentry.stream.settings import KafkaSettings

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
STALL_S = 60.0  # a range that stops arriving for this long is an error, not a wait


def since_ms(text: str, now: float | None = None) -> int:
    """A start time in ms: a duration back from now (``7d``, ``12h``, ``30m``) or an ISO-8601 time."""
    now = time.time() if now is None else now
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match:
        return int((now - int(match[1]) * _UNITS[match[2]]) * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: give a duration (7d, 12h, 30m) or an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_offsets(text: str) -> dict[int | None, tuple[int, int]]:
    """``START:END`` for every partition, or ``P=START:END,...`` per partition (END exclusive)."""
    out: dict[int | None, tuple[int, int]] = {}
    for part in text.split(","):
        match = re.fullmatch(r"\s*(?:(\d+)=)?(\d+):(\d+)\s*", part)
        if not match:
            raise ConfigError(f"--offsets {text!r}: give START:END, or PARTITION=START:END,... (END exclusive)")
        start, end = int(match[2]), int(match[3])
        if end < start:
            raise ConfigError(f"--offsets {part.strip()!r}: the end comes before the start")
        out[None if match[1] is None else int(match[1])] = (start, end)
    return out


@dataclass(frozen=True)
class OffsetRange:
    """One partition's offsets ``[start, end)``."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.start}:{self.end}"


@dataclass(frozen=True)
class Message:
    offset: int
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def read_range(kafka: KafkaSettings, span: OffsetRange) -> Iterator[Message]:
    """The messages of ``span``, read without a consumer group (nothing joined, nothing committed)."""
    from kafka.structs import TopicPartition

    from logsentry.stream.kafka import clients

    if span.end <= span.start:
        return
    tp = TopicPartition(span.topic, span.partition)
    consumer = clients.reader(kafka)
    try:
        consumer.assign([tp])
        consumer.seek(tp, span.start)
        heard = time.monotonic()
        while consumer.position(tp) < span.end:
            batch = consumer.poll(timeout_ms=500, max_records=2000).get(tp, [])
            if batch:
                heard = time.monotonic()
            elif time.monotonic() - heard > STALL_S:
                raise DataError(f"{span.name}: no message for {STALL_S:.0f} s at offset {consumer.position(tp)}")
            for message in batch:
                if message.offset >= span.end:
                    return
                yield Message(message.offset, message.value, tuple(message.headers or ()))
    finally:
        consumer.close()


def resolve_ranges(
    kafka: KafkaSettings,
    topic: str,
    *,
    since: str | None = None,
    until: str | None = None,
    offsets: str | None = None,
) -> list[OffsetRange]:
    """The offset range of every partition of ``topic`` to read (fixed now, read later)."""
    from kafka.errors import KafkaError
    from kafka.structs import TopicPartition

    from logsentry.stream.kafka import clients

    if offsets and (since or until):
        raise ConfigError("--offsets names the range itself: give it without --since/--until")
    explicit = parse_offsets(offsets) if offsets else {}
    consumer = clients.reader(kafka)
    try:
        numbers = sorted(consumer.partitions_for_topic(topic) or [])
        if not numbers:
            raise ConfigError(f"no topic {topic!r} on {kafka.bootstrap_servers}")
        partitions = [TopicPartition(topic, p) for p in numbers]
        first = consumer.beginning_offsets(partitions)
        last = consumer.end_offsets(partitions)
        starts = dict(first)
        ends = dict(last)
        for moment, chosen in ((since, starts), (until, ends)):
            if moment:
                found = consumer.offsets_for_times({tp: since_ms(moment) for tp in partitions})
                for tp in partitions:
                    chosen[tp] = found[tp].offset if found.get(tp) is not None else last[tp]
        for tp in partitions:
            if tp.partition in explicit or None in explicit:
                start, end = explicit.get(tp.partition, explicit.get(None, (0, 0)))
                starts[tp], ends[tp] = max(start, first[tp]), min(end, last[tp])
            elif explicit:
                starts[tp] = ends[tp] = last[tp]  # a partition not named is not read
    except KafkaError as exc:
        raise DataError(f"cannot read the offsets of {topic!r}: {exc!r}") from exc
    finally:
        consumer.close()
    spans = [OffsetRange(topic, tp.partition, starts[tp], max(starts[tp], ends[tp])) for tp in partitions]
    if not any(s.end > s.start for s in spans):
        raise DataError(f"{topic}: the range chosen holds no message ({', '.join(s.name for s in spans)})")
    return spans
