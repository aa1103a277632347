"""OTLP JSON logs, as the OpenTelemetry Collector's Kafka exporter writes them (``otlp_json``).

One message holds many records: ``resourceLogs[].scopeLogs[].logRecords[]``. Each log record
maps on its attributes (OpenTelemetry HTTP semantic conventions, current names first, the
older ones as fallbacks)::

    method  http.request.method, http.method
    path    url.path, else from url.full / http.url / http.target
    query   url.query, else from url.full / http.url / http.target
    status  http.response.status_code, http.status_code (OTLP JSON writes int64 as a string)
    body    http.request.body.content (null: none recorded)
    client  client.address, source.address, net.peer.ip, http.client_ip
    time    timeUnixNano, else observedTimeUnixNano, as epoch milliseconds

A record without HTTP attributes whose ``body`` is a string holding an access-log line (a
Collector tailing access logs with the ``filelog`` receiver) is read as that line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from logsentry.errors import InvalidMessage
from logsentry.model_store.ingest import fields
from logsentry.model_store.ingest.decode import RECORD_LIST_KEY, TOO_MANY_RECORDS
from logsentry.model_store.ingest.formats.access_log import UNRECOGNIZED_FORMAT, parse_line
from logsentry.model_store.ingest.request_log import INVALID_EVENT, request_log

METHOD = ("http.request.method", "http.method")
URL = ("url.full", "http.url", "http.target")
PATH = ("url.path",)
QUERY = ("url.query",)
STATUS = ("http.response.status_code", "http.status_code")
BODY = ("http.request.body.content",)
CLIENT = ("client.address", "source.address", "net.peer.ip", "http.client_ip")
_HTTP = (*METHOD, *URL, *PATH)


def is_otlp(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("resourceLogs"), list)


def any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` in its JSON encoding."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        raw = value["intValue"]
        return int(raw) if isinstance(raw, (int, str)) and str(raw).lstrip("-").isdigit() else None
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values", []))
    return None


def attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(pairs, list):
        for pair in pairs:
            if isinstance(pair, dict) and isinstance(pair.get("key"), str):
                out[pair["key"]] = any_value(pair.get("value"))
    return out


def log_records(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in obj.get("resourceLogs") or []:
        if not isinstance(resource, dict):
            continue
        scopes = resource.get("scopeLogs") or resource.get("instrumentationLibraryLogs") or []
        for scope in scopes if isinstance(scopes, list) else []:
            records = scope.get(RECORD_LIST_KEY) if isinstance(scope, dict) else None
            for record in records if isinstance(records, list) else []:
                if isinstance(record, dict):
                    yield record


def count_records(obj: dict[str, Any]) -> int:
    return sum(1 for _ in log_records(obj))


def _millis(record: dict[str, Any]) -> int | None:
    for name in ("timeUnixNano", "observedTimeUnixNano"):
        raw = record.get(name)
        if isinstance(raw, (int, str)) and str(raw).isdigit() and int(raw) > 0:
            return int(raw) // 1_000_000
    return None


def from_record(record: dict[str, Any]) -> dict[str, Any]:
    attrs = attributes(record.get("attributes"))
    if not any(attrs.get(name) is not None for name in _HTTP):
        line = any_value(record.get("body"))
        if isinstance(line, str):
            return parse_line(line)
        raise InvalidMessage(INVALID_EVENT, "log record has no HTTP attributes and no access-log line in its body")
    return request_log(
        method=fields.text(attrs, METHOD),
        target=fields.text(attrs, URL),
        path=fields.text(attrs, PATH),
        query=fields.text(attrs, QUERY),
        status=fields.status(attrs, STATUS),
        body=fields.body(attrs, BODY, missing=None),
        client=fields.text(attrs, CLIENT),
        timestamp=_millis(record),
    )


def from_otlp(obj: dict[str, Any], max_records: int) -> list[dict[str, Any] | InvalidMessage]:
    """Each log record's request log, or the reason it is not one, in message order."""
    if not is_otlp(obj):
        raise InvalidMessage(UNRECOGNIZED_FORMAT, "not OTLP JSON logs: no resourceLogs list")
    count = count_records(obj)
    if count > max_records:
        raise InvalidMessage(TOO_MANY_RECORDS, f"{count} log records exceed the limit of {max_records} per message")
    if count == 0:
        raise InvalidMessage(INVALID_EVENT, "OTLP message holds no log records")
    out: list[dict[str, Any] | InvalidMessage] = []
    for record in log_records(obj):
        try:
            out.append(from_record(record))
        except InvalidMessage as exc:
            out.append(exc)
    return out
