"""Reading named fields out of a decoded JSON message: dotted paths, fallbacks, types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logsentry.errors import InvalidMessage
from logsentry.model_store.ingest.request_log import ABSENT, INVALID_EVENT

MISSING: Any = ABSENT


def lookup(obj: Any, path: str) -> Any:
    """The value at dotted ``path`` in nested objects, dotted keys or a mix of both."""
    if not isinstance(obj, dict):
        return MISSING
    if path in obj:
        return obj[path]
    parts = path.split(".")
    node: Any = obj  # the common case first: plain nesting
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        return node
    for cut in range(len(parts) - 1, 0, -1):
        head = obj.get(".".join(parts[:cut]))
        if isinstance(head, dict):
            found = lookup(head, ".".join(parts[cut:]))
            if found is not MISSING:
                return found
    return MISSING


def first(obj: Any, paths: Sequence[str]) -> tuple[str, Any]:
    """(path, value) of the first of ``paths`` present and not null, else ("", MISSING)."""
    for path in paths:
        value = lookup(obj, path)
        if value is not MISSING and value is not None:
            return path, value
    return "", MISSING


def text(obj: Any, paths: Sequence[str]) -> str | None:
    """The first present field of ``paths`` as a string; ``invalid_event`` if it is not one."""
    path, value = first(obj, paths)
    if value is MISSING:
        return None
    if not isinstance(value, str):
        raise InvalidMessage(INVALID_EVENT, f"field {path!r} must be a string, not {type(value).__name__}")
    return value


def status(obj: Any, paths: Sequence[str]) -> int | None:
    path, value = first(obj, paths)
    if value is MISSING:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, str) and value.strip() in ("", "-"):
        return None
    raise InvalidMessage(INVALID_EVENT, f"field {path!r} must be a status code, not {str(value)[:20]!r}")


def body(obj: Any, paths: Sequence[str], *, missing: Any = MISSING) -> Any:
    """The first present field's value as it is (a body, a time); ``missing`` when there is none."""
    value = first(obj, paths)[1]
    return missing if value is MISSING else value
