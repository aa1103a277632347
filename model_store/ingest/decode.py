"""Message bytes to text and strict JSON, or a reason to refuse them.

Pure and strict: a message is usable only if it is non-empty UTF-8 of at most
``max_bytes``; JSON is read strictly (no ``NaN``/``Infinity``, no duplicate keys, no number
of more than ``MAX_NUMBER_CHARS`` characters or beyond a float's range, nested at most
``max_depth`` deep). What a message may cost is refused as early as it can be known: its
size before it is decoded (and a file's over-long line before it is held, see
:mod:`model_store.ingest.lines`), its record count while it is parsed (each ``logRecords`` list is
counted as soon as it is read, and parsing stops past ``max_records``). Duplicate keys are refused
rather than resolved, because two parsers that resolve them differently are a classic way
to show a detector one request and the application another.

The reason labels below are stable: they appear in dead-letter headers, in metric labels
and in ``logsentry score`` output. Which *shapes* of message are request logs is decided by
:mod:`model_store.ingest.formats`; what a request log must hold, by :mod:`model_store.ingest.request_log`.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from logsentry.errors import ConfigError, InvalidMessage

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


MAX_NUMBER_CHARS = 100  # a JSON number's characters: ids and amounts need far fewer
RECORD_LIST_KEY = "logRecords"  # where a multi-record message (OTLP, formats/otlp.py) lists its records


@dataclass(frozen=True)
class DecodeLimits:
    """What messages may cost: one message's bytes, JSON nesting and request records (OTLP
    batches); a batch's bytes (messages are scored in batches of at most ``batch_bytes``,
    or one message when a single one is larger)."""

    max_bytes: int = 1_000_000
    max_depth: int = 32
    max_records: int = 10_000
    batch_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_depth, self.max_records, self.batch_bytes) < 1:
            raise ConfigError("max_bytes, max_depth, max_records and batch_bytes must be at least 1")


class _DuplicateKey(ValueError):
    pass


class _TooManyRecords(ValueError):
    pass


_parsing = threading.local()  # the record budget of the message this thread is parsing


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if not pairs:
        return {}
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _DuplicateKey(f"key {duplicate[:40]!r} appears more than once")
    records = out.get(RECORD_LIST_KEY)
    if isinstance(records, list):  # counted as soon as its list is read, not after the message
        _parsing.records += len(records)
        if _parsing.records > _parsing.max_records:
            raise _TooManyRecords(f"more than {_parsing.max_records} log records in one message")
    return out


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    value = float(_number(text))
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is beyond a float's range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _depth(text: str) -> int:
    """How deep the JSON ``text`` nests: its brackets counted outside strings, at C speed."""
    codes = np.frombuffer(_STRING.sub("", text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = (codes == ord("[")).astype(np.int32) + (codes == ord("{")) - (codes == ord("]")) - (codes == ord("}"))
    return int(np.cumsum(steps).max(initial=0))


def message_text(value: bytes | None, limits: DecodeLimits = DecodeLimits()) -> str:
    """The message as text: non-empty, within the size limit, valid UTF-8."""
    if not value:
        raise InvalidMessage(EMPTY, "message has no value")
    if len(value) > limits.max_bytes:
        raise too_large(len(value), limits)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None


def too_large(size: int, limits: DecodeLimits) -> InvalidMessage:
    """Why a message (or a file's line) of ``size`` bytes is refused unread."""
    return InvalidMessage(TOO_LARGE, f"{size} bytes exceed the limit of {limits.max_bytes}")


# one decoder for every message: ``json.loads`` with hooks builds a new one per call
_STRICT = json.JSONDecoder(
    object_pairs_hook=_unique_pairs, parse_constant=_no_constant, parse_int=_int, parse_float=_float
)


def _may_exceed_depth(text: str, limit: int) -> bool:
    """Cheap bound: nesting can exceed ``limit`` only if the text opens more than ``limit`` brackets.

    Every JSON object or array opens with ``{`` or ``[``, so the count of those characters
    (inside strings too: it only over-counts) bounds the depth. Ordinary request logs stay far
    below the limit and skip the walk over the parsed value.
    """
    return text.count("{") + text.count("[") > limit


def parse_json(text: str, limits: DecodeLimits = DecodeLimits()) -> Any:
    """Strict JSON (see the module docstring), or :class:`InvalidMessage` saying why not."""
    _parsing.records, _parsing.max_records = 0, limits.max_records
    try:
        value = _STRICT.decode(text)
    except _DuplicateKey as exc:
        raise InvalidMessage(DUPLICATE_KEY, str(exc)) from None
    except _TooManyRecords as exc:
        raise InvalidMessage(TOO_MANY_RECORDS, str(exc)) from None
    except RecursionError:
        raise InvalidMessage(TOO_DEEP, "nesting exceeds the parser's recursion limit") from None
    except ValueError as exc:
        raise InvalidMessage(NOT_JSON, str(exc)[:200]) from None
    if (
        isinstance(value, (dict, list))
        and _may_exceed_depth(text, limits.max_depth)
        and _depth(text) > limits.max_depth
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
