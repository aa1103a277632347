"""``logsentry replay``: produce log messages from a file (CSV, or one per line) to a topic."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import flag_values, format_arg, input_file, kafka_flags, non_negative_float, positive_int


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.stream.settings import DEFAULT_LOG_TOPIC

    p = sub.add_parser(
        "replay", help="produce log messages from a file (CSV, or one per line) to a topic", parents=parents
    )
    kafka_flags(p)
    p.add_argument("file", type=Path)
    p.add_argument("--topic", default=DEFAULT_LOG_TOPIC)
    p.add_argument(
        "--input-format",
        dest="input_format",
        type=format_arg,
        default="auto",
        help="how to read each message, to key it by client address (default auto)",
    )
    p.add_argument("--rate", type=non_negative_float, default=0.0, help="events per second (0 = as fast as possible)")
    p.add_argument("--limit", type=positive_int, help="stop after this many")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--partitions", type=positive_int, help="create the topic with this many partitions if it is missing"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from logsentry.stream.settings import kafka_settings
    from logsentry.stream.tools.replay import replay

    path = input_file(args.file)  # checked before connecting to anything
    sent = replay(
        kafka_settings(flag_values(args)),
        args.topic,
        path,
        rate=args.rate,
        limit=args.limit,
        progress=not args.quiet,
        partitions=args.partitions,
        fmt=args.input_format,
    )
    print(f"replayed {sent} messages from {args.file} to {args.topic}", file=sys.stderr)
    return 0
