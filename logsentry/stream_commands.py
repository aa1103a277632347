"""The ``stream``, ``replay`` and ``alerts`` subcommands, registered by logsentry.cli (the work is in stream/)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import (
    format_arg,
    input_file,
    non_negative_float,
    non_negative_int,
    positive_int,
    runtime_arg,
)
from logsentry.errors import ConfigError
from logsentry.stream.settings import ENV, StreamSettings, kafka_settings, stream_settings

DEFAULTS = StreamSettings()  # help texts name the defaults the settings hold, not copies of them


def kafka_flags(
    p: argparse.ArgumentParser, title: str = "Kafka connection (flags override LOGSENTRY_* variables)"
) -> None:
    g = p.add_argument_group(title)
    g.add_argument(
        "--bootstrap-servers", dest="bootstrap_servers", help=f"host:port[,...] (env {ENV['bootstrap_servers']})"
    )
    g.add_argument(
        "--security-protocol", dest="security_protocol", choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
    )
    g.add_argument("--sasl-mechanism", dest="sasl_mechanism", choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    g.add_argument("--sasl-username", dest="sasl_username")
    g.add_argument("--sasl-password", dest="sasl_password", help=f"prefer env {ENV['sasl_password']}")
    g.add_argument("--ssl-cafile", dest="ssl_cafile")
    g.add_argument("--ssl-certfile", dest="ssl_certfile")
    g.add_argument("--ssl-keyfile", dest="ssl_keyfile")
    for name, meaning in (
        ("request_timeout_ms", "a request's wait for a broker before the client tries again elsewhere; default 10000"),
        ("replication_factor", "of the topics logsentry creates; default 3, or the brokers there are when fewer"),
        ("min_insync_replicas", "of the topics logsentry creates; default 2 with 3 replicas or more, else 1"),
    ):
        g.add_argument("--" + name.replace("_", "-"), dest=name, type=int, help=f"{meaning} (env {ENV[name]})")


_NOT_SETTINGS = {"handler", "command", "log_level", "verbose", "debug"}


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if v is not None and k not in _NOT_SETTINGS}


def cmd_stream(args: argparse.Namespace) -> int:
    from logsentry.stream.app import run_stream

    return run_stream(stream_settings(_flags(args)))


def cmd_replay(args: argparse.Namespace) -> int:
    from logsentry.stream.tools.replay import replay

    path = input_file(args.file)  # checked before connecting to anything
    sent = replay(kafka_settings(_flags(args)), args.topic, path, rate=args.rate, limit=args.limit,
                  progress=not args.quiet, partitions=args.partitions, fmt=args.input_format)  # fmt: skip
    print(f"replayed {sent} messages from {args.file} to {args.topic}", file=sys.stderr)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from logsentry.stream.tools.feedback import AlertRef, send_feedback

    lines = [args.alert] if args.alert else _lines(input_file(args.file))
    refs = [AlertRef.parse(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not refs:
        raise ConfigError(f"{args.file}: no alert named in it")
    sent = send_feedback(kafka_settings(_flags(args)), args.topic, refs, args.label, note=args.note,
                         author=args.author)  # fmt: skip
    print(f"marked {sent} alert{'s' if sent != 1 else ''} {args.label} on {args.topic}", file=sys.stderr)
    return 0


def _lines(path: Path) -> list[str]:
    """A small file's lines as every command counts them (:mod:`model_store.ingest.lines`)."""
    from logsentry.model_store.ingest.lines import read_lines

    with path.open("rb") as handle:
        return [(line.value or b"").decode("utf-8", "replace") for line in read_lines(handle, 1 << 20)]


def cmd_alerts(args: argparse.Namespace) -> int:
    from logsentry.stream.tools.follow import follow

    follow(kafka_settings(_flags(args)), args.topic, from_beginning=args.from_beginning, max_alerts=args.max,
           timeout_s=args.timeout, raw=args.json)  # fmt: skip
    return 0


def add_commands(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stream", help="score request logs from Kafka, publish alerts, serve metrics", parents=parents)
    kafka_flags(p)
    p.add_argument("--topics", help=f"log topics, comma-separated (env {ENV['topics']}; default requests)")
    p.add_argument("--group-id", dest="group_id", help=f"consumer group (default {DEFAULTS.group_id})")
    p.add_argument("--alert-topic", dest="alert_topic", help=f"default {DEFAULTS.alert_topic}")
    p.add_argument("--dead-letter-topic", dest="dead_letter_topic", help=f"default {DEFAULTS.dead_letter_topic}")
    p.add_argument("--verdict-topic", dest="verdict_topic",
                   help=f"publish a verdict of every scored record here (env {ENV['verdict_topic']})")  # fmt: skip
    p.add_argument("--rules", dest="rules", metavar="FILE",
                   help=f"suppressions and per-route thresholds, YAML, re-read when it changes (env {ENV['rules']}; "
                        "docs/tuning.md)")  # fmt: skip
    p.add_argument("--suppressed-topic", dest="suppressed_topic",
                   help=f"keep every suppressed alert here (env {ENV['suppressed_topic']})")  # fmt: skip
    p.add_argument("--shadow-topic", dest="shadow_topic",
                   help=f"where a shadow candidate's disagreements go (env {ENV['shadow_topic']}; "
                        f"default {DEFAULTS.shadow_topic})")  # fmt: skip
    p.add_argument("--store", type=Path, help=f"model store (env {ENV['store']}; default ./models)")
    p.add_argument("--model-version", dest="model_version", help="current (follows promotions) or a pinned id")
    runtime_arg(p, env=ENV["runtime"])
    p.add_argument("--input-format", dest="input_format", type=format_arg,
                   help=f"auto (default), reference, combined, common, ecs, flat, otlp-json, mapping:FILE "
                        f"(env {ENV['input_format']})")  # fmt: skip
    p.add_argument(
        "--batch-size",
        dest="batch_size",
        type=positive_int,
        help=f"most messages per micro-batch ({DEFAULTS.batch_size})",
    )
    p.add_argument(
        "--batch-wait-ms",
        dest="batch_wait_ms",
        type=non_negative_int,
        help=f"longest wait to fill a batch ({DEFAULTS.batch_wait_ms})",
    )
    p.add_argument(
        "--batch-bytes",
        dest="batch_bytes",
        type=positive_int,
        help=f"most message bytes per micro-batch, what bounds its memory ({DEFAULTS.batch_bytes})",
    )
    p.add_argument(
        "--max-message-bytes", dest="max_message_bytes", type=positive_int, help="larger goes to dead letters"
    )
    p.add_argument(
        "--max-depth",
        dest="max_depth",
        type=positive_int,
        help=f"deeper JSON goes to dead letters ({DEFAULTS.max_depth})",
    )
    p.add_argument(
        "--max-records",
        dest="max_records",
        type=positive_int,
        help=f"more request records in one message (OTLP) go to dead letters ({DEFAULTS.max_records})",
    )
    p.add_argument(
        "--metrics-address", dest="metrics_address", help=f"bind address (default {DEFAULTS.metrics_address})"
    )
    p.add_argument(
        "--metrics-port", dest="metrics_port", type=non_negative_int, help=f"default {DEFAULTS.metrics_port}"
    )
    p.add_argument("--reload-interval-s", dest="reload_interval_s", type=non_negative_float,
                   help=f"model store check period ({DEFAULTS.reload_interval_s:g})")  # fmt: skip
    p.add_argument(
        "--stall-after-s",
        dest="stall_after_s",
        type=non_negative_float,
        help=f"/healthz answers 503 after the loop stalled this long ({DEFAULTS.stall_after_s:g})",
    )
    p.add_argument(
        "--rebalance-stall-s",
        dest="rebalance_stall_s",
        type=non_negative_float,
        help=f"a rebalance not done this long after it began is stuck: rejoin as a new member "
        f"({DEFAULTS.rebalance_stall_s:g})",
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
        help=f"the most of the loop's time explanations take; alerts beyond it are published without spans "
        f"(default {DEFAULTS.explain_budget:g}; 1 explains every alert)",
    )
    p.set_defaults(handler=cmd_stream)

    p = sub.add_parser("replay", help="produce log messages from a file (CSV, or one per line) to a topic",
                       parents=parents)  # fmt: skip
    kafka_flags(p)
    p.add_argument("file", type=Path)
    p.add_argument("--topic", default="requests")
    p.add_argument("--input-format", dest="input_format", type=format_arg, default="auto",
                   help="how to read each message, to key it by client address (default auto)")  # fmt: skip
    p.add_argument("--rate", type=non_negative_float, default=0.0, help="events per second (0 = as fast as possible)")
    p.add_argument("--limit", type=positive_int, help="stop after this many")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--partitions", type=positive_int, help="create the topic with this many partitions if it is missing"
    )
    p.set_defaults(handler=cmd_replay)

    p = sub.add_parser("feedback", help="mark alerts benign (a false positive) or attack, for the next training",
                       parents=parents)  # fmt: skip
    kafka_flags(p)
    p.add_argument("label", choices=["benign", "attack"])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--alert", metavar="TOPIC/PARTITION/OFFSET", help="the alert, as `logsentry alerts` names it")
    which.add_argument("--file", help="one TOPIC/PARTITION/OFFSET per line (# comments allowed)")
    p.add_argument("--note", default="", help="why (kept with the verdict)")
    p.add_argument("--author", help="who (default: the login name)")
    p.add_argument("--topic", default="logsentry-feedback", help="the feedback topic (compacted; created if missing)")
    p.set_defaults(handler=cmd_feedback)

    p = sub.add_parser("alerts", help="follow the alert topic and print alerts", parents=parents)
    kafka_flags(p)
    p.add_argument("--topic", default="logsentry-alerts")
    p.add_argument("--from-beginning", action="store_true")
    p.add_argument("--max", type=positive_int, help="exit after this many alerts")
    p.add_argument("--timeout", type=non_negative_float, help="exit after this many seconds")
    p.add_argument("--json", action="store_true", help="print the raw alert JSON")
    p.set_defaults(handler=cmd_alerts)
