"""Every kafka-python client logsentry uses is built here, from :meth:`KafkaSettings.client_config`
(brokers, security, request timeout) and the options its use adds.

- :func:`consumer`: a consumer; given a ``group_id``, a group member (the detector's, stream/consumer.py);
- :func:`reader`: a consumer of no group that commits nothing, so reading a topic leaves every
  group's offsets and assignments as they were (training ranges, feedback, ``logsentry alerts``);
- :func:`producer` and :func:`admin`.

An option given here wins over the shared configuration (the sink's own request timeout, say).
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from logsentry.stream.settings import KafkaSettings


def consumer(kafka: KafkaSettings, *topics: str, **options: Any) -> KafkaConsumer:
    """A consumer of ``topics`` (or of partitions assigned later), with ``options``."""
    return KafkaConsumer(*topics, **(kafka.client_config() | options))


def reader(kafka: KafkaSettings, *topics: str, **options: Any) -> KafkaConsumer:
    """A consumer of no group that commits nothing (``options`` cannot name a group)."""
    return consumer(kafka, *topics, group_id=None, enable_auto_commit=False, **options)


def producer(kafka: KafkaSettings, **options: Any) -> KafkaProducer:
    return KafkaProducer(**(kafka.client_config() | options))


def admin(kafka: KafkaSettings, *, client_id: str = "logsentry-admin", **options: Any) -> KafkaAdminClient:
    return KafkaAdminClient(**(kafka.client_config() | {"client_id": client_id} | options))
