"""The stall path, provoked for real: a scorer that blocks mid-batch stalls the loop, the
detector's own HTTP endpoint answers 503, and once the batch goes through it answers 200
again and everything is committed. Real broker, real consumer and producer, real server."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from kafka import KafkaAdminClient
from prometheus_client import CollectorRegistry

from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.stream.consumer import KafkaSource
from logsentry.stream.http import serve
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.producer import KafkaSink
from logsentry.stream.reload import ModelWatcher
from logsentry.stream.runner import StreamRunner
from logsentry.stream.settings import KafkaSettings, StreamSettings
from tests.integration.conftest import Topics, all_committed, http_get, produce, wait_until
from tests.integration.test_stream import events


class Blocking:
    """A real detector whose first scoring call waits until released, and says when it started."""

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self.scoring = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)

    def score_texts(self, texts: list[str]) -> np.ndarray:
        if not self.release.is_set():
            self.scoring.set()
            self.release.wait(120)
        return self._detector.score_texts(texts)  # type: ignore[no-any-return]


def test_a_stalled_loop_is_unhealthy_until_it_moves_again(
    bootstrap: str, admin: KafkaAdminClient, topics: Topics, trained_store: ModelStore
) -> None:
    produce(bootstrap, topics.logs, events(300, seed=41))
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    registry = CollectorRegistry()
    metrics = StreamMetrics(registry, (topics.logs,))
    blocking = Blocking(load_detector(trained_store))
    watcher = ModelWatcher(trained_store, "current", metrics, loader=lambda store, ref: blocking)  # type: ignore[arg-type,return-value]
    settings = StreamSettings(alert_topic=topics.alerts, dead_letter_topic=topics.dead_letters, stall_after_s=2.0)
    source = KafkaSource(kafka, [topics.logs], topics.group)
    runner = StreamRunner(source, KafkaSink(kafka), watcher, metrics, settings, max_backoff_s=0.5)
    server = serve("127.0.0.1", 0, registry, runner.healthy, runner.alive)
    port = server.server_address[1]
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        assert blocking.scoring.wait(60), "a batch was polled and is being scored"
        _, body = wait_until(lambda: (r := http_get(port))[0] == 503 and r, timeout=30, what="healthz 503")
        assert "stream loop stalled" in body
        assert http_get(port, "/livez")[0] == 503, "a stalled loop is not alive either"
        assert registry.get_sample_value("logsentry_events_consumed_total", {"topic": topics.logs}) == 0
        blocking.release.set()
        wait_until(lambda: all_committed(admin, bootstrap, topics), timeout=120, what="all committed after the stall")
        _, body = wait_until(lambda: (r := http_get(port))[0] == 200 and r, timeout=30, what="healthz 200")
        assert body.startswith("ok model=")
        assert http_get(port, "/livez")[0] == 200
    finally:
        blocking.release.set()
        runner.stop_event.set()
        thread.join(60)
        source.close()
        server.shutdown()
    assert registry.get_sample_value("logsentry_events_consumed_total", {"topic": topics.logs}) == 300
