"""``logsentry score``: score request logs offline, one message per line in, one JSON line per record out.

:func:`score_lines` runs each message through :func:`model_store.judge.verdict.judge`, the core
the stream runs; the output lines are this command's own (the stream publishes alerts instead).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from logsentry.arguments import input_file, input_format_arg, runtime_arg, store_arg, version_arg
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("score", help="score request logs offline, one message per line", parents=parents)
    store_arg(p)
    version_arg(p)
    p.add_argument("file", nargs="?", help="a log file (one message per line), or - / nothing for stdin")
    input_format_arg(p)
    p.add_argument("--strict", action="store_true", help="exit 1 if any line was refused")
    p.add_argument("--explain", action="store_true", help="flagged records carry the spans that drove their score")
    p.add_argument("--rules", metavar="FILE", help="apply suppressions and per-route thresholds (docs/tuning.md)")
    runtime_arg(p, default=DEFAULT_RUNTIME)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from logsentry.commands.rules import rules_file
    from logsentry.model_store.bundled import load_serving_detector
    from logsentry.model_store.ingest.decode import DecodeLimits
    from logsentry.model_store.ingest.lines import read_lines
    from logsentry.model_store.store import ModelStore

    path = None if args.file in (None, "-") else input_file(args.file)
    rules = rules_file(args.rules) if args.rules else None
    detector = load_serving_detector(ModelStore(args.store), args.version, args.runtime)
    source = sys.stdin.buffer if path is None else open(path, "rb")  # noqa: SIM115
    limits = DecodeLimits()
    with source:
        total, scored, errors = score_lines(
            detector,
            read_lines(source, limits.max_bytes),
            sys.stdout,
            args.input_format,
            explained=args.explain,
            rules=rules,
            limits=limits,
        )
    print(f"scored {scored} records of {total} lines with {detector.version}; {errors} refused", file=sys.stderr)
    return 1 if errors and args.strict else 0


def score_lines(
    detector: Any,
    lines: Iterable[Any],
    out: TextIO,
    fmt: Any = None,
    chunk: int = 2048,
    *,
    explained: bool = False,
    rules: Any = None,
    limits: Any = None,
) -> tuple[int, int, int]:
    """Score one message per line (:class:`model_store.ingest.lines.Line`, blank ones skipped); one
    output line per record (an ``error`` line per refusal), each naming its line in the file.

    Messages go through :func:`model_store.judge.verdict.judge`, the core the stream runs, so a
    line the stream would dead-letter is an error here too; batches hold at most ``chunk``
    lines and ``limits.batch_bytes`` bytes, and a line over ``limits.max_bytes`` is refused
    without being held. ``record`` appears when a message holds more than one record;
    ``explanation`` for a flagged record when ``explained``; with ``rules``, each record's
    ``threshold`` and, when a suppression matched, ``suppressed_by``. Returns (lines,
    records scored, errors).
    """
    from logsentry.model_store.ingest.decode import DecodeLimits, too_large
    from logsentry.model_store.ingest.formats import InputFormat
    from logsentry.model_store.judge.rules import NO_RULES
    from logsentry.model_store.judge.verdict import batches, judge

    fmt = fmt or InputFormat()
    limits = limits or DecodeLimits()
    count = scored = errors = 0
    for block in batches((line for line in lines if not line.blank), chunk, limits.batch_bytes, size=_line_size):
        held = [line for line in block if line.value is not None]
        judgement = judge(
            [line.value for line in held], detector, fmt, limits, explained=explained, rules=rules or NO_RULES
        )
        verdicts = dict(zip((line.number for line in held), judgement.verdicts, strict=True))
        for line in block:
            count += 1
            verdict = verdicts.get(line.number)
            if verdict is None:
                refused = too_large(line.size, limits)
                errors += 1
                out.write(json.dumps({"line": line.number, "error": str(refused), "reason": refused.reason}) + "\n")
                continue
            rows = _verdict_rows(line.number, verdict, detector.version, explained=explained, rules=rules)
            scored += len(verdict.records)
            for row in rows:
                errors += "error" in row
                out.write(json.dumps(row) + "\n")
    return count, scored, errors


def _line_size(line: Any) -> int:
    return line.size


def _verdict_rows(number: int, verdict: Any, version: str, *, explained: bool, rules: Any) -> list[dict[str, Any]]:
    """The output lines of one message's verdict, in record order."""
    many = verdict.record_count > 1
    rows: list[tuple[int, dict[str, Any]]] = []
    if verdict.error is not None and not verdict.refused:
        rows.append((0, {"line": number, "error": str(verdict.error)[:300], "reason": verdict.error.reason}))
    for index, refused in verdict.refused:
        rows.append((index, {"line": number, "record": index, "error": str(refused)[:300], "reason": refused.reason}))
    for record in verdict.records:
        row = {"line": number, **({"record": record.index} if many else {})}
        row |= {"score": round(record.score, 6), "flagged": record.flagged, "version": version}
        row["format"] = verdict.format
        if rules is not None:
            row["threshold"] = record.threshold
            if record.suppressed_by is not None:
                row["suppressed_by"] = record.suppressed_by
        if explained and record.alert:
            row["explanation"] = [span.to_dict() for span in record.explanation]
        rows.append((record.index, row))
    return [row for _, row in sorted(rows, key=lambda item: item[0])]
