"""A candidate model in shadow on the real broker: the running detector scores every batch with it
too, publishes its disagreements (the same as offline scores of both versions) and nothing else
for it, and `models promote` gates the candidate on that agreement."""

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
    alerts_by_position,
    all_committed,
    produce,
    read_all,
    wait_until,
)
from tests.integration.test_feedback import cli
from tests.integration.test_stream import events, expected_alerts, offline_flags

pytestmark = pytest.mark.integration


def test_a_shadow_candidate_is_scored_beside_the_current_model_and_gates_its_promotion(
    bootstrap: str,
    admin: KafkaAdminClient,
    topics: Topics,
    store_copy: Path,
    streams: StartStream,
    generated_csv: Path,
    tmp_path: Path,
) -> None:
    store = ModelStore(store_copy)
    current = store.current()
    trained = cli(
        "train",
        "--data",
        str(generated_csv),
        "--store",
        str(store_copy),
        "--epochs",
        "1",
        "--seed",
        "7",
        "--keras-verbose",
        "0",
        "--no-promote",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    (candidate,) = set(store.versions()) - {current}
    assert cli("models", "shadow", candidate, "--store", str(store_copy)).returncode == 0

    shadow_topic = topics.alerts.replace("alerts-", "shadow-")
    # batches larger than the traffic: none is ever full, so the shadow is never shed (the unit tests shed it)
    stream = streams(
        bootstrap,
        topics,
        store_copy,
        "--shadow-topic",
        shadow_topic,
        "--reload-interval-s",
        "0.5",
        "--batch-size",
        "4096",
    )
    wait_until(
        lambda: stream.metric("logsentry_shadow_model", version=candidate) == 1,
        timeout=120,
        what="the candidate loaded in shadow",
    )
    values = events(3000, seed=51)
    produced = produce(bootstrap, topics.logs, values)
    wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=240, what="all committed")

    mine = offline_flags(store_copy, values, tmp_path, "--version", current)
    theirs = offline_flags(store_copy, values, tmp_path, "--version", candidate)
    names = {
        (True, True): "both",
        (True, False): "current_only",
        (False, True): "candidate_only",
        (False, False): "neither",
    }
    outcomes = Counter(names[(a["flagged"], b["flagged"])] for a, b in zip(mine, theirs, strict=True))
    differ = {
        (p.partition, p.offset) for p, a, b in zip(produced, mine, theirs, strict=True) if a["flagged"] != b["flagged"]
    }
    assert differ, "two differently trained models disagree somewhere"

    records = [json.loads(r.value) for r in read_all(bootstrap, shadow_topic)]
    disagreements = [r for r in records if r["schema"] == "logsentry.shadow/1"]
    assert {(r["source"]["partition"], r["source"]["offset"]) for r in disagreements} == differ
    assert all(r["current"]["version"] == current and r["candidate"]["version"] == candidate for r in disagreements)
    summed: Counter[str] = Counter()
    for r in records:
        if r["schema"] == "logsentry.shadow-summary/1":
            summed.update(r["counts"])
    assert summed == outcomes
    for outcome, n in outcomes.items():
        assert stream.metric("logsentry_shadow_records_total", outcome=outcome) == n
    assert stream.metric("logsentry_shadow_skipped_total") == 0
    assert stream.metric("logsentry_shedding", what="shadow") == 0
    alerts = alerts_by_position(read_all(bootstrap, topics.alerts))
    assert set(alerts) == set(expected_alerts(produced, mine)), "the candidate alerts nothing"
    assert {a["model_version"] for (a,) in alerts.values()} == {current}

    kafka = ("--bootstrap-servers", bootstrap, "--shadow-topic", shadow_topic)
    refused = cli("models", "promote", candidate, "--store", str(store_copy), "--max-disagreement", "0", *kafka)
    assert refused.returncode == 2 and "above the gate" in refused.stderr, refused.stderr
    assert f"only the candidate {outcomes['candidate_only']:,}" in refused.stderr
    assert store.current() == current
    forced = cli(
        "models", "promote", candidate, "--store", str(store_copy), "--max-disagreement", "0", "--force", *kafka
    )
    assert forced.returncode == 0 and store.current() == candidate, forced.stderr
