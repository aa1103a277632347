"""Produce log messages from a file to a topic: for demos, load tests and backfills.

A labelled CSV gives its message column; any other file gives one message per line, sent as
it is (a malformed line is sent too: the stream dead-letters it, as it would in production).
"""

from __future__ import annotations

import csv
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from kafka.errors import KafkaError

from logsentry.errors import InvalidMessage, PublishError
from logsentry.model_store.ingest.formats import InputFormat, decode_message
from logsentry.model_store.ingest.lines import allow_csv_fields, read_lines
from logsentry.stream.kafka import clients
from logsentry.stream.kafka.connection import check_connection
from logsentry.stream.kafka.topics import ensure_topics
from logsentry.stream.settings import KafkaSettings

log = logging.getLogger(__name__)

MAX_REQUEST_SIZE = 1_048_576  # kafka-python's max_request_size: a larger line cannot be sent


def read_values(path: Path) -> Iterator[bytes]:
    """Message values from a labelled CSV (its JSON column) or a JSON-lines file, as they are."""
    if path.suffix == ".csv":
        allow_csv_fields(2 * MAX_REQUEST_SIZE)
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, quotechar="|"):
                if row:
                    yield row[0].encode("utf-8")
    else:
        with path.open("rb") as handle:
            for line in read_lines(handle, MAX_REQUEST_SIZE):
                if line.value is None:
                    log.warning(
                        "%s: line %d: %d bytes, more than a producer request holds: not sent",
                        path,
                        line.number,
                        line.size,
                    )
                elif line.value:
                    yield line.value


def _key(value: bytes, fmt: InputFormat) -> bytes | None:
    """Partition by client address, as a web tier's log shipper would (none if unreadable)."""
    try:
        records = decode_message(value, fmt).records
    except InvalidMessage:
        return None
    first = records[0] if records else None
    source = first.get("source") if isinstance(first, dict) else None
    address = source.get("remoteAddress") if isinstance(source, dict) else None
    return str(address).encode() if address else None


def replay(
    kafka: KafkaSettings,
    topic: str,
    path: Path,
    *,
    rate: float = 0.0,
    limit: int | None = None,
    progress: bool = True,
    partitions: int | None = None,
    fmt: InputFormat = InputFormat(),
) -> int:
    check_connection(kafka)
    if partitions:
        ensure_topics(kafka, {topic: partitions})
    producer = clients.producer(kafka, acks="all", linger_ms=10, batch_size=262_144)
    sent = 0
    started = time.monotonic()
    last_report = started
    futures = []
    try:
        for value in read_values(path):
            if limit is not None and sent >= limit:
                break
            if rate > 0:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            futures.append(producer.send(topic, value=value, key=_key(value, fmt)))
            sent += 1
            if len(futures) >= 10_000:
                producer.flush()
                for f in futures:
                    f.get(timeout=30)
                futures.clear()
            now = time.monotonic()
            if progress and now - last_report >= 1:
                last_report = now
                _bar(sent, limit, now - started)
        producer.flush()
        for f in futures:
            f.get(timeout=30)
    except KafkaError as exc:
        raise PublishError(f"replay to {topic} failed after {sent} messages: {exc!r}") from exc
    finally:
        producer.close()
    if progress:
        _bar(sent, limit, time.monotonic() - started)
        print(file=sys.stderr)
    return sent


def _bar(sent: int, limit: int | None, seconds: float) -> None:
    rate = sent / seconds if seconds > 0 else 0.0
    if limit:
        done = int(30 * sent / limit)
        bar = "#" * done + "." * (30 - done)
        print(f"\r[{bar}] {sent}/{limit} sent, {rate:,.0f}/s", end="", file=sys.stderr, flush=True)
    else:
        print(f"\r{sent} sent, {rate:,.0f}/s", end="", file=sys.stderr, flush=True)
