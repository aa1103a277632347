"""The stream's batch logic with plain in-memory fakes: no Kafka, no model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from logsentry.errors import ConfigError, PublishError
from logsentry.model_store.model.preprocessing import CharTokenizer, CleanupSpec, Preprocessing
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.processor import TopicPartition, process_batch
from logsentry.stream.records import Message, Outgoing
from logsentry.stream.runner import StreamRunner
from logsentry.stream.settings import KafkaSettings, Secret, StreamSettings, stream_settings

SCHEMA = json.loads((Path(__file__).parents[2] / "stream" / "alert.schema.json").read_text())


class KeywordScorer:
    """Scores 0.9 when the cleaned text contains 'attack', else 0.1."""

    version = "v-test"
    architecture = "fake"
    threshold = 0.5
    preprocessing = Preprocessing(CharTokenizer("ab"), CleanupSpec())

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([0.9 if "attack" in t else 0.1 for t in texts], dtype=np.float32)


def msg(offset: int, value: bytes | None, partition: int = 0, key: bytes | None = None) -> Message:
    return Message("logs", partition, offset, 1_700_000_000_000 + offset, key, value, (("trace", b"t1"),))


def event(text: str, address: str | None = "203.0.113.7") -> bytes:
    body: dict = {"method": "get", "path": "/search", "query": {"q": text}, "timestamp": 1}
    if address:
        body["source"] = {"remoteAddress": address}
    return json.dumps(body).encode()


def test_process_batch_alerts_dead_letters_and_offsets() -> None:
    batch = [msg(10, event("shoes")), msg(11, event("attack")), msg(12, b"{oops"), msg(3, event("attack"), 1, b"k")]
    out = process_batch(batch, KeywordScorer(), alert_topic="alerts", dead_letter_topic="dlq", now_ms=1.7e12)
    assert [a.key for a in out.alerts] == [b"203.0.113.7", b"203.0.113.7"]
    alert = json.loads(out.alerts[0].value)
    jsonschema.validate(alert, SCHEMA)
    assert alert["source"] == {
        "topic": "logs",
        "partition": 0,
        "offset": 11,
        "timestamp": 1_700_000_000_011,
        "key": None,
    }
    assert alert["event"]["timestamp"] == 1, "the alert carries the original event, not the cleaned one"
    assert dict(out.alerts[0].headers)["logsentry-model-version"] == b"v-test"
    (dead,) = out.dead_letters
    headers = dict(dead.headers)
    assert dead.value == b"{oops" and dead.timestamp_ms == 1_700_000_000_012
    assert headers["logsentry-dlq-reason"] == b"not_json" and headers["trace"] == b"t1"
    assert headers["logsentry-dlq-source-offset"] == b"12"
    assert out.commit_offsets == {("logs", 0): 13, ("logs", 1): 4}
    assert out.first_offsets == {("logs", 0): 10, ("logs", 1): 3}
    assert len(out.scores) == 3 and out.dead_letter_reasons == {"not_json": 1}


def test_alert_falls_back_to_the_message_key_without_a_client_address() -> None:
    out = process_batch(
        [msg(0, event("attack", None), key=b"orig")], KeywordScorer(), alert_topic="a", dead_letter_topic="d"
    )
    assert out.alerts[0].key == b"orig"
    jsonschema.validate(json.loads(out.alerts[0].value), SCHEMA)


class ListSource:
    def __init__(self, batches: list[list[Message]]) -> None:
        self.batches = batches
        self.commits: list[dict[TopicPartition, int]] = []
        self.rewinds: list[dict[TopicPartition, int]] = []
        self.position = 0

    def poll_batch(self, max_records: int, wait_ms: int, *, idle: bool = True) -> list[Message]:
        if self.position >= len(self.batches):
            return []
        self.position += 1
        return self.batches[self.position - 1]

    def begin_send(self) -> set[TopicPartition]:
        return set()

    def release(self) -> None: ...

    def discard_unsent(self) -> None: ...

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def rewind(self, offsets: dict[TopicPartition, int]) -> None:
        self.rewinds.append(dict(offsets))
        self.position -= 1  # the same batch comes again, as after a seek

    def lag(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        return {tp: 0 for tp in positions}

    def assigned(self) -> int:
        return 1

    def assignment(self) -> set[TopicPartition]:
        return {("logs", 0), ("logs", 1)}

    def stalled(self) -> bool:
        return False

    def restart(self) -> None: ...


class ListSink:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.published: list[Outgoing] = []

    def publish(self, records: Sequence[Outgoing]) -> None:
        if self.failures:
            self.failures -= 1
            raise PublishError("broker unavailable")
        self.published.extend(records)

    def send(self, records: Sequence[Outgoing]) -> Sent:
        try:
            self.publish(records)
        except PublishError as exc:
            return Sent(exc)
        return Sent(None)


class Sent:
    def __init__(self, error: PublishError | None) -> None:
        self.error = error

    def wait(self) -> None:
        if self.error is not None:
            raise self.error


class FixedWatcher:
    shadow = None

    def __init__(self) -> None:
        self.detector = KeywordScorer()

    def swap(self) -> KeywordScorer:
        return self.detector


def runner(source: ListSource, sink: ListSink, registry: CollectorRegistry) -> StreamRunner:
    """One batch to its commit per step: the at-least-once rules, without the pipeline."""
    settings = StreamSettings(alert_topic="alerts", dead_letter_topic="dlq", pipelined=False)
    r = StreamRunner(
        source,
        sink,
        FixedWatcher(),
        StreamMetrics(registry),
        settings,  # type: ignore[arg-type]
        max_backoff_s=0.0,
    )
    return r


def test_commit_only_after_publish_and_metrics_count_it() -> None:
    registry = CollectorRegistry()
    source = ListSource([[msg(0, event("attack")), msg(1, event("fine")), msg(2, b"")]])
    sink = ListSink()
    r = runner(source, sink, registry)
    assert r.step() == 3
    assert source.commits == [{("logs", 0): 3}]
    assert len(sink.published) == 2
    get = registry.get_sample_value
    assert get("logsentry_events_consumed_total", {"topic": "logs"}) == 3
    assert get("logsentry_events_scored_total") == 2
    assert get("logsentry_events_flagged_total") == 1
    assert get("logsentry_dead_letters_total", {"reason": "empty"}) == 1
    assert get("logsentry_batch_size_events_count") == 1
    assert get("logsentry_consumer_lag_messages", {"topic": "logs", "partition": "0"}) == 0


def test_failed_publish_commits_nothing_rewinds_and_retries_the_same_batch() -> None:
    registry = CollectorRegistry()
    batch = [msg(5, event("attack")), msg(6, event("attack"))]
    source = ListSource([batch])
    sink = ListSink(failures=2)
    r = runner(source, sink, registry)
    r.step()
    r.step()
    assert source.commits == [] and source.rewinds == [{("logs", 0): 5}] * 2
    healthy, why = r.healthy()
    assert not healthy and "alerts and dead letters not acknowledged" in why and "broker unavailable" in why
    assert r.alive()[0], "alive: a restart would not bring the broker back"
    r.step()
    assert source.commits == [{("logs", 0): 7}]
    assert r.healthy()[0]
    assert [json.loads(o.value)["source"]["offset"] for o in sink.published] == [5, 6]
    assert registry.get_sample_value("logsentry_publish_failures_total") == 2
    assert registry.get_sample_value("logsentry_batch_retries_total") == 2
    assert registry.get_sample_value("logsentry_events_consumed_total", {"topic": "logs"}) == 2


def test_settings_precedence_flags_over_env_over_defaults() -> None:
    env = {"LOGSENTRY_BOOTSTRAP_SERVERS": "k1:9092,k2:9092", "LOGSENTRY_BATCH_SIZE": "64", "LOGSENTRY_TOPICS": "a, b"}
    s = stream_settings({"batch_size": 32}, env)
    assert s.batch_size == 32 and s.topics == ("a", "b")
    assert s.kafka.client_config()["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert StreamSettings().batch_size == 1024


def test_secrets_never_show_and_sasl_needs_credentials() -> None:
    env = {
        "LOGSENTRY_SECURITY_PROTOCOL": "SASL_SSL",
        "LOGSENTRY_SASL_MECHANISM": "SCRAM-SHA-512",
        "LOGSENTRY_SASL_USERNAME": "detector",
        "LOGSENTRY_SASL_PASSWORD": "hunter2",
    }
    s = stream_settings({}, env)
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert s.kafka.client_config()["sasl_plain_password"] == "hunter2"
    assert repr(Secret("x")) == "Secret('********')"
    with pytest.raises(ConfigError, match="needs a SASL mechanism"):
        stream_settings({}, {"LOGSENTRY_SECURITY_PROTOCOL": "SASL_SSL"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOGSENTRY_BATCH_SIZE": "many"}, "whole number"),
        ({"LOGSENTRY_TOPICS": "logs", "LOGSENTRY_ALERT_TOPIC": "logs"}, "cannot also be log topics"),
        ({"LOGSENTRY_SECURITY_PROTOCOL": "TLS"}, "security_protocol"),
    ],
)
def test_bad_settings_are_clear_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        stream_settings({}, env)


class SlowScorer(KeywordScorer):
    """Takes ``seconds_per_event`` of the runner's clock (``clock``, advanced, never slept on)."""

    def __init__(self, clock: list[float], seconds_per_event: float) -> None:
        self.clock = clock
        self.seconds_per_event = seconds_per_event

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.clock[0] += self.seconds_per_event * len(texts)
        return super().score_texts(texts)


def test_slow_batches_shrink_the_batch_size_and_fast_ones_grow_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    clock = [1000.0]  # the runner times batches on perf_counter: a clock only scoring moves, whatever the machine
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    batches = [[msg(i * 8 + j, event("x")) for j in range(8)] for i in range(4)]
    source = ListSource(batches)
    watcher = FixedWatcher()
    registry = CollectorRegistry()
    settings = StreamSettings(
        alert_topic="a", dead_letter_topic="d", batch_size=8, max_poll_interval_ms=200, pipelined=False
    )
    r = StreamRunner(source, ListSink(), watcher, StreamMetrics(registry), settings)  # type: ignore[arg-type]
    watcher.detector = SlowScorer(clock, 0.02)  # 8 events: 0.16 s > half the 0.2 s poll interval
    r.step()
    assert r.batch_size == 4
    assert registry.get_sample_value("logsentry_batch_size_limit_events") == 4
    watcher.detector = SlowScorer(clock, 0.0)  # fast again
    r.step()
    assert r.batch_size == 8
    assert len(source.commits) == 2


def test_a_batch_of_mixed_formats_alerts_per_record_and_counts_formats() -> None:
    from logsentry.trainer.render import combined, otlp

    line = combined(
        {
            "method": "get",
            "path": "/s",
            "query": {"q": "attack"},
            "statusCode": 200,
            "source": {"remoteAddress": "198.51.100.2"},
        }
    )
    records = [{"method": "get", "path": f"/p{i}", "query": {"q": "attack" if i % 2 else "fine"}} for i in range(4)]
    broken = json.loads(otlp(records))
    broken["resourceLogs"][0]["scopeLogs"][0]["logRecords"][2] = {"body": {"intValue": "7"}}
    batch = [msg(0, line.encode()), msg(1, otlp(records).encode()), msg(2, json.dumps(broken).encode())]
    out = process_batch(batch, KeywordScorer(), alert_topic="alerts", dead_letter_topic="dlq", now_ms=1.7e12)
    alerts = [json.loads(a.value) for a in out.alerts]
    for alert in alerts:
        jsonschema.validate(alert, SCHEMA)
    assert [(a["source"]["offset"], a["record_index"]) for a in alerts] == [(0, 0), (1, 1), (1, 3), (2, 1), (2, 3)]
    assert alerts[0]["message"] == line and alerts[0]["input_format"] == "combined"
    assert alerts[0]["event"]["query"] == {"q": "attack"} and out.alerts[0].key == b"198.51.100.2"
    assert alerts[1]["records_in_message"] == 4 and alerts[1]["event"]["path"] == "/p1"
    (dead,) = out.dead_letters  # the OTLP message with one bad record, once, naming the record
    headers = dict(dead.headers)
    assert headers["logsentry-dlq-records"] == b"2" and headers["logsentry-dlq-reason"] == b"invalid_event"
    assert len(out.scores) == 1 + 4 + 3
    assert out.formats == {("logs", "combined"): 1, ("logs", "otlp-json"): 2}


def test_a_pinned_input_format_refuses_other_shapes() -> None:
    from logsentry.model_store.ingest.formats import input_format

    out = process_batch(
        [msg(0, event("attack"))],
        KeywordScorer(),
        alert_topic="a",
        dead_letter_topic="d",
        input_format=input_format("combined"),
    )
    assert not out.alerts and out.dead_letter_reasons == {"unrecognized_format": 1}


def test_verdicts_for_every_scored_record_when_a_verdict_topic_is_set() -> None:
    from logsentry.trainer.render import otlp

    records = [{"method": "get", "path": f"/p{i}", "query": {"q": "attack" if i else "fine"}} for i in range(3)]
    batch = [msg(0, event("fine")), msg(1, event("attack")), msg(2, b"{oops"), msg(3, otlp(records).encode())]
    out = process_batch(batch, KeywordScorer(), alert_topic="a", dead_letter_topic="d", verdict_topic="v")
    verdicts = [json.loads(v.value) for v in out.verdicts]
    assert [(v["source"]["offset"], v["record_index"], v["flagged"]) for v in verdicts] == [
        (0, 0, False),
        (1, 0, True),
        (3, 0, False),
        (3, 1, True),
        (3, 2, True),
    ]
    assert all(v["schema"] == "logsentry.verdict/1" and v["model_version"] == "v-test" for v in verdicts)
    assert {o.topic for o in out.outgoing} == {"a", "d", "v"} and len(out.dead_letters) == 1
    assert process_batch(batch, KeywordScorer(), alert_topic="a", dead_letter_topic="d").verdicts == []


class OffsetSource(ListSource):
    """One partition read from a position, as a consumer does: rewind seeks, revocations are scripted."""

    def __init__(self, messages: list[Message], per_poll: int) -> None:
        super().__init__([])
        self.messages = messages
        self.per_poll = per_poll
        self.revoked_before_send: list[set[TopicPartition]] = []

    def poll_batch(self, max_records: int, wait_ms: int, *, idle: bool = True) -> list[Message]:
        batch = self.messages[self.position : self.position + min(max_records, self.per_poll)]
        self.position += len(batch)
        return batch

    def rewind(self, offsets: dict[TopicPartition, int]) -> None:
        self.rewinds.append(dict(offsets))
        self.position = offsets[("logs", 0)]

    def begin_send(self) -> set[TopicPartition]:
        return self.revoked_before_send.pop(0) if self.revoked_before_send else set()


def pipelined_runner(source: ListSource, sink: ListSink, registry: CollectorRegistry) -> StreamRunner:
    settings = StreamSettings(alert_topic="alerts", dead_letter_topic="dlq")
    assert settings.pipelined, "the pipeline is the default"
    return StreamRunner(
        source,
        sink,
        FixedWatcher(),
        StreamMetrics(registry),
        settings,  # type: ignore[arg-type]
        max_backoff_s=0.0,
    )


def test_the_pipeline_sends_a_batch_after_polling_the_next_and_commits_in_order() -> None:
    messages = [msg(i, event("attack" if i % 2 else "fine")) for i in range(6)]
    source, sink = OffsetSource(messages, per_poll=3), ListSink()
    r = pipelined_runner(source, sink, CollectorRegistry())
    assert r.step() == 3
    assert sink.published == [] and source.commits == [], "scored, held until the next poll"
    assert r.step() == 3
    assert source.commits == [{("logs", 0): 3}], "the first batch, committed after its alerts"
    assert [json.loads(o.value)["source"]["offset"] for o in sink.published] == [1]
    assert r.step() == 0
    assert source.commits == [{("logs", 0): 3}, {("logs", 0): 6}]
    assert [json.loads(o.value)["source"]["offset"] for o in sink.published] == [1, 3, 5]


def test_a_failed_publish_rewinds_past_the_scored_batch_too_and_loses_nothing() -> None:
    messages = [msg(i, event("attack")) for i in range(6)]
    source, sink = OffsetSource(messages, per_poll=3), ListSink(failures=1)
    registry = CollectorRegistry()
    r = pipelined_runner(source, sink, registry)
    r.step()  # polls 0-2
    r.step()  # polls 3-5, sends 0-2: refused
    assert source.commits == [] and source.rewinds == [{("logs", 0): 0}]
    for _ in range(4):
        r.step()
    assert source.commits == [{("logs", 0): 3}, {("logs", 0): 6}]
    assert [json.loads(o.value)["source"]["offset"] for o in sink.published] == [0, 1, 2, 3, 4, 5]
    assert registry.get_sample_value("logsentry_batch_retries_total") == 1


def test_revoked_partitions_of_a_scored_batch_are_not_sent() -> None:
    messages = [msg(0, event("attack")), msg(0, event("attack"), partition=1), msg(1, event("attack"))]
    source, sink = OffsetSource(messages, per_poll=3), ListSink()
    source.revoked_before_send = [{("logs", 1)}]
    r = pipelined_runner(source, sink, CollectorRegistry())
    r.step()
    r.step()
    assert [
        (a["source"]["partition"], a["source"]["offset"]) for a in (json.loads(o.value) for o in sink.published)
    ] == [(0, 0), (0, 1)]
    assert source.commits == [{("logs", 0): 2}], "a revoked partition is its new owner's to commit"


def test_a_graceful_stop_sends_and_commits_the_scored_batch() -> None:
    source, sink = OffsetSource([msg(i, event("attack")) for i in range(3)], per_poll=3), ListSink()
    r = pipelined_runner(source, sink, CollectorRegistry())
    r.step()
    r.drain()
    assert source.commits == [{("logs", 0): 3}] and len(sink.published) == 3


class FailingCommits(OffsetSource):
    """Commits fail with the given errors first, as with a coordinator away or a group moved on."""

    def __init__(self, messages: list[Message], per_poll: int, errors: list[Exception]) -> None:
        super().__init__(messages, per_poll)
        self.errors = errors
        self.owned = {("logs", 0)}

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.errors:
            raise self.errors.pop(0)
        super().commit(offsets)

    def assignment(self) -> set[TopicPartition]:
        return self.owned


def test_a_retriable_commit_failure_is_retried_before_anything_more_is_sent() -> None:
    from kafka.errors import KafkaTimeoutError

    messages = [msg(i, event("attack")) for i in range(9)]
    source, sink = FailingCommits(messages, 3, [KafkaTimeoutError(), KafkaTimeoutError()]), ListSink()
    registry = CollectorRegistry()
    r = pipelined_runner(source, sink, registry)
    r.step()  # polls 0-2
    r.step()  # polls 3-5, sends 0-2; the commit fails
    sent = len(sink.published)
    assert sent == 3 and source.commits == []
    assert r.step() == 0, "the commit is retried (and fails again): nothing polled, nothing sent"
    assert len(sink.published) == sent and source.commits == []
    healthy, why = r.healthy()
    assert not healthy and why.startswith("offsets not committed for ") and "KafkaTimeoutError" in why
    r.step()  # the retry succeeds; then the loop goes on
    assert source.commits[0] == {("logs", 0): 3}
    assert r.healthy()[0]
    while r.step() or r._ready is not None:
        pass
    assert source.commits[-1] == {("logs", 0): 9}
    assert [json.loads(o.value)["source"]["offset"] for o in sink.published] == list(range(9)), "once each"
    assert registry.get_sample_value("logsentry_commit_failures_total") == 2


def test_a_commit_the_group_refuses_or_for_a_partition_gone_is_dropped() -> None:
    from kafka.errors import CommitFailedError, KafkaTimeoutError

    source = FailingCommits([msg(i, event("attack")) for i in range(6)], 3, [CommitFailedError()])
    r = pipelined_runner(source, ListSink(), CollectorRegistry())
    r.step()
    r.step()  # the group moved on: the new owner re-reads 0-2, this member goes on
    assert r._uncommitted == {} and source.commits == []
    r.step()
    assert source.commits == [{("logs", 0): 6}]

    source = FailingCommits([msg(i, event("attack")) for i in range(6)], 3, [KafkaTimeoutError()])
    r = pipelined_runner(source, ListSink(), CollectorRegistry())
    r.step()
    r.step()
    assert not r.healthy()[0]
    source.owned = set()  # revoked while the commit waited: not ours to commit any more
    r.step()
    assert r._uncommitted == {} and {("logs", 0): 3} not in source.commits

    source = FailingCommits([msg(i, event("attack")) for i in range(3)], 3, [KafkaTimeoutError()])
    r = pipelined_runner(source, ListSink(), CollectorRegistry())
    r.step()
    r.step()  # sends 0-2; the commit fails and nothing follows
    assert not r.healthy()[0]
    source.owned = set()
    r.step()  # dropped for the new owner; no traffic, so no later commit
    assert source.commits == [] and r.healthy()[0], "nothing is held here any more: healthy, with no traffic"


def test_bulk_histograms_expose_what_a_histogram_does() -> None:
    from prometheus_client import Histogram, generate_latest

    from logsentry.stream.metrics import BulkHistogram

    values = [0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 1.0, 3.0]
    reference, bulk = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("x_seconds", "d", buckets=(0.1, 0.5, 1), registry=reference)
    for v in values:
        histogram.observe(v)
    BulkHistogram("x_seconds", "d", buckets=(0.1, 0.5, 1), registry=bulk).observe_many(np.array(values))

    def lines(registry: CollectorRegistry) -> list[str]:
        return [line for line in generate_latest(registry).decode().splitlines() if "_created " not in line]

    assert lines(bulk) == lines(reference)


class ShadowWatcher(FixedWatcher):
    def __init__(self) -> None:
        super().__init__()
        self.shadow = KeywordScorer()


def test_a_full_batch_sheds_the_shadow_scoring_and_says_so_and_the_rest_never_is() -> None:
    full = [msg(i, event("attack" if i % 2 else "fine")) for i in range(4)]
    short = [msg(i, event("attack")) for i in range(4, 6)]
    source, sink, registry = ListSource([full, short]), ListSink(), CollectorRegistry()
    settings = StreamSettings(alert_topic="alerts", dead_letter_topic="dlq", pipelined=False, batch_size=4)
    r = StreamRunner(
        source,
        sink,
        ShadowWatcher(),
        StreamMetrics(registry),
        settings,  # type: ignore[arg-type]
        max_backoff_s=0.0,
    )
    r.step()  # a full batch: more is waiting, the shadow is shed
    assert registry.get_sample_value("logsentry_shedding", {"what": "shadow"}) == 1
    assert registry.get_sample_value("logsentry_shadow_skipped_total") == 4
    assert registry.get_sample_value("logsentry_shadow_records_total", {"outcome": "both"}) == 0
    assert len([o for o in sink.published if o.topic == "alerts"]) == 2, "alerts are never shed"
    r.step()  # caught up: the shadow scores again
    assert registry.get_sample_value("logsentry_shedding", {"what": "shadow"}) == 0
    assert registry.get_sample_value("logsentry_shadow_records_total", {"outcome": "both"}) == 2
    assert registry.get_sample_value("logsentry_shadow_skipped_total") == 4
    assert source.commits[-1] == {("logs", 0): 6}


def test_created_topics_get_three_replicas_two_in_sync_on_a_cluster_and_what_the_settings_say() -> None:
    kafka = KafkaSettings()
    assert [kafka.replication(brokers) for brokers in (1, 2, 3, 5)] == [(1, 1), (2, 1), (3, 2), (3, 2)]
    chosen = stream_settings({}, {"LOGSENTRY_REPLICATION_FACTOR": "5", "LOGSENTRY_MIN_INSYNC_REPLICAS": "3"})
    assert chosen.kafka.replication(6) == (5, 3)
    with pytest.raises(ConfigError, match="cannot exceed"):
        stream_settings({"replication_factor": 2, "min_insync_replicas": 3}, {})
