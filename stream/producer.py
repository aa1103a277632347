"""The producer sink: publishes what the loop sends (alerts, verdicts, dead letters, suppressed
and shadow records) and confirms each one.

The loop (runner.py) commits a batch's offsets only after :meth:`KafkaSink.publish` returned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka.errors import KafkaError

from logsentry.errors import PublishError
from logsentry.stream.kafka import clients
from logsentry.stream.records import Outgoing
from logsentry.stream.settings import KafkaSettings, StreamSettings

log = logging.getLogger(__name__)

DEFAULTS = StreamSettings()  # one place holds every default: the settings
MIN_REQUEST_SIZE = 2_097_152  # an alert carries its message: room for two of the largest accepted
# An alert carries its message (1-2 KB): with the client's 16 KB default a batch filled every ~10
# alerts, and each new batch woke the sender for a request of its own (the producer's network
# thread showed in the stream's profile at 100 % attacks). A batch of a partition now holds a
# micro-batch's alerts.
BATCH_BYTES = 1_048_576


class KafkaSink:
    """Publishes records and returns only when the broker acknowledged every one (acks=all)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        timeout_s: float = DEFAULTS.publish_timeout_s,
        max_request_size: int = MIN_REQUEST_SIZE,
    ) -> None:
        self.timeout_s = timeout_s
        request_timeout_ms = int(min(timeout_s * 1000, kafka.request_timeout_ms))
        self.producer = clients.producer(
            kafka,
            acks="all",
            linger_ms=5,
            batch_size=BATCH_BYTES,
            retries=5,
            retry_backoff_ms=200,
            # a request to a broker that froze or died is given up after request_timeout_ms and
            # sent again to the partition's new leader, inside the publish timeout
            request_timeout_ms=request_timeout_ms,
            delivery_timeout_ms=int(max(timeout_s * 1000, request_timeout_ms + 1000)),
            max_request_size=max_request_size,
            max_block_ms=int(timeout_s * 1000),
            enable_idempotence=True,  # a retry after a lost acknowledgement writes nothing twice
        )

    def send(self, records: Sequence[Outgoing]) -> Delivery:
        """Hand ``records`` to the producer's own thread; :meth:`Delivery.wait` confirms them."""
        try:
            futures = [
                self.producer.send(
                    r.topic, value=r.value, key=r.key, headers=list(r.headers), timestamp_ms=r.timestamp_ms
                )
                for r in records
            ]
        except KafkaError as exc:
            return Delivery(self, [], len(records), exc)
        return Delivery(self, futures, len(records))

    def publish(self, records: Sequence[Outgoing]) -> None:
        """Send and wait: returns only when the broker acknowledged every record."""
        self.send(records).wait()

    def close(self) -> None:
        self.producer.close(timeout=self.timeout_s)


class Delivery:
    """Records handed to the producer; :meth:`wait` returns when the broker acknowledged all of them."""

    def __init__(self, sink: KafkaSink, futures: list[Any], count: int, error: KafkaError | None = None) -> None:
        self.sink = sink
        self.futures = futures
        self.count = count
        self.error = error

    def wait(self) -> None:
        """:class:`PublishError` unless every record was acknowledged (acks=all)."""
        if self.error is None and self.futures:
            try:
                self.sink.producer.flush(timeout=self.sink.timeout_s)
                for future in self.futures:
                    future.get(timeout=self.sink.timeout_s)
            except KafkaError as exc:
                self.error = exc
        if self.error is not None:
            raise PublishError(f"{self.count} records not acknowledged: {self.error!r}") from self.error
