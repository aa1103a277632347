"""``logsentry feedback``: mark alerts benign (a false positive) or attack, on the compacted feedback topic
that ``logsentry train --feedback`` folds into the next training."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import flag_values, input_file, kafka_flags
from logsentry.errors import ConfigError


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.stream.settings import DEFAULT_FEEDBACK_TOPIC

    p = sub.add_parser(
        "feedback", help="mark alerts benign (a false positive) or attack, for the next training", parents=parents
    )
    kafka_flags(p)
    p.add_argument("label", choices=["benign", "attack"])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--alert", metavar="TOPIC/PARTITION/OFFSET", help="the alert, as `logsentry alerts` names it")
    which.add_argument("--file", help="one TOPIC/PARTITION/OFFSET per line (# comments allowed)")
    p.add_argument("--note", default="", help="why (kept with the verdict)")
    p.add_argument("--author", help="who (default: the login name)")
    p.add_argument("--topic", default=DEFAULT_FEEDBACK_TOPIC, help="the feedback topic (compacted; created if missing)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from logsentry.stream.settings import kafka_settings
    from logsentry.stream.tools.feedback import AlertRef, send_feedback

    lines = [args.alert] if args.alert else _lines(input_file(args.file))
    refs = [AlertRef.parse(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not refs:
        raise ConfigError(f"{args.file}: no alert named in it")
    sent = send_feedback(
        kafka_settings(flag_values(args)), args.topic, refs, args.label, note=args.note, author=args.author
    )
    print(f"marked {sent} alert{'s' if sent != 1 else ''} {args.label} on {args.topic}", file=sys.stderr)
    return 0


def _lines(path: Path) -> list[str]:
    """A small file's lines as every command counts them (:mod:`model_store.ingest.lines`)."""
    from logsentry.model_store.ingest.lines import read_lines

    with path.open("rb") as handle:
        return [(line.value or b"").decode("utf-8", "replace") for line in read_lines(handle, 1 << 20)]
