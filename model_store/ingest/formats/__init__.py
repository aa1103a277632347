"""Raw messages to request logs: one module shared by ``train``, ``evaluate``, ``score``, ``replay``, ``stream``.

A message (bytes from Kafka, a line of a file) holds zero, one or many request records.
:func:`decode_message` reads it in one input format and returns each record as a checked
request log (:mod:`model_store.ingest.request_log`), or raises :class:`InvalidMessage` with a stable
reason (:mod:`model_store.ingest.decode`) when the message as a whole is unusable. In a message of
many records (OTLP), a record that is not a request log is returned as its error, beside
the good ones.

Formats (``--input-format``):

``reference``   the reference JSON request log (the shared data's schema), as it is
``combined``    an nginx/Apache ``combined`` or ``common`` access-log line, bare or in a JSON
                envelope's ``message`` field (``common`` is the same reader)
``ecs``         Elastic Common Schema JSON (:mod:`model_store.ingest.formats.json_logs`)
``flat``        flat collector JSON: Vector, Fluent Bit, nginx ``escape=json``
``otlp-json``   OpenTelemetry OTLP JSON logs, many records per message (:mod:`...otlp`)
``mapping:F``   a JSON object read through the field mapping in file F (:mod:`...mapping`)
``auto``        detected per message (the default); the detected name is reported

Detection (``auto``): text that does not start with ``{`` or ``[`` is an access-log line;
a JSON object with ``resourceLogs`` is OTLP; one with the reference schema's ``query``,
``statusCode``, ``requestPayload`` or ``route`` is ``reference``; one with ECS's
``http.request.method``/``url.*`` is ``ecs``; one with a key only flat logs use (``status``,
``uri``, ``request``, ``remote_addr``, ...) or a query string in its ``path`` is ``flat``;
one whose ``message`` holds a line is ``combined``; anything else is read as ``reference``
(so ``{"method": "get", "path": "/a"}`` keeps its other fields, and an object with neither
method nor path is refused as ``invalid_event``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError, InvalidMessage
from logsentry.model_store.ingest.decode import (
    NOT_OBJECT,
    UNRECOGNIZED_FORMAT,
    DecodeLimits,
    looks_like_json,
    message_text,
    parse_json,
    parse_json_object,
)
from logsentry.model_store.ingest.formats.access_log import parse_line
from logsentry.model_store.ingest.formats.json_logs import (
    envelope_line,
    from_ecs,
    from_envelope,
    from_flat,
    is_ecs,
    looks_flat,
)
from logsentry.model_store.ingest.formats.mapping import FieldMapping, load_mapping
from logsentry.model_store.ingest.formats.otlp import from_otlp, is_otlp
from logsentry.model_store.ingest.request_log import check_request_log

AUTO = "auto"
REFERENCE = "reference"
COMBINED = "combined"
ECS = "ecs"
FLAT = "flat"
OTLP_JSON = "otlp-json"
MAPPING = "mapping"
FORMAT_NAMES = (AUTO, REFERENCE, COMBINED, "common", ECS, FLAT, OTLP_JSON, "mapping:FILE")
_REFERENCE_MARKERS = ("query", "statusCode", "requestPayload", "route")

Record = dict[str, Any]


@dataclass(frozen=True)
class InputFormat:
    """How messages are read: a format name, and the field mapping for ``mapping:FILE``."""

    name: str = AUTO
    mapping: FieldMapping | None = None

    def __str__(self) -> str:
        return f"{MAPPING}:{self.mapping.source}" if self.mapping else self.name


@dataclass(frozen=True)
class Decoded:
    """The records of one message, in order; ``label`` when a mapping names one."""

    format: str
    records: tuple[Record | InvalidMessage, ...]
    label: int | None = None


def input_format(spec: str) -> InputFormat:
    """Parse an ``--input-format`` value (reads the file of ``mapping:FILE``)."""
    spec = (spec or AUTO).strip()
    if spec.startswith(MAPPING + ":"):
        path = spec[len(MAPPING) + 1 :]
        if not path:
            raise ConfigError("--input-format mapping:FILE needs a file name")
        return InputFormat(MAPPING, load_mapping(Path(path)))
    name = COMBINED if spec == "common" else spec
    if name not in FORMAT_NAMES:
        raise ConfigError(f"unknown input format {spec!r}: choose one of {', '.join(FORMAT_NAMES)}")
    return InputFormat(name)


def decode_message(
    value: bytes | None, fmt: InputFormat = InputFormat(), limits: DecodeLimits = DecodeLimits()
) -> Decoded:
    """Read one message in ``fmt``; :class:`InvalidMessage` if no record can be had from it."""
    text = message_text(value, limits)
    if fmt.name == AUTO:
        return _auto(text, limits)
    if fmt.name == COMBINED:
        return _single(
            COMBINED, from_envelope(parse_json_object(text, limits)) if looks_like_json(text) else parse_line(text)
        )
    if fmt.name == OTLP_JSON:
        return Decoded(OTLP_JSON, tuple(from_otlp(parse_json_object(text, limits), limits.max_records)))
    obj = parse_json_object(text, limits)
    if fmt.name == REFERENCE:
        return _single(REFERENCE, check_request_log(obj))
    if fmt.name == ECS:
        return _single(ECS, from_ecs(obj))
    if fmt.name == FLAT:
        return _single(FLAT, from_flat(obj))
    if fmt.mapping is None:
        raise ConfigError(f"input format {fmt.name!r} has no reader")
    return Decoded(MAPPING, (fmt.mapping.record(obj),), fmt.mapping.label_of(obj))


def _single(name: str, record: Record) -> Decoded:
    return Decoded(name, (record,))


def _auto(text: str, limits: DecodeLimits) -> Decoded:
    if not looks_like_json(text):
        try:
            return _single(COMBINED, parse_line(text))
        except InvalidMessage as not_a_line:
            if not_a_line.reason != UNRECOGNIZED_FORMAT:
                raise
            try:
                parse_json(text, limits)
            except InvalidMessage:
                raise not_a_line from None
            raise InvalidMessage(NOT_OBJECT, "a JSON scalar is not a request log") from None
    obj = parse_json_object(text, limits)
    if is_otlp(obj):
        return Decoded(OTLP_JSON, tuple(from_otlp(obj, limits.max_records)))
    if any(marker in obj for marker in _REFERENCE_MARKERS):
        return _single(REFERENCE, check_request_log(obj))
    if is_ecs(obj):
        return _single(ECS, from_ecs(obj))
    if looks_flat(obj):
        return _single(FLAT, from_flat(obj))
    if envelope_line(obj) is not None:
        return _single(COMBINED, from_envelope(obj))
    return _single(REFERENCE, check_request_log(obj))


def decode_event(value: bytes | None, limits: DecodeLimits = DecodeLimits()) -> Record:
    """The one request log of a reference-format message (the stream's historical decoder)."""
    (record,) = decode_message(value, InputFormat(REFERENCE), limits).records
    assert not isinstance(record, InvalidMessage)
    return record


__all__ = [
    "AUTO",
    "FORMAT_NAMES",
    "UNRECOGNIZED_FORMAT",
    "Decoded",
    "InputFormat",
    "Record",
    "decode_event",
    "decode_message",
    "input_format",
]
