"""Suppressions and per-route thresholds on the real broker: what alerts, what is kept on the
suppressed topic, and a rules file changed under load (a good one swapped in, a bad one refused)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from logsentry.model_store.store import ModelStore
from tests.integration.conftest import (
    StartStream,
    Topics,
    Traffic,
    accounting,
    alerts_by_position,
    all_committed,
    produce,
    read_all,
    wait_until,
)
from tests.integration.test_stream import events, offline_flags

pytestmark = pytest.mark.integration

FIRST = """
suppressions:
  - name: search-pages
    route: /search*
    reason: the search box takes free text
    author: alice@example.com
thresholds:
  - route: /catalogue/*
    threshold: 0.001
"""
SECOND = """
suppressions:
  - name: static-files
    route: /static/*
    reason: a CDN checks these
    author: bob@example.com
"""


def _by_position(records: list, produced: list) -> dict[tuple[int, int], dict]:
    return {(p.partition, p.offset): r for p, r in zip(produced, records, strict=True)}


def test_rules_suppress_and_set_thresholds_and_follow_the_file_under_load(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(FIRST)
    suppressed, verdicts = (topics.alerts.replace("alerts-", f"{kind}-") for kind in ("suppressed", "verdicts"))
    stream = streams(
        bootstrap,
        topics,
        trained_store.root,
        "--rules",
        str(rules),
        "--suppressed-topic",
        suppressed,
        "--verdict-topic",
        verdicts,
        "--reload-interval-s",
        "0.5",
    )
    values = events(3000, seed=31)
    produced = produce(bootstrap, topics.logs, values)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="first traffic committed")

    offline = _by_position(offline_flags(trained_store.root, values, tmp_path, "--rules", str(rules)), produced)
    alerted = {c for c, o in offline.items() if o["flagged"] and "suppressed_by" not in o}
    kept = {c: o["suppressed_by"] for c, o in offline.items() if "suppressed_by" in o}
    assert kept and alerted, "the traffic has both"
    assert any(o["threshold"] == 0.001 and o["flagged"] for o in offline.values()), "the route threshold flags"
    assert set(alerts_by_position(read_all(bootstrap, topics.alerts))) == alerted
    suppressed_records = [json.loads(r.value) for r in read_all(bootstrap, suppressed)]
    assert {(s["source"]["partition"], s["source"]["offset"]): s["suppressed_by"] for s in suppressed_records} == kept
    assert stream.metric("logsentry_suppressed_total", rule="search-pages") == len(kept)

    # the file changes while traffic flows: the new rules take over, nothing is lost or repeated
    traffic = Traffic(bootstrap, topics.logs, events(60_000, seed=32), rate=300)
    wait_until(
        lambda: stream.metric("logsentry_events_consumed_total") > len(values) + 300, timeout=60, what="traffic flowing"
    )
    rules.write_text(SECOND)
    wait_until(
        lambda: stream.metric("logsentry_rules_reloads_total", result="success") == 1,
        timeout=60,
        what="the changed file swapped in",
    )
    rules.write_text("suppressions:\n  - {name: broken, route: /, regex: '(a)\\1'}\n")  # refused: rules in force stay
    wait_until(
        lambda: stream.metric("logsentry_rules_reloads_total", result="failure") == 1,
        timeout=60,
        what="the bad file refused",
    )
    during = traffic.stop()
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="traffic under reload committed")
    assert stream.proc.poll() is None

    after_values = events(2000, seed=33)
    after = produce(bootstrap, topics.logs, after_values)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="last traffic committed")
    rules.write_text(SECOND)
    offline = _by_position(offline_flags(trained_store.root, after_values, tmp_path, "--rules", str(rules)), after)
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    expected = {c for c, o in offline.items() if o["flagged"] and "suppressed_by" not in o}
    assert {c for c in alerts if c in offline} == expected, "the second rules, still in force"
    assert all(o.get("suppressed_by") in (None, "static-files") for o in offline.values())
    assert stream.metric("logsentry_suppressed_total", rule="static-files") > 0
    seen = accounting(bootstrap, verdicts, topics.dead_letters)
    assert seen == Counter((p.partition, p.offset) for p in produced + during + after), "every offset exactly once"
