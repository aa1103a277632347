"""The verdict topic on the real broker: every offset is accounted for, exactly once, as a verdict or a dead letter."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from logsentry.model_store.store import ModelStore
from tests.integration.conftest import StartStream, Topics, all_committed, produce, read_all, wait_until
from tests.integration.test_stream import MALFORMED, events

pytestmark = pytest.mark.integration


def test_every_offset_is_a_verdict_or_a_dead_letter_exactly_once(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    verdict_topic = topics.alerts.replace("alerts-", "verdicts-")
    admin.create_topics([NewTopic(verdict_topic, 2, 1)])
    values = events(1500, seed=61)
    for i, (bad, _reason) in enumerate(MALFORMED[:8]):
        values.insert(i * 150, bad)
    produced = produce(bootstrap, topics.logs, values)
    stream = streams(bootstrap, topics, trained_store.root, "--verdict-topic", verdict_topic)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="all offsets committed")

    verdicts = [json.loads(r.value) for r in read_all(bootstrap, verdict_topic)]
    dead = read_all(bootstrap, topics.dead_letters)
    by_verdict = Counter((v["source"]["partition"], v["source"]["offset"]) for v in verdicts)
    by_dead = Counter(
        (int(r.headers["logsentry-dlq-source-partition"]), int(r.headers["logsentry-dlq-source-offset"])) for r in dead
    )
    every = Counter((p.partition, p.offset) for p in produced)
    assert by_verdict + by_dead == every, "each offset exactly once, as a verdict or as a dead letter"
    assert len(by_dead) == 8 and not set(by_verdict) & set(by_dead)
    assert stream.metric("logsentry_verdicts_published_total") == len(verdicts) == len(produced) - 8

    alerts = [json.loads(r.value) for r in read_all(bootstrap, topics.alerts)]
    flagged = {(v["source"]["partition"], v["source"]["offset"]) for v in verdicts if v["flagged"]}
    assert {(a["source"]["partition"], a["source"]["offset"]) for a in alerts} == flagged
    threshold = trained_store.manifest().threshold
    assert all(v["flagged"] == (v["score"] >= threshold) for v in verdicts)
    assert stream.terminate() == 0
