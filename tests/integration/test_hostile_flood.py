"""A flood of maximal valid messages against the real detector and broker: memory that does
not follow what messages hold, every offset accounted for, and lag that recovers."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from kafka import KafkaAdminClient

from logsentry.model_store.bundled import BUNDLED_ROOT
from logsentry.stream.records import MAX_ALERT_BYTES
from tests.integration.conftest import (
    StartStream,
    Topics,
    accounting,
    alerts_by_position,
    all_committed,
    produce,
    read_all,
    wait_until,
)
from tests.integration.test_stream import expected_alerts, offline_flags

MESSAGE_BYTES = 990_000  # under the detector's 1,000,000 and the producer's 1 MiB request
RSS_BOUND_MIB = 500  # the documented bound (docs/operations.md); the detector idles at ~200 MiB
PAYLOADS = ("' union select password from users--", "<script>alert(document.cookie)</script>", "../../../../etc/passwd")


def maximal(r: random.Random, payload: str | None) -> bytes:
    """An ordinary search request whose one value is ~1 MB of words, a payload somewhere in it."""
    words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 9))) for _ in range(2_000)]
    text = " ".join(r.choice(words) for _ in range(170_000))
    event = {"method": "get", "path": "/search", "statusCode": 200, "query": {"q": ""}}
    room = MESSAGE_BYTES - len(json.dumps(event))
    text = text[:room]
    if payload is not None:
        at = r.randint(0, len(text) - len(payload))
        text = text[:at] + payload + text[at + len(payload) :]
    event["query"] = {"q": text}
    value = json.dumps(event).encode()
    assert len(value) <= MESSAGE_BYTES
    return value


def test_a_flood_of_1_mb_requests_keeps_memory_bounded_and_loses_no_offset(
    bootstrap: str, admin: KafkaAdminClient, topics: Topics, streams: StartStream, tmp_path: Path
) -> None:
    r = random.Random(5)
    flood = [maximal(r, PAYLOADS[i % 3] if i % 4 == 0 else None) for i in range(120)]
    ordinary = [json.dumps({"method": "get", "path": f"/articles/{i}", "statusCode": 200}).encode() for i in range(400)]
    mixed = flood + ordinary
    r.shuffle(mixed)
    verdicts = topics.alerts.replace("alerts-", "verdicts-")
    stream = streams(bootstrap, topics, BUNDLED_ROOT, "--verdict-topic", verdicts, "--batch-size", "1024")
    idle = stream.rss_mib()
    produced = produce(bootstrap, topics.logs, mixed)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=600, what="all offsets committed")
    assert stream.proc.poll() is None

    seen = accounting(bootstrap, verdicts, topics.dead_letters)
    assert seen == Counter((p.partition, p.offset) for p in produced), "every offset exactly once"
    assert not read_all(bootstrap, topics.dead_letters, timeout=5), "every message valid: none refused"
    assert stream.metric("logsentry_events_scored_total") == len(mixed)
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts, timeout=60))
    expected = expected_alerts(produced, offline_flags(BUNDLED_ROOT, [p.value for p in produced], tmp_path))
    large = {(p.partition, p.offset) for p in produced if len(p.value) > 100_000}
    assert set(alerts) == set(expected) and expected.keys() & large, "the alerts `logsentry score` finds, 1 MB ones too"
    assert all(len(copies) == 1 for copies in alerts.values())
    assert all(len(r.value) <= MAX_ALERT_BYTES for r in read_all(bootstrap, topics.alerts, timeout=5))
    assert stream.metric("logsentry_consumer_lag_messages") == 0, "lag recovered"
    peak = stream.peak_rss_mib()  # the process's own high-water mark, from /proc
    assert peak < RSS_BOUND_MIB, f"peak RSS {peak:.0f} MiB (idle {idle:.0f} MiB) over a flood of 1 MB messages"
