"""Kafka message bytes to a request-log object, or a reason to dead-letter them.

Pure and strict: a message is a request log only if it is non-empty UTF-8 of at most
``max_bytes``, strict JSON (no ``NaN``/``Infinity``, no duplicate keys, integers within
Python's digit limit), an object, nested at most ``max_depth`` deep, that has a ``method``
or a ``path`` and whose known fields have their logged types (``method`` and ``path``
strings, ``query`` an object, ``statusCode`` an integer). Other fields may be missing or
extra; the cleanup decides what the model sees. Duplicate keys are
refused rather than resolved, because two parsers that resolve them differently are a
classic way to show a detector one request and the application another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model_store.errors import InvalidMessage

# Stable reason labels: they appear in dead-letter headers and in metric labels.
EMPTY = "empty"
TOO_LARGE = "too_large"
NOT_UTF8 = "not_utf8"
NOT_JSON = "not_json"
NOT_OBJECT = "not_object"
TOO_DEEP = "too_deep"
DUPLICATE_KEY = "duplicate_key"
INVALID_EVENT = "invalid_event"
REASONS = (EMPTY, TOO_LARGE, NOT_UTF8, NOT_JSON, NOT_OBJECT, TOO_DEEP, DUPLICATE_KEY, INVALID_EVENT)


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = 1_000_000
    max_depth: int = 32


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _DuplicateKey(f"key {duplicate[:40]!r} appears more than once")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def decode_event(value: bytes | None, limits: DecodeLimits = DecodeLimits()) -> dict[str, Any]:
    """Parse one message value; :class:`InvalidMessage` with a reason label if it is unusable."""
    if not value:
        raise InvalidMessage(EMPTY, "message has no value")
    if len(value) > limits.max_bytes:
        raise InvalidMessage(TOO_LARGE, f"{len(value)} bytes exceed the limit of {limits.max_bytes}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        event = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise InvalidMessage(DUPLICATE_KEY, str(exc)) from None
    except RecursionError:
        raise InvalidMessage(TOO_DEEP, "nesting exceeds the parser's recursion limit") from None
    except ValueError as exc:
        raise InvalidMessage(NOT_JSON, str(exc)[:200]) from None
    if not isinstance(event, dict):
        raise InvalidMessage(NOT_OBJECT, f"a request log must be a JSON object, not {type(event).__name__}")
    if _depth_exceeds(event, limits.max_depth):
        raise InvalidMessage(TOO_DEEP, f"nesting exceeds {limits.max_depth} levels")
    _check_fields(event)
    return event


_FIELD_TYPES: dict[str, tuple[type, ...]] = {"method": (str,), "path": (str,), "query": (dict,), "statusCode": (int,)}


def _check_fields(event: dict[str, Any]) -> None:
    if "method" not in event and "path" not in event:
        raise InvalidMessage(INVALID_EVENT, "not a request log: it has neither method nor path")
    for name, types in _FIELD_TYPES.items():
        value = event.get(name)
        if name in event and (not isinstance(value, types) or isinstance(value, bool)):
            expected = " or ".join(t.__name__ for t in types)
            raise InvalidMessage(INVALID_EVENT, f"field {name!r} must be {expected}, not {type(value).__name__}")
