"""JSON log shapes that hold one request each: ECS, flat collector JSON, a text-line envelope.

ECS (Filebeat, Elastic Agent, Logstash's ECS mapping; nested objects or dotted keys)::

    method  http.request.method          path    url.path, else from url.original / url.full
    query   url.query, else from url.original / url.full
    status  http.response.status_code    body    http.request.body.content (null: none logged)
    client  source.ip, source.address, client.ip, client.address
    time    @timestamp

Flat collector JSON (Vector's ``parse_nginx_log``/``parse_apache_log``, Fluent Bit's stock
nginx/apache parsers, nginx ``log_format ... escape=json`` with the usual variable names)::

    method  method, request_method, http_method
    target  path, uri, request_uri, url (the query string may be part of it)
    request request (a request line, ``GET /a?b=1 HTTP/1.1``), when method/target are missing
    query   query, args, query_string (when the target has none)
    status  status, code, status_code
    body    request_body, body (null: none logged)
    client  client, remote, remote_addr, remote_ip, client_ip, host
    time    timestamp, time, time_iso8601, time_local, @timestamp

A text-line envelope is a JSON object whose ``message`` (or ``msg``, ``log``) string holds an
access-log line (Filebeat without parsing, rsyslog JSON templates, Logstash).
"""

from __future__ import annotations

from typing import Any

from logsentry.errors import InvalidMessage
from logsentry.model_store.ingest import fields
from logsentry.model_store.ingest.formats.access_log import UNRECOGNIZED_FORMAT, parse_line, parse_request_line
from logsentry.model_store.ingest.request_log import request_log

ECS_METHOD = ("http.request.method",)
ECS_URL = ("url.original", "url.full")
ECS_PATH = ("url.path",)
ECS_QUERY = ("url.query",)
ECS_STATUS = ("http.response.status_code",)
ECS_BODY = ("http.request.body.content",)
ECS_CLIENT = ("source.ip", "source.address", "client.ip", "client.address")
ECS_TIME = ("@timestamp",)

FLAT_METHOD = ("method", "request_method", "http_method")
FLAT_TARGET = ("path", "uri", "request_uri", "url")
FLAT_REQUEST = ("request",)
FLAT_QUERY = ("query", "args", "query_string")
FLAT_STATUS = ("status", "code", "status_code")
FLAT_BODY = ("request_body", "body")
FLAT_CLIENT = ("client", "remote", "remote_addr", "remote_ip", "client_ip", "host")
FLAT_TIME = ("timestamp", "time", "time_iso8601", "time_local", "@timestamp")

LINE_FIELDS = ("message", "msg", "log")


def is_ecs(obj: dict[str, Any]) -> bool:
    return any(fields.lookup(obj, p) is not fields.MISSING for p in (*ECS_METHOD, *ECS_URL, *ECS_PATH))


def envelope_line(obj: dict[str, Any], names: tuple[str, ...] = LINE_FIELDS) -> str | None:
    for name in names:
        value = fields.lookup(obj, name)
        if isinstance(value, str):
            return value
    return None


def from_envelope(obj: dict[str, Any], names: tuple[str, ...] = LINE_FIELDS) -> dict[str, Any]:
    line = envelope_line(obj, names)
    if line is None:
        raise InvalidMessage(
            UNRECOGNIZED_FORMAT, f"no request fields, and no access-log line in {'/'.join(names)}: keys {_keys(obj)}"
        )
    return parse_line(line)


def from_ecs(obj: dict[str, Any]) -> dict[str, Any]:
    if not is_ecs(obj):
        return from_envelope(obj)
    return request_log(
        method=fields.text(obj, ECS_METHOD),
        target=fields.text(obj, ECS_URL),
        path=fields.text(obj, ECS_PATH),
        query=fields.text(obj, ECS_QUERY),
        status=fields.status(obj, ECS_STATUS),
        body=fields.body(obj, ECS_BODY, missing=None),
        client=fields.text(obj, ECS_CLIENT),
        timestamp=fields.body(obj, ECS_TIME, missing=None),
    )


def is_flat(obj: dict[str, Any]) -> bool:
    return any(fields.lookup(obj, p) is not fields.MISSING for p in (*FLAT_METHOD, *FLAT_TARGET, *FLAT_REQUEST))


_REFERENCE_KEYS = {"method", "path"}


def looks_flat(obj: dict[str, Any]) -> bool:
    """A flat log rather than a minimal reference log: a key only flat logs use, or a query in the path.

    ``{"method": "get", "path": "/a"}`` reads the same either way; it stays ``reference`` so
    that its other fields are kept as they are.
    """
    if not is_flat(obj):
        return False
    path = obj.get("path")
    if isinstance(path, str) and "?" in path:
        return True
    flat_only = {*FLAT_METHOD, *FLAT_TARGET, *FLAT_REQUEST, *FLAT_QUERY, *FLAT_STATUS, *FLAT_BODY, *FLAT_CLIENT}
    return any(key in obj for key in flat_only - _REFERENCE_KEYS - {"query"})


def from_flat(obj: dict[str, Any]) -> dict[str, Any]:
    if not is_flat(obj):
        return from_envelope(obj)
    method = fields.text(obj, FLAT_METHOD)
    target = fields.text(obj, FLAT_TARGET)
    if method is None or target is None:
        line = fields.text(obj, FLAT_REQUEST)
        if line is not None:
            parsed_method, parsed_target = parse_request_line(line)
            method, target = method or parsed_method, target or parsed_target
    query = fields.first(obj, FLAT_QUERY)[1]
    return request_log(
        method=method,
        target=target,
        query=query if isinstance(query, (str, dict)) else None,
        status=fields.status(obj, FLAT_STATUS),
        body=fields.body(obj, FLAT_BODY, missing=None),
        client=fields.text(obj, FLAT_CLIENT),
        timestamp=fields.body(obj, FLAT_TIME, missing=None),
    )


def _keys(obj: dict[str, Any]) -> str:
    names = list(obj)[:8]
    return ",".join(k[:20] for k in names) + ("..." if len(obj) > 8 else "")
