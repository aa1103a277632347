"""Access-log text lines: the ``combined`` and ``common`` formats of nginx and Apache.

    client ident user [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "referer" "agent"

``common`` stops after the size; fields after the agent (nginx's ``main`` adds
``$http_x_forwarded_for``) are ignored. Inside quotes nginx writes ``"``, ``\\`` and bytes
outside printable ASCII as ``\\xHH``; Apache writes ``\\"`` and ``\\\\``: both are undone
before the request line is read, so the path and query are what the client sent. An access
log has no request body: records from it have no ``requestPayload``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from logsentry.errors import InvalidMessage
from logsentry.model_store.ingest.request_log import INVALID_EVENT, request_log

UNRECOGNIZED_FORMAT = "unrecognized_format"

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_LINE = re.compile(
    r"(\S+) \S+ \S+ \[([^\]]{1,64})\] " + _QUOTED + r" (\d{3}|-) (\d+|-)(?: " + _QUOTED + " " + _QUOTED + ")?",
    re.DOTALL,
)
_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})|\\(.)", re.DOTALL)
_METHOD = re.compile(r"[A-Za-z][A-Za-z_-]{0,31}")


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    raw = _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]) if m[1] else m[2], text.encode("utf-8", "surrogatepass"))
    return raw.decode("utf-8", "replace")


def _timestamp(text: str) -> Any:
    try:
        return int(datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp() * 1000)
    except ValueError:
        return text


def parse_request_line(request: str) -> tuple[str | None, str | None]:
    """(method, target) of ``METHOD TARGET [PROTOCOL]``, or (None, None) if it is not one."""
    parts = request.split(" ")
    if len(parts) >= 3 and parts[-1].upper().startswith("HTTP/"):
        method, target = parts[0], " ".join(parts[1:-1])
    elif len(parts) == 2:
        method, target = parts
    else:
        return None, None
    if not _METHOD.fullmatch(method) or not target:
        return None, None
    return method, target


def parse_line(line: str) -> dict[str, Any]:
    """One access-log line to a request log; ``unrecognized_format`` if it is not one."""
    match = _LINE.match(line.rstrip("\r\n"))
    if match is None:
        preview = line[:60].encode("ascii", "backslashreplace").decode()
        raise InvalidMessage(UNRECOGNIZED_FORMAT, f"not a combined/common access-log line: {preview!r}")
    client, when, request, status, _size, _referer, _agent = match.groups()
    method, target = parse_request_line(_unescape(request))
    if method is None:
        preview = request[:60].encode("ascii", "backslashreplace").decode()
        raise InvalidMessage(INVALID_EVENT, f"not a request log: the request line {preview!r} has no method and path")
    code = None if status == "-" else int(status)  # the pattern allows three digits or "-"
    return request_log(method=method, target=target, status=code, client=client, timestamp=_timestamp(when))
