"""Follow the rules file (``--rules``) without stopping the stream.

A background thread (:class:`~logsentry.stream.watch.Watcher`) re-reads the file every
``interval_s``; a changed file that passes every check (:func:`model_store.judge.rules.parse_rules`)
is handed over and swapped in between two batches. A file that fails is refused once per
change, logged with the entry at fault and counted
(``logsentry_rules_reloads_total{result="failure"}``): the rules in force keep working. At
start an unusable file stops the command, as any bad setting does.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError
from logsentry.model_store.judge.rules import NO_RULES, Rules, RulesError, parse_rules
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.watch import Watcher

log = logging.getLogger(__name__)


def read_rules(path: Path) -> tuple[str, Rules]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc})") from None
    return text, parse_rules(text, str(path))


class RulesWatcher(Watcher[Rules]):
    """The rules in force (``.rules``): slot ``rules``."""

    def __init__(self, path: Path | None, metrics: StreamMetrics, *, interval_s: float = 5.0) -> None:
        super().__init__("rules", metrics.rules_reloads, interval_s)
        self.path = path
        self.metrics = metrics
        self.rules = NO_RULES
        self._text = ""
        self._first_read: dict[str, float] = {}  # rule -> when this process first read it
        self._shown: set[str] = set()  # rules whose series are exported
        if path is not None:
            try:
                self._text, self.rules = read_rules(path)
            except RulesError as exc:
                raise ConfigError(str(exc)) from None
        self._announce()

    def _announce(self) -> None:
        m, now = self.metrics, time.time()
        names = {rule.name for rule in self.rules.suppressions}
        for gone in self._shown - names:  # a rule taken out of the file: its series go too
            for gauge in (m.rule_created, m.rule_last_match, m.rule_expires):
                gauge.remove(gone)
        for rule in self.rules.suppressions:
            first = self._first_read.setdefault(rule.name, now)
            m.suppressed.labels(rule.name)  # exists at 0: an unused rule shows as one
            m.rule_created.labels(rule.name).set(_midnight(rule.created) if rule.created else first)
            if rule.name not in self._shown:
                m.rule_last_match.labels(rule.name).set(0)
            m.rule_expires.labels(rule.name).set(_midnight(rule.expires) + 86400 if rule.expires else float("inf"))
        self._shown = names
        m.route_thresholds.set(len(self.rules.thresholds))
        if self.path is not None:
            log.info(
                "rules in force suppressions=%d route_thresholds=%d file=%s",
                len(self.rules.suppressions),
                len(self.rules.thresholds),
                self.path,
            )

    def matched(self, counts: Mapping[str, int]) -> None:
        """Count one batch's suppressions."""
        now = time.time()
        for rule, n in counts.items():
            self.metrics.suppressed.labels(rule).inc(n)
            self.metrics.rule_last_match.labels(rule).set(now)

    def follows(self) -> bool:
        return self.path is not None

    def current(self) -> Rules:
        return self.rules

    def check_once(self) -> None:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"<unreadable: {exc}>"
        if text == self._text:
            return
        self._text = text
        try:
            rules = parse_rules(text, str(self.path))
        except RulesError as exc:
            self.refused()
            log.error("refused the changed rules file, the rules in force stay error=%s", exc)
            return
        self.offer("rules", rules)

    def apply(self, loaded: dict[str, Any]) -> None:
        """Swap in newly read rules, between two batches."""
        self.rules = loaded["rules"]
        self.swapped()
        self._announce()


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
