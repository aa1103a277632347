"""``--input-format mapping:FILE``: the operator names where each request field lives.

A small YAML (or JSON) file; each entry is a dotted path or a list of fallbacks, tried in
order (nested objects and dotted keys both work)::

    method: [request_method, http.method]
    target: request_uri        # a request target, path and query string together
    request: request           # or a request line: "GET /a?b=1 HTTP/1.1"
    path: uri                  # or path and query apart
    query: args
    status: status
    body: request_body         # null when missing; leave out when the log has no body at all
    client: remote_addr
    timestamp: time_iso8601
    line: message              # this field holds a combined-format access-log line
    label: is_attack           # labelled training data: 0/1 (or false/true) per message

At least one of ``method``, ``target``, ``request``, ``path`` or ``line`` is required. A
message in which none of the named request fields is present is ``invalid_event``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError, InvalidMessage
from logsentry.model_store.ingest import fields as lookup
from logsentry.model_store.ingest.formats.access_log import parse_line, parse_request_line
from logsentry.model_store.ingest.request_log import ABSENT, INVALID_EVENT, request_log


@dataclass(frozen=True)
class FieldMapping:
    source: str = ""
    method: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    request: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    client: tuple[str, ...] = ()
    timestamp: tuple[str, ...] = ()
    line: tuple[str, ...] = ()
    label: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> FieldMapping:
        if not isinstance(data, Mapping):
            raise ConfigError(f"mapping {source}: must be a mapping of field name to path(s)")
        names = [f.name for f in fields(cls) if f.name != "source"]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(
                f"mapping {source}: unknown field(s) {', '.join(map(str, unknown))}; known: {', '.join(names)}"
            )
        values: dict[str, tuple[str, ...]] = {}
        for name, raw in data.items():
            paths = [raw] if isinstance(raw, str) else raw
            if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
                raise ConfigError(f"mapping {source}: {name} must be a dotted path or a list of them")
            values[name] = tuple(paths)
        mapping = cls(source=source, **values)
        if not (mapping.method or mapping.target or mapping.request or mapping.path or mapping.line):
            raise ConfigError(f"mapping {source}: name at least one of method, target, request, path or line")
        return mapping

    def record(self, obj: dict[str, Any]) -> dict[str, Any]:
        method = lookup.text(obj, self.method) if self.method else None
        target = lookup.text(obj, self.target) if self.target else None
        if (method is None or target is None) and self.request:
            request = lookup.text(obj, self.request)
            if request is not None:
                parsed_method, parsed_target = parse_request_line(request)
                method, target = method or parsed_method, target or parsed_target
        path = lookup.text(obj, self.path) if self.path else None
        if method is None and target is None and path is None:
            line = lookup.text(obj, self.line) if self.line else None
            if line is not None:
                return parse_line(line)
            named = [p for group in (self.method, self.target, self.request, self.path, self.line) for p in group]
            raise InvalidMessage(
                INVALID_EVENT, f"mapping {self.source}: none of {', '.join(named)} is present in the message"
            )
        query = lookup.first(obj, self.query)[1] if self.query else None
        return request_log(
            method=method,
            target=target,
            path=path,
            query=query if isinstance(query, (str, dict)) else None,
            status=lookup.status(obj, self.status) if self.status else None,
            body=lookup.body(obj, self.body, missing=None) if self.body else ABSENT,
            client=lookup.text(obj, self.client) if self.client else None,
            timestamp=lookup.first(obj, self.timestamp)[1] if self.timestamp else None,
        )

    def label_of(self, obj: dict[str, Any]) -> int | None:
        if not self.label:
            return None
        path, value = lookup.first(obj, self.label)
        if value in (0, 1, "0", "1") and not isinstance(value, float):  # true/false count as 1/0
            return int(value)
        raise InvalidMessage(INVALID_EVENT, f"label {path or self.label[0]!r} must be 0 or 1, not {value!r}"[:200])


def load_mapping(path: Path) -> FieldMapping:
    """Read a mapping file; :class:`ConfigError` naming the file if it cannot be used."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"mapping file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"mapping file {path} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping file {path} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping file {path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    return FieldMapping.from_dict(data, source=path.name)
