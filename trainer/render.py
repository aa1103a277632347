"""Render reference request logs as other shippers would carry them: the inverse of the input formats.

Used to make test fixtures and benchmark inputs (``logsentry generate --format``), and to
state, in property tests, that a request rendered into a format reads back to the same
request log for the fields that format carries. What each rendering cannot carry:

* ``combined``/``common``: no request body (and ``common`` no referer or agent);
* ``ecs``, ``flat``, ``otlp-json``: everything the model sees (the body as
  ``http.request.body.content`` / ``request_body`` when there is one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

Event = dict[str, Any]
FORMATS = ("reference", "combined", "common", "ecs", "flat", "otlp-json")


def query_string(query: dict[str, Any] | None) -> str:
    """A query mapping as a client would send it (values percent-encoded, lists repeated)."""
    parts = []
    for name, value in (query or {}).items():
        for one in value if isinstance(value, list) else [value]:
            text = one if isinstance(one, str) else json.dumps(one)
            parts.append(f"{quote(str(name), safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def target(event: Event) -> str:
    qs = query_string(event.get("query"))
    return str(event.get("path", "/")) + (f"?{qs}" if qs else "")


def body_text(event: Event) -> str | None:
    body = event.get("requestPayload")
    if body is None:
        return None
    return body if isinstance(body, str) else json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def client(event: Event) -> str:
    source = event.get("source")
    address = source.get("remoteAddress") if isinstance(source, dict) else None
    return str(address) if address else "-"


def _millis(event: Event) -> int:
    ts = event.get("timestamp")
    return ts if isinstance(ts, int) else 1_700_000_000_000


def nginx_escape(text: str) -> str:
    """What nginx's default ``escape`` does inside a quoted log field: ``\\xHH`` for ``"``, ``\\`` and non-ASCII."""
    out = []
    for byte in text.encode("utf-8", "surrogatepass"):
        if byte in (0x22, 0x5C) or byte < 0x20 or byte > 0x7E:
            out.append(f"\\x{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def combined(event: Event, *, common: bool = False) -> str:
    when = datetime.fromtimestamp(_millis(event) / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    method = str(event.get("method", "GET")).upper()
    status = event.get("statusCode", 200)
    line = f'{client(event)} - - [{when}] "{nginx_escape(f"{method} {target(event)} HTTP/1.1")}" {status} 512'
    if common:
        return line
    headers = event.get("headers") if isinstance(event.get("headers"), dict) else {}
    agent = str((headers or {}).get("user-agent", "-"))
    return f'{line} "-" "{nginx_escape(agent)}"'


def ecs(event: Event) -> str:
    doc: dict[str, Any] = {
        "@timestamp": datetime.fromtimestamp(_millis(event) / 1000, UTC).isoformat(timespec="milliseconds"),
        "http": {"request": {"method": str(event.get("method", "GET")).upper()}, "version": "1.1"},
        "url": {"original": target(event), "path": event.get("path", "/")},
        "source": {"ip": client(event)},
        "event": {"dataset": "nginx.access"},
    }
    qs = query_string(event.get("query"))
    if qs:
        doc["url"]["query"] = qs
    if "statusCode" in event:
        doc["http"]["response"] = {"status_code": event["statusCode"]}
    body = body_text(event)
    if body is not None:
        doc["http"]["request"]["body"] = {"content": body}
    return json.dumps(doc, ensure_ascii=False)


def flat(event: Event) -> str:
    """Vector's ``parse_nginx_log`` output (``path`` holds the query string)."""
    doc: dict[str, Any] = {
        "client": client(event),
        "timestamp": datetime.fromtimestamp(_millis(event) / 1000, UTC).isoformat(),
        "method": str(event.get("method", "GET")).upper(),
        "path": target(event),
        "protocol": "HTTP/1.1",
        "status": event.get("statusCode", 200),
        "size": 512,
    }
    body = body_text(event)
    if body is not None:
        doc["request_body"] = body
    return json.dumps(doc, ensure_ascii=False)


def _attribute(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP JSON writes int64 as a string
    return {"key": key, "value": {"stringValue": str(value)}}


def otlp_record(event: Event) -> dict[str, Any]:
    attributes = [
        _attribute("http.request.method", str(event.get("method", "GET")).upper()),
        _attribute("url.path", event.get("path", "/")),
        _attribute("client.address", client(event)),
    ]
    qs = query_string(event.get("query"))
    if qs:
        attributes.append(_attribute("url.query", qs))
    if "statusCode" in event:
        attributes.append(_attribute("http.response.status_code", event["statusCode"]))
    body = body_text(event)
    if body is not None:
        attributes.append(_attribute("http.request.body.content", body))
    return {
        "timeUnixNano": str(_millis(event) * 1_000_000),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": f"{str(event.get('method', 'GET')).upper()} {target(event)}"},
        "attributes": attributes,
    }


def otlp(events: Sequence[Event]) -> str:
    """One OTLP JSON message holding every event as a log record (what the Collector batches)."""
    return json.dumps(
        {
            "resourceLogs": [
                {
                    "resource": {"attributes": [_attribute("service.name", "shop")]},
                    "scopeLogs": [{"scope": {"name": "access"}, "logRecords": [otlp_record(e) for e in events]}],
                }
            ]
        },
        ensure_ascii=False,
    )


def render(event: Event, fmt: str) -> str:
    """One event as one message of ``fmt`` (``otlp-json``: a message of one record)."""
    if fmt == "reference":
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if fmt in ("combined", "common"):
        return combined(event, common=fmt == "common")
    if fmt == "ecs":
        return ecs(event)
    if fmt == "flat":
        return flat(event)
    if fmt == "otlp-json":
        return otlp([event])
    raise ValueError(f"cannot render format {fmt!r}")
