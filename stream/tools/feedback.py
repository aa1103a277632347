"""Analysts' verdicts on alerts: a labelled copy of the alerted request on a compacted topic.

``logsentry feedback benign|attack --alert TOPIC/PARTITION/OFFSET`` reads that alert from
the alert topic and publishes to the feedback topic (default :data:`DEFAULT_FEEDBACK_TOPIC`
of the settings, ``cleanup.policy=compact``) one record keyed by the *request's*
coordinates (``source topic/partition/offset/record_index``): marking the same request
again replaces the earlier verdict. ``logsentry train --feedback`` reads the topic back
(:func:`read_feedback`) and folds it into training (trainer/training.py).

Value (``logsentry.feedback/1``)::

    {"schema", "label": "benign"|"attack", "event", "message", "input_format", "alert":
     {"topic", "partition", "offset"}, "source": {...}, "record_index", "score",
     "model_version", "note", "author", "at"}
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterable
from dataclasses import dataclass

from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from logsentry.errors import ConfigError, StreamError
from logsentry.stream.kafka import clients
from logsentry.stream.kafka.connection import check_connection
from logsentry.stream.kafka.topics import ensure_topics, read_to_end
from logsentry.stream.settings import DEFAULT_FEEDBACK_TOPIC, KafkaSettings

FEEDBACK_SCHEMA = "logsentry.feedback/1"
LABELS = {"benign": 0, "attack": 1}


@dataclass(frozen=True)
class AlertRef:
    """Where an alert is: ``TOPIC/PARTITION/OFFSET`` on the alert topic."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> AlertRef:
        topic, _, rest = text.strip().partition("/")
        partition, _, offset = rest.partition("/")
        if not topic or not partition.isdigit() or not offset.isdigit():
            raise ConfigError(
                f"an alert is named TOPIC/PARTITION/OFFSET (as `logsentry alerts` shows it), not {text!r}"
            )
        return cls(topic, int(partition), int(offset))

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def fetch_alerts(kafka: KafkaSettings, refs: Iterable[AlertRef], timeout_s: float = 30.0) -> dict[AlertRef, dict]:
    """The alerts at ``refs``; :class:`ConfigError` naming the first that does not exist."""
    refs = list(refs)
    consumer = clients.reader(kafka)
    out: dict[AlertRef, dict] = {}
    try:
        for ref in refs:
            tp = TopicPartition(ref.topic, ref.partition)
            if ref.partition not in (consumer.partitions_for_topic(ref.topic) or set()):
                raise ConfigError(f"no alert at {ref}: topic {ref.topic!r} has no partition {ref.partition}")
            consumer.assign([tp])
            begin, end = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
            if not begin <= ref.offset < end:
                raise ConfigError(f"no alert at {ref}: that partition holds offsets {begin} to {end - 1}")
            consumer.seek(tp, ref.offset)
            record = None
            for _ in range(int(timeout_s * 2)):
                batch = consumer.poll(timeout_ms=500).get(tp, [])
                record = next((r for r in batch if r.offset == ref.offset), None)
                if record is not None or any(r.offset > ref.offset for r in batch):
                    break
            try:
                alert = json.loads(record.value) if record is not None and record.value else None
            except ValueError:
                alert = None
            if not isinstance(alert, dict) or not str(alert.get("schema", "")).startswith("logsentry.alert/"):
                raise ConfigError(f"no alert at {ref}: the record there is not a logsentry alert")
            out[ref] = alert
    except KafkaError as exc:
        raise StreamError(f"cannot read alerts from Kafka: {exc!r}") from exc
    finally:
        consumer.close()
    return out


def feedback_key(alert: dict) -> bytes:
    """The request an alert is about: marking it again replaces the earlier verdict."""
    src = alert.get("source", {})
    return f"{src.get('topic')}/{src.get('partition')}/{src.get('offset')}/{alert.get('record_index', 0)}".encode()


def feedback_value(alert: dict, ref: AlertRef, label: str, note: str, author: str, now: dt.datetime) -> dict:
    if label not in LABELS:
        raise ConfigError(f"feedback is benign or attack, not {label!r}")
    return {
        "schema": FEEDBACK_SCHEMA,
        "label": label,
        "event": alert["event"],
        "message": alert.get("message"),
        "input_format": alert.get("input_format"),
        "alert": {"topic": ref.topic, "partition": ref.partition, "offset": ref.offset},
        "source": alert.get("source"),
        "record_index": alert.get("record_index", 0),
        "score": alert.get("score"),
        "model_version": alert.get("model_version"),
        "note": note,
        "author": author,
        "at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def send_feedback(
    kafka: KafkaSettings, topic: str, refs: list[AlertRef], label: str, *, note: str = "", author: str | None = None
) -> int:
    """Publish the analyst's ``label`` for each alert in ``refs``; nothing is sent unless all exist."""
    check_connection(kafka)
    alerts = fetch_alerts(kafka, refs)
    now = dt.datetime.now(dt.UTC)
    who = author or getpass.getuser()
    values = [(feedback_key(alerts[r]), feedback_value(alerts[r], r, label, note, who, now)) for r in refs]
    ensure_topics(kafka, {topic: 1}, {"cleanup.policy": "compact"})
    producer = clients.producer(kafka, acks="all", enable_idempotence=True)
    try:
        futures = [producer.send(topic, key=k, value=json.dumps(v).encode()) for k, v in values]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    except KafkaError as exc:
        raise StreamError(f"feedback not acknowledged by Kafka: {exc!r}") from exc
    finally:
        producer.close(timeout=10)
    return len(values)


def latest_feedback(records: Iterable[tuple[bytes | None, bytes | None]]) -> list[dict]:
    """The verdict in force for each request: the last value per key; a tombstone removes it."""
    latest: dict[bytes | None, dict | None] = {}
    for key, value in records:
        if value is None:
            latest[key] = None
            continue
        try:
            record = json.loads(value)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("schema") == FEEDBACK_SCHEMA and record.get("label") in LABELS:
            latest[key] = record
    return [r for r in latest.values() if r is not None]


def read_feedback(kafka: KafkaSettings, topic: str = DEFAULT_FEEDBACK_TOPIC) -> list[dict]:
    """Every verdict in force on the feedback topic (read to its end)."""
    check_connection(kafka)
    pairs = read_to_end(kafka, topic)
    if pairs is None:
        raise ConfigError(f"no feedback topic {topic!r} on {kafka.bootstrap_servers}: give feedback first")
    return latest_feedback(pairs)
