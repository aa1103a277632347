"""The topics logsentry creates and reads whole: wait until the log topics are ready, create the
output topics (admin API), read a small topic to its end (the feedback and shadow topics)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import TopicPartition

from logsentry.errors import StreamError
from logsentry.stream.kafka import clients
from logsentry.stream.settings import KafkaSettings

log = logging.getLogger(__name__)


def await_topics(kafka: KafkaSettings, topics: Sequence[str], timeout_s: float = 30.0) -> None:
    """Wait until the log topics exist and every partition has a leader, before joining.

    A member that joins before it knows the topics' partitions is handed an empty assignment
    and must rejoin (dpkp/kafka-python#2377); asking the group consumer itself for all
    topics' metadata triggers a rejoin too. A separate short-lived admin client asks instead.
    """
    deadline = time.monotonic() + timeout_s
    admin = clients.admin(kafka)
    try:
        while True:
            try:
                described = admin.describe_topics(list(topics))
                ready = {
                    t["name"]
                    for t in described
                    if not t["error_code"] and t["partitions"] and all(p["leader_id"] >= 0 for p in t["partitions"])
                }
            except KafkaError:
                ready = set()
            missing = sorted(set(topics) - ready)
            if not missing:
                return
            if time.monotonic() > deadline:
                log.warning("log topics not ready topics=%s; subscribing anyway", missing)
                return
            time.sleep(0.5)
    finally:
        admin.close()


def ensure_topics(kafka: KafkaSettings, topics: dict[str, int], configs: dict[str, str] | None = None) -> None:
    """Create missing topics (name to partition count, with ``configs``), replicated as
    :meth:`KafkaSettings.replication` says for the brokers found; an existing topic is left as it is."""
    try:
        admin = clients.admin(kafka)
    except KafkaError as exc:
        raise StreamError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {exc!r}") from exc
    try:
        existing = set(admin.list_topics())
        factor, in_sync = kafka.replication(_brokers(admin))
        settings = {"min.insync.replicas": str(in_sync), **(configs or {})}
        missing = [
            NewTopic(name, n, factor, topic_configs=settings) for name, n in topics.items() if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
                names = [t.name for t in missing]
                log.info("created topics=%s replication_factor=%d min_insync_replicas=%d", names, factor, in_sync)
            except TopicAlreadyExistsError:
                pass
    except KafkaError as exc:
        where = kafka.bootstrap_servers
        raise StreamError(f"cannot create topics {sorted(topics)} on Kafka at {where}: {exc!r}") from exc
    finally:
        admin.close()


def _brokers(admin: KafkaAdminClient) -> int:
    try:
        return len(admin.describe_cluster().get("brokers", []))
    except KafkaError:
        return 1


def read_to_end(
    kafka: KafkaSettings, topic: str, timeout_s: float = 60.0
) -> list[tuple[bytes | None, bytes | None]] | None:
    """Every (key, value) of ``topic`` up to its end offsets now; None if there is no such topic."""
    consumer = clients.reader(kafka)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            return None
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        pairs: list[tuple[bytes | None, bytes | None]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise StreamError(f"could not read {topic!r} to its end in {timeout_s:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                pairs.extend((r.key, r.value) for r in records)
        return pairs
    except KafkaError as exc:
        raise StreamError(f"cannot read {topic!r} from Kafka: {exc!r}") from exc
    finally:
        consumer.close()
