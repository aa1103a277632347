"""Field paths, the one module that names and finds fields, in two directions:

* **the fields of a request log** (:func:`field_name`, :func:`field_path`, :func:`value_at`):
  the canonical name of a leaf, ``query.q``, ``requestPayload.items[0].name``, a key holding
  ``.``, ``[``, ``]`` or ``"`` quoted as a JSON string (``query["__proto__.admin"]``). An
  explanation names its span's field so, a suppression rule names the field it matches, and
  ``logsentry alerts --field`` reads one;
* **fields of a third-party log** (:func:`lookup`, :func:`first`, :func:`text`, :func:`status`,
  :func:`body`): the input formats read ECS, flat JSON and OTLP attributes by dotted paths
  that may be nested objects, dotted keys or a mix of both, with fallbacks and types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from logsentry.errors import InvalidMessage
from logsentry.model_store.ingest.request_log import ABSENT, INVALID_EVENT

MISSING: Any = ABSENT

Path = tuple[str | int, ...]  # a leaf's keys and list positions from the record's top

_PLAIN = re.compile(r'[^.\[\]"]+')
_PART = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def field_name(path: Path) -> str:
    """``("query", "q")`` -> ``query.q``; list positions as ``items[0]``; a key holding ``.``, ``[``,
    ``]`` or ``"`` (``__proto__.admin``) quoted as a JSON string: ``query["__proto__.admin"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def field_path(field: str) -> Path | None:
    """The inverse of :func:`field_name`; None for a text it could not have written."""
    parts: list[str | int] = []
    position = 0
    while position < len(field):
        match = _PART.match(field, position)
        if match is None or (position == 0 and field.startswith(".")):
            return None
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else json.loads(quoted) if quoted is not None else name)
        position = match.end()
    return tuple(parts)


def value_at(record: Any, field: str) -> Any:
    """The value at a ``field_name`` path in ``record``, or None when it holds no such path."""
    value = record
    for part in field_path(field) or (None,):
        found = (isinstance(part, int) and isinstance(value, list) and part < len(value)) or (
            isinstance(part, str) and isinstance(value, Mapping) and part in value
        )
        if not found:
            return None
        value = value[part]
    return value


# -- third-party logs ------------------------------------------------------------------------


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
