"""Suppressions and per-route thresholds: the file's checks, matching, and the verdicts they change."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from logsentry.model_store.judge.rules import NO_RULES, RulesError, parse_rules
from logsentry.model_store.judge.verdict import judge
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.processor import process_batch
from logsentry.stream.records import Message
from logsentry.stream.rules_watch import RulesWatcher
from tests.unit.test_explain import TokenScorer

RULES = """
suppressions:
  - name: search-words
    route: /search*
    method: GET
    field: query.q
    regex: "[a-z ]*attack[a-z ]*"
    reason: people search for the word
    author: alice@example.com
  - name: exact
    route: /exact
    field: query.q
    equals: attack me
    expires: 2026-12-31
    reason: a known scanner
    author: bob
thresholds:
  - route: /admin/*
    threshold: 0.01
  - route: /*
    method: post
    threshold: 0.99
"""


def event(path: str, q: str, method: str = "get") -> dict:
    return {"method": method, "path": path, "query": {"q": q}}


def test_suppressions_match_route_method_field_and_value_until_they_expire() -> None:
    rules = parse_rules(RULES)
    day = dt.date(2026, 12, 1)
    assert rules.suppressed_by(event("/search/all", "an attack here"), day) == "search-words"
    assert rules.suppressed_by(event("/search", "an attack here", "post"), day) is None, "method"
    assert rules.suppressed_by(event("/search", "attack <script>"), day) is None, "the regex matches the whole value"
    assert rules.suppressed_by(event("/other", "an attack"), day) is None, "route"
    assert rules.suppressed_by({"method": "get", "path": "/search"}, day) is None, "no such field"
    assert rules.suppressed_by(event("/exact", "attack me"), day) == "exact"
    assert rules.suppressed_by(event("/exact", "attack me"), dt.date(2027, 1, 1)) is None, "expired"


def test_the_first_matching_route_threshold_wins_else_the_model_s() -> None:
    rules = parse_rules(RULES)
    assert rules.threshold(event("/admin/users", ""), 0.5) == 0.01
    assert rules.threshold(event("/admin/users", "", "post"), 0.5) == 0.01, "file order: /admin/* comes first"
    assert rules.threshold(event("/cart", "", "post"), 0.5) == 0.99
    assert rules.threshold(event("/cart", ""), 0.5) == 0.5
    assert parse_rules("") == NO_RULES and parse_rules("suppressions: []\n") == NO_RULES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("suppressions: [", "not valid YAML"),
        ("- a\n", "expected a mapping"),
        ("supressions: []\n", "unknown section 'supressions'"),
        ("suppressions:\n  - {name: a, route: /, reason: r}\n", "suppressions[0] (a): author is required"),
        ("suppressions:\n  - {name: A B, route: /, reason: r, author: a}\n", "name must be 1-64"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, regex: x}\n", "need the field"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, field: q, regex: x, equals: y}\n", "not both"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, field: q, regex: '(a)\\1'}\n", "RE2"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, field: q, regex: '(?=a)'}\n", "RE2"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, expires: soon}\n", "must be a date"),
        ("suppressions:\n  - {name: a, route: /, reason: r, author: a, rout: /x}\n", "unknown key 'rout'"),
        ("suppressions:\n" + "  - {name: a, route: /, reason: r, author: a}\n" * 2, "must be unique ('a')"),
        ("thresholds:\n  - {route: /a, threshold: 1.5}\n", "thresholds[0]: threshold must be a number between 0 and 1"),
        ("thresholds:\n  - {threshold: 0.5}\n", "thresholds[0]: route is required"),
    ],
)
def test_a_bad_rules_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=r"^rules\.yml: ") as caught:
        parse_rules(text, "rules.yml")
    assert message in str(caught.value)


def test_a_catastrophic_regex_runs_in_linear_time() -> None:
    """``(a+)+$`` on 100,000 a's and a b: exponential with backtracking engines, linear on RE2."""
    rules = parse_rules(
        "suppressions:\n  - {name: redos, route: '*', field: q, regex: '(a+)+$', reason: r, author: a}\n"
    )
    done = threading.Event()
    result: list[object] = []

    def run() -> None:
        result.append(rules.suppressed_by({"path": "/", "q": "a" * 100_000 + "b"}))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(30), "the match must finish"  # Python's re would not, in any lifetime
    assert result == [None]


def test_rules_set_thresholds_and_suppressions_in_the_verdicts_and_the_batch() -> None:
    rules = parse_rules(RULES)
    values = [
        json.dumps(e).encode()
        for e in (event("/search", "an attack here"), event("/cart", "attack"), event("/admin/x", "fine"))
    ]
    verdicts = judge(values, TokenScorer(), rules=rules, explained=True).verdicts
    suppressed, alert, sensitive = (v.records[0] for v in verdicts)
    assert suppressed.flagged and not suppressed.alert and suppressed.suppressed_by == "search-words"
    assert suppressed.explanation == (), "nothing spent explaining what will not alert"
    assert alert.alert and alert.explanation and alert.threshold == TokenScorer.threshold
    assert sensitive.threshold == 0.01 and sensitive.alert, "the admin route flags what the model alone would not"

    messages = [Message("logs", 0, i, 0, None, v) for i, v in enumerate(values)]
    out = process_batch(
        messages,
        TokenScorer(),
        alert_topic="a",
        dead_letter_topic="d",
        verdict_topic="v",
        rules=rules,
        suppressed_topic="s",
    )
    assert len(out.alerts) == 2 and out.suppressed == {"search-words": 1}
    (kept,) = [json.loads(r.value) for r in out.suppressed_records]
    assert kept["suppressed_by"] == "search-words" and kept["source"]["offset"] == 0
    verdict = [json.loads(r.value) for r in out.verdicts]
    assert [v["suppressed_by"] for v in verdict] == ["search-words", None, None]
    assert [v["threshold"] for v in verdict] == [0.5, 0.5, 0.01]
    assert {o.topic for o in out.outgoing} == {"a", "v", "s"}


def test_the_watcher_swaps_in_a_good_file_and_keeps_the_rules_when_a_bad_one_comes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    registry = CollectorRegistry()
    watcher = RulesWatcher(path, StreamMetrics(registry))
    get = registry.get_sample_value
    assert len(watcher.rules.suppressions) == 2
    assert get("logsentry_suppressed_total", {"rule": "exact"}) == 0
    assert get("logsentry_suppression_rule_expires_timestamp_seconds", {"rule": "exact"}) == 1798761600  # 2027-01-01
    watcher.matched({"exact": 3})
    assert get("logsentry_suppressed_total", {"rule": "exact"}) == 3
    assert get("logsentry_suppression_rule_last_match_timestamp_seconds", {"rule": "exact"}) > 0

    path.write_text(RULES.replace('regex: "[a-z ]*attack[a-z ]*"', 'regex: "(?<=x)"'))  # lookbehind: not RE2
    watcher.check_once()
    assert watcher.swap() is watcher.rules and len(watcher.rules.suppressions) == 2
    assert get("logsentry_rules_reloads_total", {"result": "failure"}) == 1

    path.write_text(RULES.split("  - name: exact")[0])  # one rule left
    watcher.check_once()
    assert [r.name for r in watcher.swap().suppressions] == ["search-words"]
    assert get("logsentry_rules_reloads_total", {"result": "success"}) == 1
    assert get("logsentry_suppression_rule_created_timestamp_seconds", {"rule": "exact"}) is None, "its series went"
