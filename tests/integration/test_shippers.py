"""Attached to real log topics: nginx -> rsyslog (omkafka) -> Kafka -> logsentry, and OTLP JSON logs.

What a user has: a web server writing access logs, a shipper putting each line on a topic,
logsentry consuming the topics with ``--input-format auto``. The alerts must be what offline
``logsentry score`` says of the same log files, and every line must be accounted for.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from logsentry.model_store.store import ModelStore
from logsentry.trainer.generate import generate_events
from tests.integration.conftest import (
    StartStream,
    Topics,
    all_committed,
    end_offsets,
    produce,
    read_all,
    wait_until,
)
from tests.integration.shippers import Nginx, Rsyslog, http_request

pytestmark = pytest.mark.integration


def offline(store: Path, path: Path, fmt: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "logsentry", "score", "--store", str(store), "--input-format", fmt, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _new_topics(admin: KafkaAdminClient, *names: str, partitions: int = 2) -> None:
    admin.create_topics([NewTopic(n, partitions, 1) for n in names])


def test_nginx_rsyslog_kafka_logsentry(
    bootstrap: str, admin: KafkaAdminClient, trained_store: ModelStore, streams: StartStream, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    t = Topics(f"web-combined-{tag},web-json-{tag}", f"alerts-{tag}", f"dlq-{tag}", f"group-{tag}")
    combined_topic, json_topic = t.logs.split(",")
    _new_topics(admin, combined_topic, json_topic)
    _new_topics(admin, t.alerts, t.dead_letters, partitions=1)

    nginx = Nginx(tmp_path / "nginx")
    rsyslog = Rsyslog(tmp_path / "rsyslog")
    nginx.start()
    try:
        traffic = [e for e, _ in generate_events(400, seed=41, attack_share=0.3)]
        for event in traffic:  # benign and attack requests, in query strings and form/JSON bodies
            nginx.request(*http_request(event))
        lines = len(traffic)
        wait_until(lambda: len(nginx.json_log.read_text().splitlines()) == lines, timeout=30, what="nginx logs")
        rsyslog.start(bootstrap, [(nginx.combined_log, combined_topic), (nginx.json_log, json_topic)])
        wait_until(
            lambda: (
                sum(end_offsets(bootstrap, combined_topic).values()) == lines
                and sum(end_offsets(bootstrap, json_topic).values()) == lines
            ),
            timeout=120,
            what=f"rsyslog shipping both logs (internal log: {rsyslog.internal_log()[-500:]})",
        )
    finally:
        rsyslog.stop()
        nginx.stop()
    assert sum(1 for line in nginx.combined_log.read_text().splitlines() if "POST" in line) > 20

    stream = streams(bootstrap, t, trained_store.root, "--input-format", "auto")
    per_topic = [Topics(x, "", "", t.group) for x in (combined_topic, json_topic)]
    wait_until(
        lambda: all(all_committed(admin, bootstrap, x) for x in per_topic),
        timeout=180,
        what="both log topics committed",
    )

    # every line is accounted for: scored, read in the format it was written in
    assert stream.metric("logsentry_input_format_messages_total", topic=combined_topic, format="combined") == lines
    assert stream.metric("logsentry_input_format_messages_total", topic=json_topic, format="flat") == lines
    assert stream.metric("logsentry_events_scored_total") == 2 * lines
    assert read_all(bootstrap, t.dead_letters) == []

    # the alerts are exactly what offline scoring of the same log files says, no more, no fewer
    alerts = [json.loads(r.value) for r in read_all(bootstrap, t.alerts)]
    for fmt, path, topic in (("combined", nginx.combined_log, combined_topic), ("flat", nginx.json_log, json_topic)):
        file_lines = path.read_text().splitlines()
        scored = offline(trained_store.root, path, fmt)
        assert len(scored) == lines and all("score" in s for s in scored)
        flagged = Counter(file_lines[s["line"] - 1] for s in scored if s["flagged"])
        alerted = Counter(a["message"] for a in alerts if a["source"]["topic"] == topic)
        assert flagged, f"the model flags some of the {fmt} log's attacks"
        assert alerted == flagged, fmt
        assert all(a["input_format"] == fmt for a in alerts if a["source"]["topic"] == topic)
    bodies = [a["event"].get("requestPayload") for a in alerts if a["source"]["topic"] == json_topic]
    assert any(isinstance(b, dict) for b in bodies), "the JSON log carries request bodies"
    assert all("requestPayload" not in a["event"] for a in alerts if a["source"]["topic"] == combined_topic)
    assert stream.terminate() == 0


def _otlp_messages(records_per_message: int, messages: int, seed: int) -> tuple[list[bytes], list[dict]]:
    """OTLP JSON as the Collector's Kafka exporter writes it: protobuf messages through json_format."""
    from google.protobuf import json_format
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, LogsData, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    from logsentry.trainer.render import query_string

    events = [e for e, _ in generate_events(records_per_message * messages, seed=seed, attack_share=0.3)]
    values = []
    for m in range(messages):
        chunk = events[m * records_per_message : (m + 1) * records_per_message]
        records = []
        for e in chunk:
            attrs = [
                KeyValue(key="http.request.method", value=AnyValue(string_value=e["method"].upper())),
                KeyValue(key="url.path", value=AnyValue(string_value=e["path"])),
                KeyValue(key="http.response.status_code", value=AnyValue(int_value=e["statusCode"])),
                KeyValue(key="client.address", value=AnyValue(string_value=e["source"]["remoteAddress"])),
            ]
            if e["query"]:
                attrs.append(KeyValue(key="url.query", value=AnyValue(string_value=query_string(e["query"]))))
            if e["requestPayload"] is not None:
                body = json.dumps(e["requestPayload"])
                attrs.append(KeyValue(key="http.request.body.content", value=AnyValue(string_value=body)))
            records.append(
                LogRecord(
                    time_unix_nano=e["timestamp"] * 1_000_000,
                    attributes=attrs,
                    body=AnyValue(string_value=f"{e['method'].upper()} {e['path']}"),
                )
            )
        data = LogsData(
            resource_logs=[
                ResourceLogs(
                    resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="shop"))]),
                    scope_logs=[ScopeLogs(log_records=records)],
                )
            ]
        )
        values.append(json_format.MessageToJson(data, indent=None).encode())
    return values, events


def test_otlp_json_many_records_per_message(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    values, events = _otlp_messages(records_per_message=25, messages=40, seed=43)
    assert json.loads(values[0])["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"]
    produced = produce(bootstrap, topics.logs, values)
    stream = streams(bootstrap, topics, trained_store.root, "--input-format", "otlp-json")
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=180, what="all offsets committed")
    assert stream.metric("logsentry_events_scored_total") == len(events) == 1000
    assert stream.metric("logsentry_input_format_messages_total", format="otlp-json") == len(values)

    path = tmp_path / "otlp.jsonl"
    path.write_bytes(b"\n".join(values) + b"\n")
    scored = offline(trained_store.root, path, "otlp-json")
    assert len(scored) == len(events) and {s["record"] for s in scored} == set(range(25))
    expected = {
        (produced[s["line"] - 1].partition, produced[s["line"] - 1].offset, s["record"]) for s in scored if s["flagged"]
    }
    alerts = [json.loads(r.value) for r in read_all(bootstrap, topics.alerts)]
    got = [(a["source"]["partition"], a["source"]["offset"], a["record_index"]) for a in alerts]
    assert expected and sorted(got) == sorted(expected), "one alert per flagged record, none twice"
    sample = alerts[0]
    assert sample["records_in_message"] == 25 and sample["input_format"] == "otlp-json"
    index = (sample["source"]["partition"], sample["source"]["offset"])
    original = events[[(p.partition, p.offset) for p in produced].index(index) * 25 + sample["record_index"]]
    assert sample["event"]["path"] == original["path"]
    assert stream.terminate() == 0
