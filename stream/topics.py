"""Topics through the admin API: wait until the log topics are ready, create the output topics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from logsentry.model_store.errors import StreamError
from logsentry.stream.settings import KafkaSettings

log = logging.getLogger(__name__)


def await_topics(kafka: KafkaSettings, topics: Sequence[str], timeout_s: float = 30.0) -> None:
    """Wait until the log topics exist and every partition has a leader, before joining.

    A member that joins before it knows the topics' partitions is handed an empty assignment
    and must rejoin (dpkp/kafka-python#2377); asking the group consumer itself for all
    topics' metadata triggers a rejoin too. A separate short-lived admin client asks instead.
    """
    deadline = time.monotonic() + timeout_s
    admin = KafkaAdminClient(**kafka.client_config(), client_id="logsentry-admin")
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
    """Create missing topics (name to partition count, with ``configs``); an existing topic is left as it is."""
    try:
        admin = KafkaAdminClient(**kafka.client_config(), client_id="logsentry-admin")
    except KafkaError as exc:
        raise StreamError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {exc!r}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, n, 1 if _single_broker(admin) else 3, topic_configs=configs or {})
            for name, n in topics.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
                log.info("created topics=%s", [t.name for t in missing])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def _single_broker(admin: KafkaAdminClient) -> bool:
    try:
        return len(admin.describe_cluster().get("brokers", [])) < 3
    except KafkaError:
        return True
