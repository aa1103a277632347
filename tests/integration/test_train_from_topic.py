"""Training from a Kafka topic's offset range, on the real broker, beside a live detector.

A labelled set produced to the topic (each message's label in its ``logsentry-label``
header) trains the very model the same rows train from a file, and the read leaves the live
detector's consumer group as it was: same members, same committed offsets, no new group.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from logsentry.model_store.store import ModelStore
from logsentry.trainer.data import read_labelled_csv
from tests.integration.conftest import StartStream, Topics, all_committed, committed, group_state, wait_until

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logsentry", *args], capture_output=True, text=True, timeout=900)


def group_names(admin: KafkaAdminClient) -> set[str]:
    return {g["group_id"] if isinstance(g, dict) else g[0] for g in admin.list_groups()}


def members(admin: KafkaAdminClient, group: str) -> list[str]:
    return sorted(m["member_id"] for m in admin.describe_groups([group])[group]["members"])


@pytest.mark.parametrize("topics", [1], indirect=True)
def test_a_topic_range_trains_the_model_its_file_trains_without_disturbing_the_detector(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    store_copy: Path,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    data = tmp_path / "labelled.csv"
    assert cli("generate", "--rows", "2000", "--out", str(data), "--seed", "21").returncode == 0
    logs = read_labelled_csv(data)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for event, label in zip(logs.events, logs.labels.tolist(), strict=True):
        value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        producer.send(topics.logs, value=value, headers=[("logsentry-label", str(label).encode())])
    producer.flush()
    producer.close()

    streams(bootstrap, topics, store_copy)  # the live detector, in its group, on the same topic
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="the detector caught up")
    wait_until(lambda: group_state(admin, topics.group) == "Stable", what="a stable group")
    offsets, crew = committed(admin, topics.group, topics.logs), members(admin, topics.group)
    groups = group_names(admin)

    common = ("--epochs", "2", "--augment", "0", "--keras-verbose", "2")
    from_file = cli("train", "--data", str(data), "--store", str(tmp_path / "file"), *common)
    assert from_file.returncode == 0, from_file.stderr[-3000:]
    from_topic = cli(
        "train",
        "--from-topic",
        topics.logs,
        "--since",
        "1h",
        "--store",
        str(tmp_path / "topic"),
        "--bootstrap-servers",
        bootstrap,
        *common,
    )
    assert from_topic.returncode == 0, from_topic.stderr[-3000:]
    assert f"reading {topics.logs}: {topics.logs}[0]@0:2000" in from_topic.stderr
    assert "rows/s" in from_topic.stderr, "progress is shown"

    file_model = ModelStore(tmp_path / "file").manifest()
    topic_model = ModelStore(tmp_path / "topic").manifest()
    assert topic_model.hyperparameters["topic_ranges"] == [f"{topics.logs}[0]@0:2000"]
    assert topic_model.extra["pipeline"]["labels"] == file_model.extra["pipeline"]["labels"]
    assert topic_model.preprocessing == file_model.preprocessing
    a, b = file_model.evaluation["test"], topic_model.evaluation["test"]
    assert (a["tp"], a["fp"], a["tn"], a["fn"]) == (b["tp"], b["fp"], b["tn"], b["fn"])
    assert a["roc_auc"] == pytest.approx(b["roc_auc"], abs=1e-6)
    assert topic_model.extra["pipeline"]["weights_sha256"] == file_model.extra["pipeline"]["weights_sha256"]

    assert committed(admin, topics.group, topics.logs) == offsets, "the detector's offsets are untouched"
    assert members(admin, topics.group) == crew and group_state(admin, topics.group) == "Stable", "no rebalance"
    assert group_names(admin) == groups, "the training joined no consumer group"


@pytest.mark.parametrize("topics", [2], indirect=True)
def test_an_explicit_offset_range_is_read_from_every_partition(bootstrap: str, topics: Topics, tmp_path: Path) -> None:
    from functools import partial

    from logsentry.stream.settings import KafkaSettings
    from logsentry.stream.tools.ranges import read_range, resolve_ranges
    from logsentry.trainer.sources import TopicShard

    def topic_shards(kafka: KafkaSettings, topic: str, offsets: str) -> list[TopicShard]:
        spans = resolve_ranges(kafka, topic, offsets=offsets)
        return [TopicShard(s.name, s.start, s.end, partial(read_range, kafka, s)) for s in spans]

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(40):
        event = {"method": "get", "path": f"/item/{i}", "query": {}, "statusCode": 200}
        producer.send(topics.logs, value=json.dumps(event).encode(), partition=i % 2)
    producer.send(topics.logs, value=b"{not json", partition=0)
    producer.flush()
    producer.close()
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    shards = topic_shards(kafka, topics.logs, offsets="5:15")
    assert [(s.name, s.start, s.end) for s in shards] == [
        (f"{topics.logs}[0]@5:15", 5, 15),
        (f"{topics.logs}[1]@5:15", 5, 15),
    ]
    rows = [row for shard in shards for row in shard.rows()]
    assert [(r.line, r.label) for r in rows][:3] == [(5, 0), (6, 0), (7, 0)]
    assert len(rows) == 20 and {r.records[0]["path"] for r in rows[10:]} == {f"/item/{2 * o + 1}" for o in range(5, 15)}
    whole = topic_shards(kafka, topics.logs, offsets="1=0:99")
    assert [(s.start, s.end) for s in whole] == [(21, 21), (0, 20)]
    bad = [r for r in topic_shards(kafka, topics.logs, offsets="0=20:21")[0].rows()]
    assert len(bad) == 1 and "not_json" in bad[0].reason and bad[0].line == 20
