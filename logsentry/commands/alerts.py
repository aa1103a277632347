"""``logsentry alerts``: follow the alert topic and print alerts (readable, or the raw JSON)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from logsentry.arguments import flag_values, kafka_flags, non_negative_float, positive_int


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.stream.settings import DEFAULT_ALERT_TOPIC

    p = sub.add_parser("alerts", help="follow the alert topic and print alerts", parents=parents)
    kafka_flags(p)
    p.add_argument("--topic", default=DEFAULT_ALERT_TOPIC)
    p.add_argument("--from-beginning", action="store_true")
    p.add_argument("--max", type=positive_int, help="exit after this many alerts")
    p.add_argument("--timeout", type=non_negative_float, help="exit after this many seconds")
    p.add_argument("--json", action="store_true", help="print the raw alert JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from logsentry.stream.settings import kafka_settings
    from logsentry.stream.tools.follow import follow

    follow(
        kafka_settings(flag_values(args)),
        args.topic,
        from_beginning=args.from_beginning,
        max_alerts=args.max,
        timeout_s=args.timeout,
        raw=args.json,
    )
    return 0
