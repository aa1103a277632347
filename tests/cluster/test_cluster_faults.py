"""Faults of a real three-broker cluster while the detector streams: a partition leader killed,
the group coordinator's broker killed, a broker frozen past the session timeouts, a rolling
restart under steady load, and the alert topic losing a majority of its in-sync replicas.

Each test holds a batch in flight (published, not committed: ``hooked_stream``) when the fault
lands, and accounts for every offset afterwards through the verdict and dead-letter topics:
every offset came out, every flagged event has its alert, and what repeats stays inside the
README's bound — the batches in flight when a fault struck, never anything else.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from kafka import KafkaAdminClient

from logsentry.model_store.store import ModelStore
from tests.cluster.conftest import Cluster, coordinator, in_sync, leader, moved
from tests.integration.conftest import (
    Produced,
    StartStream,
    StreamProcess,
    Topics,
    Traffic,
    accounting,
    alerts_by_position,
    all_committed,
    committed,
    http_get,
    produce,
    read_all,
    wait_until,
)
from tests.integration.test_stream import events, expected_alerts, offline_flags

BATCH = 50
SESSION_TIMEOUT_S = 10  # the test streams' --session-timeout-ms; brokers' own session timeout is 9 s


def _start(streams: StartStream, cluster: Cluster, topics: Topics, store: ModelStore, **env: str) -> StreamProcess:
    verdicts = topics.alerts.replace("alerts-", "verdicts-")
    return streams(
        cluster.bootstrap,
        topics,
        store.root,
        "--batch-size",
        str(BATCH),
        "--verdict-topic",
        verdicts,
        hooked=True,
        env=env or None,
    )


def _progress(stream: StreamProcess, beyond: float) -> bool:
    return stream.metric("logsentry_events_consumed_total") >= beyond


def _account(
    cluster: Cluster,
    admin: KafkaAdminClient,
    topics: Topics,
    store: ModelStore,
    produced: list[Produced],
    tmp_path: Path,
) -> tuple[Counter[tuple[int, int]], dict[tuple[int, int], list[dict]]]:
    """Wait until everything produced is committed; check every offset and every alert came out."""
    wait_until(lambda: all_committed(admin, cluster.bootstrap, topics), timeout=300, what="all committed")
    values = [p.value for p in produced]
    expected = expected_alerts(produced, offline_flags(store.root, values, tmp_path))
    assert expected, "the traffic held attacks: the alert comparison is not vacuous"
    alerts = alerts_by_position(read_all(cluster.bootstrap, topics.alerts, timeout=60))
    assert set(alerts) == set(expected), "every flagged event has its alert"
    seen = accounting(cluster.bootstrap, topics.alerts.replace("alerts-", "verdicts-"), topics.dead_letters)
    assert set(seen) == {(p.partition, p.offset) for p in produced}, "every offset of every partition came out"
    return seen, alerts


def _repeats(seen: Counter[tuple[int, int]], alerts: dict[tuple[int, int], list[dict]]) -> set[tuple[int, int]]:
    return {c for c, n in seen.items() if n > 1} | {c for c, copies in alerts.items() if len(copies) > 1}


def _nothing_lost(
    stream: StreamProcess,
    cluster: Cluster,
    admin: KafkaAdminClient,
    topics: Topics,
    store: ModelStore,
    produced: list[Produced],
    tmp_path: Path,
    held: set[tuple[int, int]],
) -> None:
    """Everything produced came out (``_account``); the detector rode out the fault by itself; a
    fault re-publishes at most the batches ``held`` in flight (the producer is idempotent)."""
    seen, alerts = _account(cluster, admin, topics, store, produced, tmp_path)
    assert stream.proc.poll() is None, "the detector rode out the fault by itself"
    assert _repeats(seen, alerts) <= held and max(seen.values()) <= 2


def _killed_broker_test(
    victim_of: str,
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
    seed: int,
) -> None:
    stream = _start(streams, whole, cluster_topics, trained_store)
    traffic = Traffic(whole.bootstrap, cluster_topics.logs, events(1500, seed=seed), rate=300)
    held = stream.hold_next_batch()  # published, not committed: the broker dies now
    partition = min(p for p, _ in held)
    if victim_of == "leader":
        victim = leader(cluster_admin, cluster_topics.logs, partition)
        assert victim is not None
        # dead in the middle of requests: frozen first, so the detector's fetches and its
        # alerts and verdicts for the partitions it leads hang in flight, then SIGKILLed once
        # the controller has moved its leaders (the requests fail on the closed connections)
        whole.freeze(victim)
        stream.release()
        wait_until(
            lambda: moved(leader(cluster_admin, cluster_topics.logs, partition), victim),
            timeout=60,
            what="a new leader for the held batch's partition",
        )
        whole.kill(victim)
    else:
        victim = coordinator(cluster_admin, cluster_topics.group)
        assert victim is not None
        whole.kill(victim)
        stream.release()
        wait_until(
            lambda: moved(coordinator(cluster_admin, cluster_topics.group), victim),
            timeout=60,
            what="a new coordinator for the group",
        )
    consumed = stream.metric("logsentry_events_consumed_total")
    wait_until(lambda: _progress(stream, consumed + 300), timeout=120, what="the stream going on without the broker")
    produced = traffic.stop()
    whole.restart(victim)
    _nothing_lost(stream, whole, cluster_admin, cluster_topics, trained_store, produced, tmp_path, held)


def test_the_leader_of_a_partition_being_read_and_written_is_killed(
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    _killed_broker_test("leader", whole, cluster_admin, cluster_topics, trained_store, streams, tmp_path, seed=61)


def test_the_group_coordinators_broker_is_killed(
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    _killed_broker_test("coordinator", whole, cluster_admin, cluster_topics, trained_store, streams, tmp_path, seed=62)


def test_a_broker_frozen_past_the_session_timeouts_then_resumed(
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    """The coordinator's broker stops answering without closing a connection (a long GC pause,
    a hung disk): the controller fences it, the detector finds the new coordinator and leaders."""
    stream = _start(streams, whole, cluster_topics, trained_store)
    traffic = Traffic(whole.bootstrap, cluster_topics.logs, events(1500, seed=63), rate=300)
    held = stream.hold_next_batch()
    victim = coordinator(cluster_admin, cluster_topics.group)
    assert victim is not None
    whole.freeze(victim)
    frozen_at = time.monotonic()
    stream.release()
    consumed = stream.metric("logsentry_events_consumed_total")
    wait_until(
        lambda: moved(coordinator(cluster_admin, cluster_topics.group), victim),
        timeout=90,
        what="the frozen broker fenced and its partitions led elsewhere",
    )
    wait_until(lambda: _progress(stream, consumed + 300), timeout=120, what="the stream going on while it is frozen")
    wait_until(lambda: time.monotonic() - frozen_at > SESSION_TIMEOUT_S + 2, timeout=60, what="past the timeouts")
    whole.thaw(victim)
    wait_until(lambda: in_sync(cluster_admin), timeout=120, what="the thawed broker back in sync")
    produced = traffic.stop()
    _nothing_lost(stream, whole, cluster_admin, cluster_topics, trained_store, produced, tmp_path, held)


def test_a_rolling_restart_of_all_three_brokers_under_steady_load(
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    """Brokers restarted one by one, as for an upgrade, while traffic keeps arriving; a batch is
    held in flight as each broker goes down."""
    stream = _start(streams, whole, cluster_topics, trained_store)
    traffic = Traffic(whole.bootstrap, cluster_topics.logs, events(1500, seed=64), rate=300)
    in_flight: set[tuple[int, int]] = set()
    for node in (1, 2, 3):
        in_flight |= stream.hold_next_batch()
        whole.stop(node)
        stream.release()
        consumed = stream.metric("logsentry_events_consumed_total")
        wait_until(
            lambda consumed=consumed: _progress(stream, consumed + 150),
            timeout=120,
            what=f"the stream going on without broker {node}",
        )
        whole.restart(node)
        wait_until(lambda: in_sync(cluster_admin), timeout=120, what=f"broker {node} back in sync")
    produced = traffic.stop()
    _nothing_lost(stream, whole, cluster_admin, cluster_topics, trained_store, produced, tmp_path, in_flight)


def test_losing_a_majority_of_the_alert_topics_in_sync_replicas_holds_offsets_until_they_return(
    whole: Cluster,
    cluster_admin: KafkaAdminClient,
    cluster_topics: Topics,
    trained_store: ModelStore,
    streams: StartStream,
    tmp_path: Path,
) -> None:
    """Two of three brokers die: the alert topic (three replicas, two must acknowledge, as the
    detector creates it) refuses every write, while the log topic stays readable and offset
    commits would still succeed (the offsets topic needs one replica). The detector stops
    committing anyway, says so (metric, ``/healthz``, log line), loses nothing, and goes on by
    itself when the replicas are back."""
    stream = _start(streams, whole, cluster_topics, trained_store, LOGSENTRY_PUBLISH_TIMEOUT_S="5")
    traffic = Traffic(whole.bootstrap, cluster_topics.logs, events(1500, seed=65), rate=300)
    stream.hold_next_batch()
    produced = traffic.stop()  # producing needs two replicas of the log topic too
    for node in (1, 2):
        whole.kill(node)
    stream.release()
    failures = wait_until(
        lambda: stream.metric("logsentry_publish_failures_total") or None,
        timeout=120,
        what="the alert topic refusing writes",
    )
    held_at = committed(cluster_admin, cluster_topics.group, cluster_topics.logs)
    wait_until(
        lambda: stream.metric("logsentry_publish_failures_total") >= failures + 2, timeout=120, what="two more refusals"
    )
    assert committed(cluster_admin, cluster_topics.group, cluster_topics.logs) == held_at, (
        "no offset moves past an alert the broker did not acknowledge"
    )
    assert sum(held_at.values()) < len(produced), "offsets were held with events still to deliver"
    _, body = wait_until(lambda: (r := http_get(stream.port))[0] == 503 and r, timeout=60, what="/healthz 503")
    assert "alerts and dead letters not acknowledged" in body, body
    assert "publish failed; batch not committed" in stream.log_path.read_text()
    assert whole.status() == {1: "stopped", 2: "stopped", 3: "running"}
    for node in (1, 2):
        whole.restart(node)
    wait_until(lambda: in_sync(cluster_admin), timeout=180, what="the replicas back in sync")
    produced += produce(whole.bootstrap, cluster_topics.logs, events(300, seed=66))
    seen, alerts = _account(whole, cluster_admin, cluster_topics, trained_store, produced, tmp_path)
    wait_until(lambda: http_get(stream.port)[0] == 200, timeout=60, what="/healthz 200 again")
    assert stream.proc.poll() is None
    attempts = stream.metric("logsentry_batch_retries_total") + 1
    assert max(seen.values()) <= attempts, (max(seen.values()), attempts)
    assert len(_repeats(seen, alerts)) <= 2 * BATCH, "only the refused batches repeat (the one sent, the next)"
