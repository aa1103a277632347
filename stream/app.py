"""Wires the stream together from its settings: the one place that builds the real parts."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from prometheus_client import CollectorRegistry

from logsentry.model_store.bundled import serving_store
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.stream.consumer import KafkaSource
from logsentry.stream.http import serve
from logsentry.stream.kafka.connection import check_connection, native_crc32c
from logsentry.stream.kafka.topics import ensure_topics
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.producer import MIN_REQUEST_SIZE, KafkaSink
from logsentry.stream.reload import ModelWatcher
from logsentry.stream.rules_watch import RulesWatcher
from logsentry.stream.runner import StreamRunner
from logsentry.stream.settings import StreamSettings

log = logging.getLogger(__name__)


def run_stream(settings: StreamSettings, registry: CollectorRegistry | None = None) -> int:
    """Run until SIGTERM/SIGINT; then finish the batch, flush, commit, close and return 0."""
    metrics = StreamMetrics(registry, settings.topics)
    store = ModelStore(settings.store)
    first = serving_store(store, settings.model_version)  # the bundled model while the store has none
    first.manifest(settings.model_version)  # local inputs first: a bad store is reported before any connection
    rules = RulesWatcher(settings.rules, metrics, interval_s=settings.reload_interval_s)
    check_connection(settings.kafka)
    watcher = ModelWatcher(
        store,
        settings.model_version,
        metrics,
        interval_s=settings.reload_interval_s,
        loader=lambda store, ref: load_detector(store, ref, settings.runtime),
        first=first,
    )
    if not native_crc32c():
        log.warning(
            "the crc32c package is missing: kafka-python checksums every record batch in pure Python, "
            "which costs more than scoring; pip install 'kafka-python[crc32c]'"
        )
    if settings.create_topics:
        wanted = {settings.alert_topic: 3, settings.dead_letter_topic: 1}
        wanted |= {t: 3 for t in (settings.verdict_topic, settings.suppressed_topic, settings.shadow_topic) if t}
        ensure_topics(settings.kafka, wanted)
    sink = KafkaSink(
        settings.kafka,
        timeout_s=settings.publish_timeout_s,
        max_request_size=max(MIN_REQUEST_SIZE, settings.max_message_bytes * 2),
    )
    source = KafkaSource(
        settings.kafka,
        settings.topics,
        settings.group_id,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=settings.session_timeout_ms,
        auto_offset_reset=settings.auto_offset_reset,
        rebalance_stall_s=settings.rebalance_stall_s,
        batch_bytes=settings.batch_bytes,
    )
    runner = StreamRunner(source, sink, watcher, metrics, settings, rules=rules)
    server = serve(settings.metrics_address, settings.metrics_port, metrics.registry, runner.healthy, runner.alive)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal=%s received: draining", signal.Signals(signum).name)
        runner.stop_event.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    watcher.start()
    rules.start()
    log.info(
        "streaming topics=%s input_format=%s group=%s alerts=%s dead_letters=%s brokers=%s",
        ",".join(settings.topics),
        settings.input_format,
        settings.group_id,
        settings.alert_topic,
        settings.dead_letter_topic,
        settings.kafka.bootstrap_servers,
    )
    try:
        runner.run()
    except BaseException:
        log.exception("stream stopped by an unexpected error")
        raise
    finally:
        watcher.stop()
        rules.stop()
        source.close()
        sink.close()
        server.shutdown()
    log.info("stopped cleanly")
    return 0
