"""What flows through the stream: consumed messages, and the alerts, verdicts, dead letters and
shadow records it publishes.

Alert wire format (JSON Schema: ``stream/alert.schema.json``; documented in docs/alerts.md)::

    key     the client address (event.source.remoteAddress) when present, else the log's key
    headers logsentry-model-version, logsentry-schema, content-type
    value   {"schema": "logsentry.alert/1", "event": {...the request log that was scored...},
             "score": 0.97, "threshold": 0.21, "model_version": "...", "detected_at": "...Z",
             "source": {"topic", "partition", "offset", "timestamp", "key"},
             "message": "...the message exactly as consumed...", "input_format": "combined",
             "record_index": 0, "records_in_message": 1}

For a reference-format message ``event`` is the message's own JSON object (every field); for
other formats it is the request log built from it (``model_store.ingest.request_log``).

A dead letter keeps the original key, value and timestamp, the original headers, and adds
``logsentry-dlq-*`` headers naming the reason, the error and where the message came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from logsentry.model_store.ingest.fields import field_name
from logsentry.model_store.judge.explain import Span

ALERT_SCHEMA = "logsentry.alert/1"
# an alert stays under Kafka's default max.message.bytes (1,048,588) with room for its headers
MAX_ALERT_BYTES = 1_000_000
KEPT_CHARS = 4_096  # of each string of an alert that would be larger (alert.schema.json: truncated)
VERDICT_SCHEMA = "logsentry.verdict/1"
SHADOW_SCHEMA = "logsentry.shadow/1"
SHADOW_SUMMARY_SCHEMA = "logsentry.shadow-summary/1"
Headers = tuple[tuple[str, bytes], ...]
TopicPartition = tuple[str, int]  # (topic, partition): where offsets are kept


@dataclass(frozen=True)
class Message:
    """One consumed Kafka record, as the stream needs it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


@dataclass(frozen=True)
class Outgoing:
    """A record to publish: an alert or a dead letter."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int | None = None


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _client_address(event: dict[str, Any]) -> str | None:
    source = event.get("source")
    if isinstance(source, dict):
        address = source.get("remoteAddress")
        if isinstance(address, str) and address:
            return address
    return None


def alert_record(
    topic: str,
    message: Message,
    event: dict[str, Any],
    score: float,
    threshold: float,
    version: str,
    now_ms: float,
    *,
    record_index: int = 0,
    input_format: str = "",
    records_in_message: int = 1,
    explanation: Sequence[Span] = (),
    explanation_skipped: str | None = None,
    suppressed_by: str | None = None,
) -> Outgoing:
    """An alert (or, with ``suppressed_by``, the record of a suppressed one, ``--suppressed-topic``)."""
    address = _client_address(event)
    body = {
        "schema": ALERT_SCHEMA,
        "event": event,
        "score": round(float(score), 6),
        "threshold": float(threshold),
        "model_version": version,
        "detected_at": _iso(now_ms),
        "source": {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "timestamp": message.timestamp_ms,
            "key": message.key.decode("utf-8", "backslashreplace") if message.key is not None else None,
        },
        "message": (message.value or b"").decode("utf-8", "replace"),
        "input_format": input_format,
        "record_index": record_index,
        "records_in_message": records_in_message,
        "explanation": [span.to_dict() for span in explanation],
        "explanation_skipped": explanation_skipped,
    }
    if suppressed_by is not None:
        body["suppressed_by"] = suppressed_by
    value = _alert_json(body)
    if len(value) > MAX_ALERT_BYTES:
        value = _alert_json(_shortened(body))
    return Outgoing(
        topic=topic,
        key=address.encode("utf-8") if address else message.key,
        value=value,
        headers=(
            ("logsentry-model-version", version.encode()),
            ("logsentry-schema", ALERT_SCHEMA.encode()),
            ("content-type", b"application/json"),
        ),
    )


def _alert_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def _json_record(
    topic: str, key: bytes | None, schema: str, body: dict[str, Any], *, timestamp_ms: int | None = None
) -> Outgoing:
    """A JSON record of ``schema`` (named in its headers), keyed by ``key``."""
    headers = (("logsentry-schema", schema.encode()), ("content-type", b"application/json"))
    return Outgoing(topic=topic, key=key, value=_alert_json(body), headers=headers, timestamp_ms=timestamp_ms)


def _source(message: Message) -> dict[str, Any]:
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}


def _timestamp(message: Message) -> int | None:
    """The message's own timestamp for a record derived from it, when it has one."""
    return message.timestamp_ms if message.timestamp_ms >= 0 else None


def _shortened(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``message`` and the event's strings cut to ``KEPT_CHARS`` (see the schema's
    ``truncated``): what a request can hold must not decide whether its alert can be published."""
    cuts: list[dict[str, Any]] = []

    def cut(value: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(value, str) and len(value) > KEPT_CHARS:
            cuts.append({"field": field_name(path) if path else "message", "length": len(value)})
            return value[:KEPT_CHARS]
        if isinstance(value, dict):
            return {k: cut(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v, (*path, i)) for i, v in enumerate(value)]
        return value

    message = cut(body["message"], ())
    return {
        **body,
        "message": message,
        "event": cut(body["event"], ()) if body["event"] else body["event"],
        "truncated": cuts,
    }


def verdict_record(
    topic: str,
    message: Message,
    *,
    record_index: int,
    score: float,
    threshold: float,
    version: str,
    flagged: bool,
    input_format: str,
    suppressed_by: str | None = None,
) -> Outgoing:
    """The compact verdict of one scored record (``--verdict-topic``), keyed like its message.

    ``{"schema", "source": {"topic", "partition", "offset"}, "record_index", "score",
    "threshold", "model_version", "flagged", "suppressed_by", "input_format"}``: enough to join the score onto
    the same request wherever the log topic is also stored (a SIEM, a data lake).
    """
    body = {
        "schema": VERDICT_SCHEMA,
        "source": _source(message),
        "record_index": record_index,
        "score": round(float(score), 6),
        "threshold": float(threshold),
        "model_version": version,
        "flagged": flagged,
        "suppressed_by": suppressed_by,
        "input_format": input_format,
    }
    return _json_record(topic, message.key, VERDICT_SCHEMA, body, timestamp_ms=_timestamp(message))


def dead_letter_record(
    topic: str, message: Message, reason: str, error: str, now_ms: float, *, records: list[int] | None = None
) -> Outgoing:
    """The original message with ``logsentry-dlq-*`` headers (``records``: refused record indexes)."""
    extra = (("logsentry-dlq-records", ",".join(map(str, records)).encode()),) if records else ()
    headers = (
        *message.headers,
        ("logsentry-dlq-reason", reason.encode()),
        ("logsentry-dlq-error", error[:1000].encode("utf-8", "backslashreplace")),
        ("logsentry-dlq-source-topic", message.topic.encode()),
        ("logsentry-dlq-source-partition", str(message.partition).encode()),
        ("logsentry-dlq-source-offset", str(message.offset).encode()),
        ("logsentry-dlq-at", _iso(now_ms).encode()),
        *extra,
    )
    return Outgoing(
        topic=topic,
        key=message.key,
        value=message.value,
        headers=headers,
        timestamp_ms=_timestamp(message),
    )


def offsets_of(messages: Sequence[Message]) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first offset, last offset + 1) of each partition in ``messages``."""
    first: dict[TopicPartition, int] = {}
    after: dict[TopicPartition, int] = {}
    for m in messages:
        tp = (m.topic, m.partition)
        first[tp] = min(first.get(tp, m.offset), m.offset)
        after[tp] = max(after.get(tp, 0), m.offset + 1)
    return first, after


def shadow_record(
    topic: str,
    message: Message,
    record_index: int,
    event: dict[str, Any],
    current: dict[str, Any],
    candidate: dict[str, Any],
) -> Outgoing:
    """A record the current and the shadow model judge differently (``current``/``candidate``:
    ``{"version", "score", "threshold", "flagged"}``), keyed like its message."""
    body = {
        "schema": SHADOW_SCHEMA,
        "source": _source(message),
        "record_index": record_index,
        "event": event,
        "current": current,
        "candidate": candidate,
    }
    return _json_record(topic, message.key, SHADOW_SCHEMA, body)


def shadow_summary_record(topic: str, current: str, candidate: str, counts: dict[str, int]) -> Outgoing:
    """One batch's agreement between the current and the shadow model, keyed by the candidate:
    ``logsentry models promote`` adds them up."""
    body = {"schema": SHADOW_SUMMARY_SCHEMA, "current": current, "candidate": candidate, "counts": counts}
    return _json_record(topic, candidate.encode(), SHADOW_SUMMARY_SCHEMA, body)
