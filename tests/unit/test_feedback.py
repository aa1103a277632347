"""Feedback records without a broker: alert names, keys, the verdict in force per request."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from logsentry.errors import ConfigError
from logsentry.stream.tools.feedback import AlertRef, feedback_key, feedback_value, latest_feedback

ALERT = {
    "schema": "logsentry.alert/1",
    "event": {"method": "get", "path": "/search", "query": {"q": "select a gift"}},
    "score": 0.97,
    "model_version": "v1",
    "source": {"topic": "web", "partition": 3, "offset": 41, "timestamp": 1, "key": None},
    "message": "{}",
    "input_format": "reference",
    "record_index": 2,
}


def test_an_alert_is_named_topic_partition_offset() -> None:
    assert AlertRef.parse(" logsentry-alerts/2/1841\n") == AlertRef("logsentry-alerts", 2, 1841)
    assert str(AlertRef("a", 0, 7)) == "a/0/7"
    for bad in ("alerts-2-1841", "a/x/1", "a/1/", "/1/2", "a/1/-2"):
        with pytest.raises(ConfigError, match="TOPIC/PARTITION/OFFSET"):
            AlertRef.parse(bad)


def test_the_key_is_the_request_and_the_value_carries_the_event() -> None:
    assert feedback_key(ALERT) == b"web/3/41/2"
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    value = feedback_value(ALERT, AlertRef("alerts", 1, 9), "benign", "a gift", "alice", now)
    assert value["event"] == ALERT["event"] and value["label"] == "benign" and value["at"] == "2026-11-30T12:00:00.000Z"
    assert value["alert"] == {"topic": "alerts", "partition": 1, "offset": 9} and value["score"] == 0.97
    with pytest.raises(ConfigError):
        feedback_value(ALERT, AlertRef("alerts", 1, 9), "fine", "", "alice", now)


def test_the_latest_verdict_per_request_is_in_force_and_a_tombstone_removes_it() -> None:
    def record(label: str, q: str) -> bytes:
        return json.dumps({"schema": "logsentry.feedback/1", "label": label, "event": {"q": q}}).encode()

    pairs = [
        (b"a", record("attack", "1")),
        (b"b", record("benign", "2")),
        (b"a", record("benign", "1")),  # relabelled
        (b"c", record("benign", "3")),
        (b"c", None),  # taken back
        (b"d", b"not json"),
        (b"e", json.dumps({"schema": "other"}).encode()),
    ]
    assert [(r["event"]["q"], r["label"]) for r in latest_feedback(pairs)] == [("1", "benign"), ("2", "benign")]
