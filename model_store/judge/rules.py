"""The analyst's rules: suppressions and per-route thresholds, read from one YAML file.

Applied after scoring and before alerting (:func:`model_store.judge.verdict.judge`)::

    suppressions:                       # flagged requests that must not alert
      - name: search-sql-words          # [a-z0-9_.-], unique: the metric label
        route: /search*                 # glob on the request path (fnmatch, case-sensitive)
        method: get                     # optional, any case
        field: query.q                  # optional: a field path, as explanations name them
        regex: "(select|union) [a-z ]+" # optional, RE2 syntax, must match the whole value
        # equals: "exact value"         # or an exact value instead of regex
        expires: 2027-03-01             # optional: last day (UTC) the rule matches
        created: 2026-11-30             # optional: for the unused-rule alert
        reason: our analysts search for SQL words
        author: alice@example.com
    thresholds:                         # first matching entry wins: specific routes first
      - route: /admin/*
        threshold: 0.5                  # more sensitive than the model's own
      - route: /search*
        method: get
        threshold: 0.995

Regular expressions run on RE2 (linear time, no backtracking), so a catastrophic pattern
such as ``(a+)+$`` costs the same as any other and cannot stall the stream; constructs RE2
does not have (backreferences, lookaround) are refused when the file is read. A rule file
that fails any check is refused as a whole with a one-line error naming the entry; the
stream keeps the rules it had.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from logsentry.errors import ConfigError
from logsentry.model_store.ingest.fields import value_at

_NAME = re.compile(r"[a-z0-9_.-]{1,64}")
_SUPPRESSION_KEYS = {"name", "route", "method", "field", "equals", "regex", "expires", "created", "reason", "author"}
_THRESHOLD_KEYS = {"route", "method", "threshold"}


class RulesError(ConfigError):
    """A rules file cannot be used; the message names the entry and the problem."""


def _compile(pattern: str, where: str) -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RulesError(f"{where}: regex {pattern!r} is not valid RE2 syntax ({detail})") from None


@dataclass(frozen=True)
class Suppression:
    name: str
    route: str
    reason: str
    author: str
    method: str | None = None
    field: str | None = None
    equals: str | None = None
    regex: str | None = None
    expires: dt.date | None = None
    created: dt.date | None = None
    _compiled: Any = dataclasses.field(default=None, compare=False, repr=False)

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires

    def matches(self, record: Mapping[str, Any], today: dt.date) -> bool:
        if not self.active(today) or not _on_route(record, self.route, self.method):
            return False
        if self.field is None:
            return True
        value = value_at(record, self.field)
        if value is None or isinstance(value, (dict, list)):
            return False
        text = value if isinstance(value, str) else str(value)
        if self.equals is not None:
            return text == self.equals
        if self._compiled is not None:
            return self._compiled.fullmatch(text) is not None
        return True


@dataclass(frozen=True)
class RouteThreshold:
    route: str
    threshold: float
    method: str | None = None


@dataclass(frozen=True)
class Rules:
    """What the analysts decided; empty rules change nothing."""

    suppressions: tuple[Suppression, ...] = ()
    thresholds: tuple[RouteThreshold, ...] = ()

    def threshold(self, record: Mapping[str, Any], default: float) -> float:
        """The first matching route's threshold, else the model's own."""
        for entry in self.thresholds:
            if _on_route(record, entry.route, entry.method):
                return entry.threshold
        return default

    def suppressed_by(self, record: Mapping[str, Any], today: dt.date | None = None) -> str | None:
        """The name of the first rule that suppresses ``record``, or None."""
        today = today or dt.datetime.now(dt.UTC).date()
        for rule in self.suppressions:
            if rule.matches(record, today):
                return rule.name
        return None


NO_RULES = Rules()


def _on_route(record: Mapping[str, Any], route: str, method: str | None) -> bool:
    path = record.get("path")
    if not isinstance(path, str) or not fnmatch.fnmatchcase(path, route):
        return False
    return method is None or str(record.get("method", "")).lower() == method


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise RulesError(f"{where}: {key} is required")
        return None
    if not isinstance(value, str) or not value:
        raise RulesError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value


def _date(entry: Mapping[str, Any], key: str, where: str) -> dt.date | None:
    value = entry.get(key)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise RulesError(f"{where}: {key} must be a date like 2027-03-01, not {value!r}")


def _entries(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = data.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise RulesError(f"{key} must be a list of entries")
    return entries


def _suppression(entry: Mapping[str, Any], index: int) -> Suppression:
    where = f"suppressions[{index}]" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
    unknown = set(entry) - _SUPPRESSION_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_SUPPRESSION_KEYS))})")
    name = _text(entry, "name", where, required=True)
    assert name is not None
    if not _NAME.fullmatch(name):
        raise RulesError(f"{where}: name must be 1-64 of a-z 0-9 _ . - (it becomes a metric label)")
    equals = entry.get("equals")
    if equals is not None and not isinstance(equals, (str, int, float)):
        raise RulesError(f"{where}: equals must be a string or a number")
    regex = _text(entry, "regex", where)
    fieldname = _text(entry, "field", where)
    if equals is not None and regex is not None:
        raise RulesError(f"{where}: give equals or regex, not both")
    if (equals is not None or regex is not None) and fieldname is None:
        raise RulesError(f"{where}: equals and regex need the field they look at")
    method = _text(entry, "method", where)
    return Suppression(
        name=name,
        route=_text(entry, "route", where, required=True) or "",
        reason=_text(entry, "reason", where, required=True) or "",
        author=_text(entry, "author", where, required=True) or "",
        method=method.lower() if method else None,
        field=fieldname,
        equals=None if equals is None else str(equals),
        regex=regex,
        expires=_date(entry, "expires", where),
        created=_date(entry, "created", where),
        _compiled=_compile(regex, where) if regex is not None else None,
    )


def _route_threshold(entry: Mapping[str, Any], index: int) -> RouteThreshold:
    where = f"thresholds[{index}]"
    unknown = set(entry) - _THRESHOLD_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_THRESHOLD_KEYS))})")
    threshold = entry.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise RulesError(f"{where}: threshold must be a number between 0 and 1, not {threshold!r}")
    method = _text(entry, "method", where)
    route = _text(entry, "route", where, required=True) or ""
    return RouteThreshold(route, float(threshold), method.lower() if method else None)


def parse_rules(text: str, source: str = "rules") -> Rules:
    """Rules from the YAML ``text``; :class:`RulesError` naming ``source`` and the entry if unusable."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return Rules()
    if not isinstance(data, Mapping):
        raise RulesError(f"{source}: expected a mapping with suppressions and thresholds")
    unknown = set(data) - {"suppressions", "thresholds"}
    if unknown:
        raise RulesError(f"{source}: unknown section {sorted(unknown)[0]!r} (known: suppressions, thresholds)")
    try:
        suppressions = tuple(_suppression(e, i) for i, e in enumerate(_entries(data, "suppressions")))
        thresholds = tuple(_route_threshold(e, i) for i, e in enumerate(_entries(data, "thresholds")))
    except RulesError as exc:
        raise RulesError(f"{source}: {exc}") from None
    names = [s.name for s in suppressions]
    if len(set(names)) != len(names):
        raise RulesError(
            f"{source}: suppression names must be unique ({sorted(n for n in names if names.count(n) > 1)[0]!r})"
        )
    return Rules(suppressions, thresholds)
