"""The stream's Prometheus metrics, on an injectable registry (tests use a fresh one).

Names share the ``logsentry_`` prefix, use base units (seconds, bytes) and end counters in
``_total``. Histogram buckets are chosen for what they measure: batch sizes in powers of
two up to the largest batch, inference from 1 ms to 10 s, end-to-end latency from 5 ms to
2 minutes, scores in twentieths.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from logsentry.model_store.decode import REASONS


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "logsentry_events_consumed", "Messages read from the log topics.", ["topic"], registry=r
        )
        self.input_formats = Counter(
            "logsentry_input_format_messages",
            "Messages read, by log topic and the input format they were read in (detected with auto).",
            ["topic", "format"],
            registry=r,
        )
        self.scored = Counter(
            "logsentry_events_scored", "Request records scored by the model (a message may hold many).", registry=r
        )
        self.flagged = Counter("logsentry_events_flagged", "Request logs scored at or above the threshold.", registry=r)
        self.alerts_published = Counter("logsentry_alerts_published", "Alerts acknowledged by the broker.", registry=r)
        self.verdicts_published = Counter(
            "logsentry_verdicts_published", "Verdicts acknowledged by the broker (--verdict-topic).", registry=r
        )
        self.dead_letters = Counter(
            "logsentry_dead_letters", "Messages sent to the dead-letter topic.", ["reason"], registry=r
        )
        for reason in REASONS:
            self.dead_letters.labels(reason)
        self.batch_size = Histogram(
            "logsentry_batch_size_events",
            "Messages per micro-batch.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
            registry=r,
        )
        self.batch_limit = Gauge(
            "logsentry_batch_size_limit_events",
            "Current batch size limit (shrinks while batches approach the poll interval).",
            registry=r,
        )
        self.inference = Histogram(
            "logsentry_inference_duration_seconds",
            "Time to score one micro-batch.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_duration = Histogram(
            "logsentry_batch_duration_seconds",
            "Time from a batch's poll to its commit (decode, score, publish, commit).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        latency_buckets = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
        self.alert_latency = Histogram(
            "logsentry_alert_latency_seconds",
            "From a flagged event's Kafka timestamp to its alert being acknowledged.",
            buckets=latency_buckets,
            registry=r,
        )
        self.event_latency = Histogram(
            "logsentry_event_latency_seconds",
            "From an event's Kafka timestamp to its batch being committed.",
            buckets=latency_buckets,
            registry=r,
        )
        self.score = Histogram(
            "logsentry_score",
            "Distribution of model scores.",
            buckets=tuple(round(i / 20, 2) for i in range(1, 21)),
            registry=r,
        )
        self.commit_failures = Counter("logsentry_commit_failures", "Offset commits the broker refused.", registry=r)
        self.publish_failures = Counter(
            "logsentry_publish_failures", "Batches whose alerts or dead letters were not acknowledged.", registry=r
        )
        self.poll_failures = Counter(
            "logsentry_poll_failures", "Errors from the broker while polling (retried).", registry=r
        )
        self.consumer_restarts = Counter(
            "logsentry_consumer_restarts", "Consumers replaced after a rebalance that never completed.", registry=r
        )
        self.batch_retries = Counter("logsentry_batch_retries", "Batches rewound and processed again.", registry=r)
        self.lag = Gauge(
            "logsentry_consumer_lag_messages",
            "Messages between the committed position and the partition's end.",
            ["topic", "partition"],
            registry=r,
        )
        self.assigned = Gauge(
            "logsentry_assigned_partitions", "Log-topic partitions this member currently owns.", registry=r
        )
        self.last_processed = Gauge(
            "logsentry_last_processed_timestamp_seconds", "Unix time of the last committed batch.", registry=r
        )
        self.model = Info("logsentry_model", "The model version being served.", registry=r)
        self.threshold = Gauge("logsentry_model_threshold", "Alert threshold of the served model.", registry=r)
        self.reloads = Counter(
            "logsentry_model_reloads", "Attempts to switch to a newly promoted model.", ["result"], registry=r
        )
        for result in ("success", "failure"):
            self.reloads.labels(result)
        self.up = Gauge("logsentry_up", "1 while the stream loop runs and a model is loaded.", registry=r)
