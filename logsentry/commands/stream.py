"""``logsentry stream``: the detector. Score request logs from Kafka, publish alerts, serve metrics.

Every flag here is optional and defaults to its ``LOGSENTRY_*`` variable, then to
:class:`stream.settings.StreamSettings` (the help texts name those defaults, not copies).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import (
    flag_values,
    format_arg,
    kafka_flags,
    non_negative_float,
    non_negative_int,
    positive_int,
    runtime_arg,
)


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.stream.settings import ENV

    p = sub.add_parser("stream", help="score request logs from Kafka, publish alerts, serve metrics", parents=parents)
    kafka_flags(p)
    _topic_flags(p)
    p.add_argument("--store", type=Path, help=f"model store (env {ENV['store']}; default ./models)")
    p.add_argument("--model-version", dest="model_version", help="current (follows promotions) or a pinned id")
    runtime_arg(p, env=ENV["runtime"])
    p.add_argument(
        "--input-format",
        dest="input_format",
        type=format_arg,
        help=f"auto (default), reference, combined, common, ecs, flat, otlp-json, mapping:FILE "
        f"(env {ENV['input_format']})",
    )
    _loop_flags(p)
    p.set_defaults(handler=run)


def _topic_flags(p: argparse.ArgumentParser) -> None:
    """Where the logs come from and where alerts, verdicts, suppressions and shadow results go."""
    from logsentry.stream.settings import DEFAULT_LOG_TOPIC, ENV, StreamSettings

    defaults = StreamSettings()
    p.add_argument("--topics", help=f"log topics, comma-separated (env {ENV['topics']}; default {DEFAULT_LOG_TOPIC})")
    p.add_argument("--group-id", dest="group_id", help=f"consumer group (default {defaults.group_id})")
    p.add_argument("--alert-topic", dest="alert_topic", help=f"default {defaults.alert_topic}")
    p.add_argument("--dead-letter-topic", dest="dead_letter_topic", help=f"default {defaults.dead_letter_topic}")
    p.add_argument(
        "--verdict-topic",
        dest="verdict_topic",
        help=f"publish a verdict of every scored record here (env {ENV['verdict_topic']})",
    )
    p.add_argument(
        "--rules",
        dest="rules",
        metavar="FILE",
        help=f"suppressions and per-route thresholds, YAML, re-read when it changes (env {ENV['rules']}; "
        "docs/tuning.md)",
    )
    p.add_argument(
        "--suppressed-topic",
        dest="suppressed_topic",
        help=f"keep every suppressed alert here (env {ENV['suppressed_topic']})",
    )
    p.add_argument(
        "--shadow-topic",
        dest="shadow_topic",
        help=f"where a shadow candidate's disagreements go (env {ENV['shadow_topic']}; "
        f"default {defaults.shadow_topic})",
    )


def _loop_flags(p: argparse.ArgumentParser) -> None:
    """The loop: batches, message limits, metrics, reloads, stalls, the consumer, explanations."""
    from logsentry.stream.settings import ENV, StreamSettings

    d = StreamSettings()
    p.add_argument(
        "--batch-size", dest="batch_size", type=positive_int, help=f"most messages per micro-batch ({d.batch_size})"
    )
    p.add_argument(
        "--batch-wait-ms",
        dest="batch_wait_ms",
        type=non_negative_int,
        help=f"longest wait to fill a batch ({d.batch_wait_ms})",
    )
    p.add_argument(
        "--batch-bytes",
        dest="batch_bytes",
        type=positive_int,
        help=f"most message bytes per micro-batch, what bounds its memory ({d.batch_bytes})",
    )
    p.add_argument(
        "--max-message-bytes", dest="max_message_bytes", type=positive_int, help="larger goes to dead letters"
    )
    p.add_argument(
        "--max-depth", dest="max_depth", type=positive_int, help=f"deeper JSON goes to dead letters ({d.max_depth})"
    )
    p.add_argument(
        "--max-records",
        dest="max_records",
        type=positive_int,
        help=f"more request records in one message (OTLP) go to dead letters ({d.max_records})",
    )
    p.add_argument("--metrics-address", dest="metrics_address", help=f"bind address (default {d.metrics_address})")
    p.add_argument("--metrics-port", dest="metrics_port", type=non_negative_int, help=f"default {d.metrics_port}")
    p.add_argument(
        "--reload-interval-s",
        dest="reload_interval_s",
        type=non_negative_float,
        help=f"model store check period ({d.reload_interval_s:g})",
    )
    p.add_argument(
        "--stall-after-s",
        dest="stall_after_s",
        type=non_negative_float,
        help=f"/healthz answers 503 after the loop stalled this long ({d.stall_after_s:g})",
    )
    p.add_argument(
        "--rebalance-stall-s",
        dest="rebalance_stall_s",
        type=non_negative_float,
        help=f"a rebalance not done this long after it began is stuck: rejoin as a new member "
        f"({d.rebalance_stall_s:g})",
    )
    p.add_argument("--max-poll-interval-ms", dest="max_poll_interval_ms", type=positive_int)
    p.add_argument("--session-timeout-ms", dest="session_timeout_ms", type=positive_int)
    p.add_argument("--auto-offset-reset", dest="auto_offset_reset", choices=["earliest", "latest"])
    p.add_argument(
        "--no-pipeline",
        dest="pipelined",
        action="store_false",
        default=None,
        help=f"commit each batch before polling the next (env {ENV['pipelined']}=false)",
    )
    p.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        default=None,
        help=f"alerts without the spans that drove their score (env {ENV['explain']}=false)",
    )
    p.add_argument(
        "--explain-budget",
        dest="explain_budget",
        type=non_negative_float,
        help=f"the most of the loop's time explanations take; alerts beyond it are published without "
        f"spans (default {d.explain_budget:g}; 1 explains every alert)",
    )


def run(args: argparse.Namespace) -> int:
    from logsentry.stream.app import run_stream
    from logsentry.stream.settings import stream_settings

    return run_stream(stream_settings(flag_values(args)))
