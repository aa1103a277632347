"""Follow the alert topic and print alerts for people (or raw JSON for programs)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from logsentry.model_store.ingest.fields import value_at
from logsentry.stream.kafka import clients
from logsentry.stream.kafka.connection import check_connection
from logsentry.stream.settings import KafkaSettings

CONTEXT = 30  # characters shown either side of an explained span
_MARKS = {False: ("«", "»"), True: ("\x1b[1;31m", "\x1b[0m")}  # plain text / a terminal: bold red


def highlight(event: Any, span: dict[str, Any], *, color: bool = False) -> str:
    """One line for one explained span: the field, its weight, and the span marked in context."""
    field, start, end = span.get("field", "?"), int(span.get("start", 0)), int(span.get("end", 0))
    value = value_at(event, field)
    if not isinstance(value, str) or value[start:end] != span.get("text"):
        value, start, end = str(span.get("text", "")), 0, len(str(span.get("text", "")))
    before = ("…" if start > CONTEXT else "") + value[max(0, start - CONTEXT) : start]
    after = value[end : end + CONTEXT] + ("…" if len(value) > end + CONTEXT else "")
    on, off = _MARKS[color]
    weight = float(span.get("weight", 0))
    return f"    why  {field}[{start}:{end}]  weight={weight:.2f}  {before}{on}{value[start:end]}{off}{after}"


def describe(alert: dict[str, Any], *, color: bool = False, where: str = "") -> str:
    """An alert for people: one line, then one line per explained span. ``where`` is the
    alert's own TOPIC/PARTITION/OFFSET, the name ``logsentry feedback --alert`` takes."""
    event = alert.get("event", {})
    client = (event.get("source") or {}).get("remoteAddress", "-") if isinstance(event.get("source"), dict) else "-"
    query = json.dumps(event.get("query"), ensure_ascii=False) if event.get("query") else ""
    body = json.dumps(event.get("requestPayload"), ensure_ascii=False) if event.get("requestPayload") else ""
    src = alert.get("source", {})
    line = (
        f"{alert.get('detected_at', '?')}  score={alert.get('score', 0):.3f}  client={client}  "
        f"{str(event.get('method', '?')).upper()} {event.get('path', '?')} {query} {body}".rstrip()
        + f"  [{src.get('topic')}/{src.get('partition')}@{src.get('offset')} model={alert.get('model_version')}]"
        + (f"  alert={where}" if where else "")
    )
    return "\n".join([line, *(highlight(event, span, color=color) for span in alert.get("explanation") or [])])


def follow(
    kafka: KafkaSettings,
    topic: str,
    *,
    from_beginning: bool = False,
    max_alerts: int | None = None,
    timeout_s: float | None = None,
    raw: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    check_connection(kafka)
    color = out.isatty()
    consumer = clients.reader(kafka, topic, auto_offset_reset="earliest" if from_beginning else "latest")
    shown = 0
    deadline = time.monotonic() + timeout_s if timeout_s else None
    try:
        while (max_alerts is None or shown < max_alerts) and (deadline is None or time.monotonic() < deadline):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    text = record.value.decode("utf-8", "replace")
                    where = f"{record.topic}/{record.partition}/{record.offset}"
                    out.write((text if raw else describe(json.loads(text), color=color, where=where)) + "\n")
                    out.flush()
                    shown += 1
                    if max_alerts is not None and shown >= max_alerts:
                        return shown
    finally:
        consumer.close()
    return shown
