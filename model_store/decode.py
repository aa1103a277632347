"""Message bytes to text and strict JSON, or a reason to refuse them.

Pure and strict: a message is usable only if it is non-empty UTF-8 of at most
``max_bytes``; JSON is read strictly (no ``NaN``/``Infinity``, no duplicate keys, integers
within Python's digit limit, nested at most ``max_depth`` deep). Duplicate keys are refused
rather than resolved, because two parsers that resolve them differently are a classic way
to show a detector one request and the application another.

The reason labels below are stable: they appear in dead-letter headers, in metric labels
and in ``logsentry score`` output. Which *shapes* of message are request logs is decided by
:mod:`model_store.formats`; what a request log must hold, by :mod:`model_store.request_log`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from logsentry.model_store.errors import ConfigError, InvalidMessage

EMPTY = "empty"
TOO_LARGE = "too_large"
NOT_UTF8 = "not_utf8"
NOT_JSON = "not_json"
NOT_OBJECT = "not_object"
TOO_DEEP = "too_deep"
DUPLICATE_KEY = "duplicate_key"
INVALID_EVENT = "invalid_event"
UNRECOGNIZED_FORMAT = "unrecognized_format"
TOO_MANY_RECORDS = "too_many_records"
REASONS = (
    EMPTY,
    TOO_LARGE,
    NOT_UTF8,
    NOT_JSON,
    NOT_OBJECT,
    TOO_DEEP,
    DUPLICATE_KEY,
    INVALID_EVENT,
    UNRECOGNIZED_FORMAT,
    TOO_MANY_RECORDS,
)


@dataclass(frozen=True)
class DecodeLimits:
    """What one message may cost: bytes, JSON nesting, request records (OTLP batches)."""

    max_bytes: int = 1_000_000
    max_depth: int = 32
    max_records: int = 10_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_depth < 1 or self.max_records < 1:
            raise ConfigError("max_bytes, max_depth and max_records must be at least 1")


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


def message_text(value: bytes | None, limits: DecodeLimits = DecodeLimits()) -> str:
    """The message as text: non-empty, within the size limit, valid UTF-8."""
    if not value:
        raise InvalidMessage(EMPTY, "message has no value")
    if len(value) > limits.max_bytes:
        raise InvalidMessage(TOO_LARGE, f"{len(value)} bytes exceed the limit of {limits.max_bytes}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None


# one decoder for every message: ``json.loads`` with hooks builds a new one per call
_STRICT = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_no_constant)


def _may_exceed_depth(text: str, limit: int) -> bool:
    """Cheap bound: nesting can exceed ``limit`` only if the text opens more than ``limit`` brackets.

    Every JSON object or array opens with ``{`` or ``[``, so the count of those characters
    (inside strings too: it only over-counts) bounds the depth. Ordinary request logs stay far
    below the limit and skip the walk over the parsed value.
    """
    return text.count("{") + text.count("[") > limit


def parse_json(text: str, limits: DecodeLimits = DecodeLimits()) -> Any:
    """Strict JSON (see the module docstring), or :class:`InvalidMessage` saying why not."""
    try:
        value = _STRICT.decode(text)
    except _DuplicateKey as exc:
        raise InvalidMessage(DUPLICATE_KEY, str(exc)) from None
    except RecursionError:
        raise InvalidMessage(TOO_DEEP, "nesting exceeds the parser's recursion limit") from None
    except ValueError as exc:
        raise InvalidMessage(NOT_JSON, str(exc)[:200]) from None
    if (
        isinstance(value, (dict, list))
        and _may_exceed_depth(text, limits.max_depth)
        and _depth_exceeds(value, limits.max_depth)
    ):
        raise InvalidMessage(TOO_DEEP, f"nesting exceeds {limits.max_depth} levels")
    return value


def parse_json_object(text: str, limits: DecodeLimits = DecodeLimits()) -> dict[str, Any]:
    value = parse_json(text, limits)
    if not isinstance(value, dict):
        raise InvalidMessage(NOT_OBJECT, f"a request log must be a JSON object, not {type(value).__name__}")
    return value


def looks_like_json(text: str) -> bool:
    """Whether the writer meant ``text`` as a JSON object or array (its first character)."""
    stripped = text.lstrip()
    return stripped[:1] in ("{", "[")
