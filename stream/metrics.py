"""The stream's Prometheus metrics, on an injectable registry (tests use a fresh one).

Names share the ``logsentry_`` prefix, use base units (seconds, bytes) and end counters in
``_total``. Histogram buckets are chosen for what they measure: batch sizes in powers of
two up to the largest batch, inference from 1 ms to 10 s, end-to-end latency from 5 ms to
2 minutes, scores in twentieths.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from logsentry.model_store.ingest.decode import REASONS

SHED = ("explanations", "shadow")  # what the stream sheds under overload; never verdicts, alerts, dead letters


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, topics: Sequence[str] = ()) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._traffic(r, topics)
        self._shadow_and_rules(r)
        self._batches(r)
        self._health(r)

    def _traffic(self, r: CollectorRegistry, topics: Sequence[str]) -> None:
        """What was read, scored, flagged and published."""
        self.consumed = Counter(
            "logsentry_events_consumed", "Messages read from the log topics.", ["topic"], registry=r
        )
        for topic in topics:  # a series that exists at 0 before traffic: rate() sees the first events
            self.consumed.labels(topic)
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

    def _shadow_and_rules(self, r: CollectorRegistry) -> None:
        """The shadow candidate, suppressions and per-route thresholds."""
        self.shadow_model = Gauge(
            "logsentry_shadow_model",
            "1 for the candidate version scored in shadow (logsentry models shadow).",
            ["version"],
            registry=r,
        )
        self.shadow_records = Counter(
            "logsentry_shadow_records",
            "Records scored by both the current and the shadow model, by who flags them: both, current_only, "
            "candidate_only, neither.",
            ["outcome"],
            registry=r,
        )
        for outcome in ("both", "current_only", "candidate_only", "neither"):  # at 0 until a candidate scores
            self.shadow_records.labels(outcome)
        self.suppressed = Counter(
            "logsentry_suppressed",
            "Flagged request records a suppression rule kept from alerting, by rule.",
            ["rule"],
            registry=r,
        )
        self.rule_created = Gauge(
            "logsentry_suppression_rule_created_timestamp_seconds",
            "When a suppression rule was created (its created date, else when this process first read it).",
            ["rule"],
            registry=r,
        )
        self.rule_last_match = Gauge(
            "logsentry_suppression_rule_last_match_timestamp_seconds",
            "When a suppression rule last matched in this process (0: not since it was read).",
            ["rule"],
            registry=r,
        )
        self.rule_expires = Gauge(
            "logsentry_suppression_rule_expires_timestamp_seconds",
            "End of a suppression rule's last day (UTC); +Inf when it never expires.",
            ["rule"],
            registry=r,
        )
        self.route_thresholds = Gauge("logsentry_route_thresholds", "Per-route threshold entries in force.", registry=r)
        self.rules_reloads = Counter(
            "logsentry_rules_reloads", "Rules files read after a change, by result.", ["result"], registry=r
        )
        for result in ("success", "failure"):
            self.rules_reloads.labels(result)

    def _batches(self, r: CollectorRegistry) -> None:
        """Micro-batches: sizes, time spent, shedding, latencies, scores."""
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
        self.explain = Histogram(
            "logsentry_explain_duration_seconds",
            "Time to explain one micro-batch's alerts (model_store/judge/explain.py).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.explanations_skipped = Counter(
            "logsentry_explanations_skipped",
            "Alerts published without spans because explaining had spent its share of the loop's time "
            "(--explain-budget); the alert says explanation_skipped=budget.",
            registry=r,
        )
        self.shedding = Gauge(
            "logsentry_shedding",
            "1 while the last batch shed this work to keep up (explanations: alerts beyond --explain-budget "
            "went out without spans; shadow: a full batch, more waiting, was not scored by the shadow candidate).",
            ["what"],
            registry=r,
        )
        for what in SHED:
            self.shedding.labels(what).set(0)
        self.shadow_skipped = Counter(
            "logsentry_shadow_skipped",
            "Records the shadow candidate did not score because the stream was behind (a full batch).",
            registry=r,
        )
        self.batch_duration = Histogram(
            "logsentry_batch_duration_seconds",
            "Time from a batch's poll to its commit (decode, score, publish, commit).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        latency_buckets = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
        self.alert_latency = BulkHistogram(
            "logsentry_alert_latency_seconds",
            "From a flagged event's Kafka timestamp to its alert being acknowledged.",
            buckets=latency_buckets,
            registry=r,
        )
        self.event_latency = BulkHistogram(
            "logsentry_event_latency_seconds",
            "From an event's Kafka timestamp to its batch being committed.",
            buckets=latency_buckets,
            registry=r,
        )
        self.score = BulkHistogram(
            "logsentry_score",
            "Distribution of model scores.",
            buckets=tuple(round(i / 20, 2) for i in range(1, 21)),
            registry=r,
        )

    def _health(self, r: CollectorRegistry) -> None:
        """Failures, lag, assignment and the model served."""
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
        self.model_reloads = Counter(
            "logsentry_model_reloads", "Attempts to switch to a newly promoted model.", ["result"], registry=r
        )
        for result in ("success", "failure"):
            self.model_reloads.labels(result)
        self.up = Gauge("logsentry_up", "1 while the stream loop runs and a model is loaded.", registry=r)


class BulkHistogram(Collector):
    """A histogram fed a batch of values at a time: the per-event distributions (scores, latencies).

    ``prometheus_client.Histogram.observe`` takes a lock and walks the buckets in Python for each
    value, a few µs per event for each of them; here one batch is one ``searchsorted`` and
    ``bincount``. It exposes what a ``Histogram`` does: ``_bucket`` (cumulative, ``le``),
    ``_count``, ``_sum`` and ``_created``.
    """

    def __init__(self, name: str, documentation: str, *, buckets: Sequence[float], registry: CollectorRegistry):
        self.name = name
        self.documentation = documentation
        self._bounds = np.array([*sorted(float(b) for b in buckets if b != float("inf")), float("inf")])
        self._counts = np.zeros(len(self._bounds), dtype=np.int64)
        self._sum = 0.0
        self._created = time.time()
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: np.ndarray | Sequence[float]) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return
        # a value lands in the first bucket whose upper bound is >= it (Prometheus' le)
        counts = np.bincount(np.searchsorted(self._bounds, values, side="left"), minlength=len(self._bounds))
        with self._lock:
            self._counts += counts[: len(self._bounds)]
            self._sum += float(values.sum())

    def observe(self, value: float) -> None:
        self.observe_many([value])

    def collect(self) -> Iterator[HistogramMetricFamily | GaugeMetricFamily]:
        with self._lock:
            cumulative = np.cumsum(self._counts)
            total = self._sum
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric(
            [], [(floatToGoString(b), float(c)) for b, c in zip(self._bounds, cumulative, strict=True)], total
        )
        yield family
        created = GaugeMetricFamily(f"{self.name}_created", self.documentation)
        created.add_metric([], self._created)
        yield created

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation)
