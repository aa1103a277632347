"""The streaming detector against a real Apache Kafka broker: the streaming issue's acceptance."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from kafka import KafkaAdminClient

from logsentry.model_store.ingest.fields import value_at
from logsentry.model_store.store import ModelStore
from logsentry.stream.explain_budget import BURST_S
from logsentry.trainer.generate import generate_events
from tests.conftest import publish, toy_preprocessing
from tests.integration.conftest import (
    Produced,
    StartStream,
    Topics,
    Traffic,
    accounting,
    alerts_by_position,
    all_committed,
    committed,
    end_offsets,
    group_state,
    produce,
    read_all,
    wait_until,
)

pytestmark = pytest.mark.integration

MALFORMED: list[tuple[bytes, str]] = [
    (b"not json at all", "unrecognized_format"),
    (b"{not json at all", "not_json"),
    (b"\xff\xfe\x00garbage", "not_utf8"),
    (b"[1, 2, 3]", "not_object"),
    (b'"just a string"', "not_object"),
    (b'{"method": "get", "path": "/", "path": "/admin"}', "duplicate_key"),
    (b'{"statusCode": NaN}', "not_json"),
    (b"[" * 5000 + b"]" * 5000, "too_deep"),
    (b'{"q": ' + b"9" * 5000 + b"}", "not_json"),
    (b"", "empty"),
    (b'{"method": "get", "q": "' + b"x" * 600_000 + b'"}', "too_large"),
]


def events(n: int, seed: int) -> list[bytes]:
    return [
        json.dumps(event, separators=(",", ":")).encode()
        for event, _ in generate_events(n, seed=seed, attack_share=0.3)
    ]


def offline_flags(store: Path, values: list[bytes], tmp_path: Path, *extra: str) -> list[dict]:
    """What ``logsentry score`` says of each value: the offline twin of the stream."""
    path = tmp_path / "offline.jsonl"
    path.write_bytes(b"\n".join(values) + b"\n")
    done = subprocess.run(
        [sys.executable, "-m", "logsentry", "score", "--store", str(store), str(path), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def expected_alerts(produced: list[Produced], offline: list[dict]) -> dict[tuple[int, int], float]:
    return {(p.partition, p.offset): o["score"] for p, o in zip(produced, offline, strict=True) if o["flagged"]}


def test_end_to_end_alerts_dead_letters_offsets_and_metrics(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    good = events(5000, seed=11)
    values: list[bytes] = []
    reasons: list[str | None] = []  # None for a good event, else the expected dead-letter reason
    for i, value in enumerate(good):
        if i % 100 == 50:  # spread 50 malformed messages through the stream
            bad_value, reason = MALFORMED[(i // 100) % len(MALFORMED)]
            values.append(bad_value)
            reasons.append(reason)
        values.append(value)
        reasons.append(None)
    produced = produce(bootstrap, topics.logs, values)
    good_produced = [p for p, r in zip(produced, reasons, strict=True) if r is None]
    bad_positions = {(p.partition, p.offset): r for p, r in zip(produced, reasons, strict=True) if r is not None}
    assert len(bad_positions) == 50

    # every alert explained (the budget is tested under a flood below): the stream explains as offline does
    stream = streams(bootstrap, topics, trained_store.root, "--max-message-bytes", "500000", "--explain-budget", "1")
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")

    offline = offline_flags(trained_store.root, good, tmp_path, "--explain")
    expected = expected_alerts(good_produced, offline)
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected)
    assert all(len(a) == 1 for a in alerts.values())
    version = trained_store.current()
    schema = json.loads((Path(__file__).parents[2] / "stream" / "alert.schema.json").read_text())
    offline_why = {(p.partition, p.offset): o.get("explanation") for p, o in zip(good_produced, offline, strict=True)}
    differ = []
    for position, (alert,) in alerts.items():
        assert alert["score"] == pytest.approx(expected[position], abs=1e-5)
        assert alert["model_version"] == version and alert["schema"] == "logsentry.alert/1"
        assert alert["score"] >= alert["threshold"]
        jsonschema.validate(alert, schema)
        assert alert["explanation_skipped"] is None, "a budget of 1 explains every alert"
        for span in alert["explanation"]:  # offsets in the original value of the named field
            assert value_at(alert["event"], span["field"])[span["start"] : span["end"]] == span["text"]
        spans = [(s["field"], s["start"], s["end"], s["text"]) for s in alert["explanation"]]
        if spans != [(s["field"], s["start"], s["end"], s["text"]) for s in offline_why[position]]:
            differ.append((position, spans, offline_why[position]))
    # exact: the same spans as `logsentry score --explain`, for every alert (spans or none)
    assert not differ, differ[:3]
    assert sum(bool(a["explanation"]) for (a,) in alerts.values()) >= 0.9 * len(alerts), "alerts explain themselves"
    sample = read_all(bootstrap, topics.alerts)[0]
    assert sample.headers["logsentry-model-version"] == version.encode()
    assert sample.key == json.loads(sample.value)["event"]["source"]["remoteAddress"].encode()

    dead = read_all(bootstrap, topics.dead_letters)
    assert len(dead) == 50
    seen = {
        (int(d.headers["logsentry-dlq-source-partition"]), int(d.headers["logsentry-dlq-source-offset"])): d
        for d in dead
    }
    assert set(seen) == set(bad_positions)
    for position, record in seen.items():
        assert record.headers["logsentry-dlq-reason"].decode() == bad_positions[position]
        assert record.headers["logsentry-dlq-source-topic"].decode() == topics.logs
        assert record.headers["logsentry-dlq-error"]
    originals = {(p.partition, p.offset): p.value for p in produced}
    assert all(r.value == originals[pos] or (r.value is None and originals[pos] == b"") for pos, r in seen.items())

    assert committed(admin, topics.group, topics.logs) == {
        p: e for p, e in end_offsets(bootstrap, topics.logs).items() if e
    }
    assert stream.metric("logsentry_events_consumed_total") == 5050
    assert stream.metric("logsentry_events_scored_total") == 5000
    assert stream.metric("logsentry_events_flagged_total") == len(expected)
    assert stream.metric("logsentry_alerts_published_total") == len(expected)
    assert stream.metric("logsentry_dead_letters_total") == 50
    for reason, n in Counter(bad_positions.values()).items():
        assert stream.metric("logsentry_dead_letters_total", reason=reason) == n
    assert stream.metric("logsentry_consumer_lag_messages") == 0
    assert stream.metric("logsentry_model_info", version=version) == 1

    promtool = shutil.which("promtool") or pytest.fail("promtool is required: run `make tools`")
    lint = subprocess.run([promtool, "check", "metrics"], input=stream.metrics_text(), capture_output=True, text=True)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr


def test_a_flood_of_attacks_is_alerted_on_time_with_explanations_within_their_budget(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    """Every request an attack: explaining all would take most of the loop's time. The budget
    keeps it to its share; every alert still goes out, the rest without spans, counted."""
    flood = [
        json.dumps(event, separators=(",", ":")).encode() for event, _ in generate_events(6000, seed=21, attack_share=1)
    ]
    produced = produce(bootstrap, topics.logs, flood)
    budget = 0.05
    stream = streams(bootstrap, topics, trained_store.root, "--explain-budget", str(budget))
    started = time.monotonic()
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")
    elapsed = time.monotonic() - started

    expected = expected_alerts(produced, offline_flags(trained_store.root, flood, tmp_path))
    assert len(expected) > 0.5 * len(flood), "a flood: most requests alert"
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected), "every flagged request has its alert, explained or not"
    skipped = [a for (a,) in alerts.values() if a["explanation_skipped"] == "budget"]
    explained = [a for (a,) in alerts.values() if a["explanation_skipped"] is None]
    assert skipped and explained, (len(skipped), len(explained))
    assert all(a["explanation"] == [] for a in skipped)
    assert sum(bool(a["explanation"]) for a in explained) >= 0.9 * len(explained), "explained alerts carry spans"
    assert stream.metric("logsentry_explanations_skipped_total") == len(skipped)
    spent = stream.metric("logsentry_explain_duration_seconds_sum")
    # the budget's share of the time it took, plus the saved-up burst (BURST_S) and a batch's misestimate
    assert 0 < spent <= budget * elapsed + BURST_S + 0.5, (spent, elapsed)


def test_sigkill_mid_stream_loses_no_alert_and_bounds_duplicates(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    batch = 50
    verdicts = topics.alerts.replace("alerts-", "verdicts-")
    flags = ("--batch-size", str(batch), "--verdict-topic", verdicts)
    first = streams(bootstrap, topics, trained_store.root, *flags, hooked=True)
    traffic = Traffic(bootstrap, topics.logs, events(60_000, seed=12), rate=1000)  # until the kill is done
    wait_until(lambda: sum(committed(admin, topics.group, topics.logs).values()) > 500, timeout=60, what="progress")
    held = first.hold_next_batch()  # published, its commit not yet made
    at_kill = committed(admin, topics.group, topics.logs)
    assert all(offset >= at_kill.get(partition, 0) for partition, offset in held), "the held batch is uncommitted"
    first.kill()  # SIGKILL with that batch in flight, traffic still coming: no drain, no commit
    produced = traffic.stop()
    streams(bootstrap, topics, trained_store.root, *flags)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")

    expected = expected_alerts(produced, offline_flags(trained_store.root, [p.value for p in produced], tmp_path))
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected), "every flagged event has its alert, and only those"
    seen = accounting(bootstrap, verdicts, topics.dead_letters)
    assert set(seen) == {(p.partition, p.offset) for p in produced}, "every offset of every partition came out"
    # the README's bound: a crash re-publishes at most the one batch published and not committed
    assert 0 < len(held) <= batch
    assert {c for c, n in seen.items() if n > 1} <= held and max(seen.values()) <= 2
    assert {c for c, copies in alerts.items() if len(copies) > 1} <= held and max(map(len, alerts.values())) <= 2


def test_sigterm_drains_commits_and_leaves_no_duplicates(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    verdicts = topics.alerts.replace("alerts-", "verdicts-")
    first = streams(
        bootstrap, topics, trained_store.root, "--batch-size", "50", "--verdict-topic", verdicts, hooked=True
    )
    traffic = Traffic(bootstrap, topics.logs, events(60_000, seed=13), rate=1000)  # until the stop is done
    wait_until(lambda: sum(committed(admin, topics.group, topics.logs).values()) > 500, timeout=60, what="progress")
    held = first.hold_next_batch()
    first.proc.send_signal(signal.SIGTERM)  # the stop lands with a batch published and not committed
    first.release()
    assert first.proc.wait(timeout=60) == 0
    done = committed(admin, topics.group, topics.logs)
    assert all(offset < done.get(partition, 0) for partition, offset in held), "the held batch was committed"
    alerts_then = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert all(offset < done.get(partition, 0) for partition, offset in alerts_then), "an alert past the commit"
    produced = traffic.stop()

    second = streams(bootstrap, topics, trained_store.root, "--verdict-topic", verdicts)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")
    assert second.metric("logsentry_events_consumed_total") == len(produced) - sum(done.values())
    expected = expected_alerts(produced, offline_flags(trained_store.root, [p.value for p in produced], tmp_path))
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected)
    assert all(len(copies) == 1 for copies in alerts.values()), "no duplicate after a graceful restart"
    seen = accounting(bootstrap, verdicts, topics.dead_letters)
    assert seen == Counter((p.partition, p.offset) for p in produced), "every offset exactly once"


def test_two_processes_share_partitions_and_publish_exactly_the_expected_alerts(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    one = streams(bootstrap, topics, trained_store.root)
    two = streams(bootstrap, topics, trained_store.root)

    def owned() -> list[float]:
        return [p.metric("logsentry_assigned_partitions") for p in (one, two)]

    # the group is settled once each process owns partitions (2 + 2 of the 4)
    wait_until(lambda: owned() == [2, 2], timeout=90, what="both processes owning two partitions")
    values = events(4000, seed=14)
    produced = produce(bootstrap, topics.logs, values)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")
    expected = expected_alerts(produced, offline_flags(trained_store.root, values, tmp_path))
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected)
    assert all(len(copies) == 1 for copies in alerts.values())
    a, b = one.metric("logsentry_events_consumed_total"), two.metric("logsentry_events_consumed_total")
    assert a > 0 and b > 0 and a + b == len(values)


def test_hot_reload_switches_versions_and_refuses_a_bad_one(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    store_copy: Path,
    streams: StartStream,
) -> None:
    import keras

    store = ModelStore(store_copy)
    old = store.current()
    stream = streams(bootstrap, topics, store_copy, "--reload-interval-s", "0.5")

    def versions_after(n: int) -> set[str]:
        wait_until(lambda: sum(committed(admin, topics.group, topics.logs).values()) >= n, timeout=120, what=f"{n}")
        return {a["model_version"] for a in map(json.loads, (r.value for r in read_all(bootstrap, topics.alerts)))}

    produce(bootstrap, topics.logs, events(300, seed=15))
    assert versions_after(300) == {old}

    new = publish(store, threshold=0.0)  # flags everything: every later event carries the new version
    store.promote(new)
    wait_until(lambda: stream.metric("logsentry_model_reloads_total", result="success") == 1, timeout=60, what="reload")
    assert stream.metric("logsentry_model_info", version=new) == 1
    produced = produce(bootstrap, topics.logs, events(200, seed=16))
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=120, what="second batch committed")
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert all(alerts[(p.partition, p.offset)][0]["model_version"] == new for p in produced)

    # a version that passes its checksums but is unsafe to load (a Lambda layer) is refused
    pre = toy_preprocessing()
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Embedding(pre.tokenizer.input_dim, 4)(inputs))
    unsafe = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalMaxPooling1D()(x)))
    bad = publish(store, unsafe, pre)
    store.promote(bad)
    wait_until(
        lambda: stream.metric("logsentry_model_reloads_total", result="failure") == 1, timeout=60, what="refusal"
    )
    produced = produce(bootstrap, topics.logs, events(100, seed=17))
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=120, what="third batch committed")
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert all(alerts[(p.partition, p.offset)][0]["model_version"] == new for p in produced)
    assert stream.metric("logsentry_model_info", version=new) == 1


def test_members_joining_and_leaving_under_load_lose_nothing(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    verdicts = topics.alerts.replace("alerts-", "verdicts-")
    flags = ("--batch-size", "50", "--verdict-topic", verdicts)
    first = streams(bootstrap, topics, trained_store.root, *flags, hooked=True)
    traffic = Traffic(bootstrap, topics.logs, events(30_000, seed=18), rate=300)  # runs until both rebalances are done
    wait_until(lambda: first.metric("logsentry_events_consumed_total") > 300, timeout=60, what="first batches")

    held = first.hold_next_batch()  # the join lands while the first member has a batch in flight
    second = streams(bootstrap, topics, trained_store.root, *flags, hooked=True)  # rebalance: 4 -> 2 + 2
    wait_until(lambda: group_state(admin, topics.group) == "PreparingRebalance", timeout=60, what="rebalance begun")
    first.release()
    wait_until(lambda: second.metric("logsentry_assigned_partitions") == 2, timeout=60, what="second member owns two")
    wait_until(lambda: second.metric("logsentry_events_consumed_total") > 100, timeout=60, what="second member works")

    held_by_second = second.hold_next_batch()  # the graceful leave lands with a batch in flight too
    second.proc.send_signal(signal.SIGTERM)
    second.release()
    assert second.proc.wait(timeout=60) == 0  # rebalance: 2 + 2 -> 4
    wait_until(lambda: first.metric("logsentry_assigned_partitions") == 4, timeout=60, what="first owns all four")
    after_leave = first.metric("logsentry_events_consumed_total")
    wait_until(
        lambda: first.metric("logsentry_events_consumed_total") > after_leave + 100,
        timeout=60,
        what="first member works on, under traffic",
    )
    produced = traffic.stop()
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all offsets committed")

    assert held and held_by_second
    expected = expected_alerts(produced, offline_flags(trained_store.root, [p.value for p in produced], tmp_path))
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected), "a rebalance lost or invented alerts"
    assert all(len(copies) == 1 for copies in alerts.values()), "clean rebalances must not duplicate"
    seen = accounting(bootstrap, verdicts, topics.dead_letters)
    assert seen == Counter((p.partition, p.offset) for p in produced), "every offset exactly once"
