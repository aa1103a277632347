"""The one definition of a request log: what the model reads, whatever shape it arrived in.

A request log is a JSON object in the reference schema. The fields the model can see are

    method          the HTTP method as logged (the reference data writes it lower-case)
    query           an object: parameter name -> value (a list of values for a repeated name),
                    values percent-decoded once, ``+`` read as a space
    path            the request path as sent, *not* percent-decoded (as in the reference data)
    statusCode      the response status, an integer
    requestPayload  the request body: a JSON object when the body was JSON or a form,
                    else its text; null when none was logged, absent when the log
                    format cannot carry a body (access-log lines)

and, for people and alert keys only (the cleanup drops them): ``timestamp`` and
``source.remoteAddress``. A request log must have a ``method`` or a ``path``; the fields
above, when present, must have those types. Every input format (``model_store.ingest.formats``)
builds its records with :func:`request_log` and every record, whatever its format, passes
:func:`check_request_log`: training, evaluation, ``score`` and the stream accept and refuse
exactly the same records.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, unquote_plus

from logsentry.errors import InvalidMessage

INVALID_EVENT = "invalid_event"
MODEL_FIELDS = ("method", "query", "path", "statusCode", "requestPayload")

_FIELD_TYPES: dict[str, tuple[type, ...]] = {"method": (str,), "path": (str,), "query": (dict,), "statusCode": (int,)}
ABSENT: Any = object()  # a field the log format does not carry
_FORM = re.compile(r"^[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*$")


def check_request_log(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` itself if it is a request log, else :class:`InvalidMessage` (``invalid_event``)."""
    if "method" not in event and "path" not in event:
        raise InvalidMessage(INVALID_EVENT, "not a request log: it has neither method nor path")
    for name, types in _FIELD_TYPES.items():
        if name in event:
            value = event[name]
            if not isinstance(value, types) or isinstance(value, bool):
                expected = " or ".join(t.__name__ for t in types)
                raise InvalidMessage(INVALID_EVENT, f"field {name!r} must be {expected}, not {type(value).__name__}")
    return event


def request_log(
    *,
    method: str | None = None,
    target: str | None = None,
    path: str | None = None,
    query: str | dict[str, Any] | None = None,
    status: int | None = None,
    body: Any = ABSENT,
    client: str | None = None,
    timestamp: Any = None,
) -> dict[str, Any]:
    """Build a checked request log from the parts a log format carries.

    ``target`` is a request target as in a request line (``/p?a=1``, or absolute-form);
    ``path`` and ``query`` given separately take precedence over what ``target`` holds.
    ``query`` may be a query string or an already parsed mapping. ``body`` is raw text (read
    as JSON, then as a form, else kept as text) or a parsed value; leave it out when the
    format has no body at all.
    """
    target_path, target_query = split_target(target) if target else (None, None)
    path = path if path not in (None, "") else target_path
    if query is None or query == "":
        query = target_query
    event: dict[str, Any] = {}
    if timestamp not in (None, ""):
        event["timestamp"] = timestamp
    if method not in (None, "", "-"):
        event["method"] = str(method).lower()
    event["query"] = parse_query(query) if isinstance(query, str) else dict(query or {})
    if path not in (None, ""):
        event["path"] = path
    if status is not None:
        event["statusCode"] = status
    if client not in (None, "", "-"):
        event["source"] = {"remoteAddress": str(client)}
    if body is not ABSENT:
        event["requestPayload"] = parse_body(body)
    if "method" not in event and "path" not in event:
        raise InvalidMessage(INVALID_EVENT, "not a request log: it has neither method nor path")
    return check_request_log(event)


def split_target(target: str) -> tuple[str | None, str | None]:
    """(path, query string) of a request target; absolute-form targets lose scheme and host."""
    target = target.split("#", 1)[0]
    if "://" in target[:16] and not target.startswith("/"):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        question = rest.find("?")
        cut = min(i for i in (slash, question, len(rest)) if i >= 0)
        target = rest[cut:] or "/"
        if target.startswith("?"):
            target = "/" + target
    path, sep, query = target.partition("?")
    return path or None, query if sep else None


def parse_query(query: str) -> dict[str, Any]:
    """A query string as the reference data holds it: values decoded once, repeats as lists.

    The reference logs come from a Node.js server, whose ``querystring`` reads ``+`` as a
    space, percent-decodes names and values once (invalid escapes stay as they are) and
    collects a repeated name into a list.
    """
    out: dict[str, Any] = {}
    if not query:
        return out
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name, value = _decode(name), _decode(value)
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def _decode(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    # invalid UTF-8 after decoding becomes U+FFFD, as in Node.js
    return unquote_plus(text, errors="replace") if "+" in text else unquote(text, errors="replace")


def parse_body(body: Any) -> Any:
    """A request body as the reference data holds it: JSON or a form read into an object."""
    if not isinstance(body, str):
        return body
    text = body.strip()
    if text in ("", "-"):
        return None
    if text[:1] in ("{", "["):
        try:
            return json.loads(text, parse_constant=lambda name: name)
        except (ValueError, RecursionError):
            return body
    if _FORM.match(text):
        return parse_query(text)
    return body
