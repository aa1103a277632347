"""``logsentry rules check``: read a rules file (suppressions, per-route thresholds) and say what it does."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from logsentry.arguments import input_file


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rules", help="check a rules file (suppressions, per-route thresholds)", parents=parents)
    p.add_argument("action", choices=["check"])
    p.add_argument("file", help="the YAML rules file (docs/tuning.md)")
    p.set_defaults(handler=run)


def rules_file(path: str) -> Any:
    """The rules of a YAML file, read and checked as the stream reads them (also ``score --rules``)."""
    from logsentry.stream.rules_watch import read_rules

    return read_rules(input_file(path))[1]


def run(args: argparse.Namespace) -> int:
    """Check a rules file and say what it does: each rule, and whether it is still in force."""
    import datetime as dt

    rules = rules_file(args.file)
    today = dt.datetime.now(dt.UTC).date()
    for r in rules.suppressions:
        match = f"{r.field}=={r.equals!r}" if r.equals is not None else f"{r.field}~{r.regex!r}" if r.regex else r.field
        state = "expired" if not r.active(today) else f"until {r.expires}" if r.expires else "no expiry"
        what = " ".join(x for x in ((r.method or "*").upper(), r.route, match) if x)
        print(f"suppression {r.name}: {what} [{state}; {r.author}: {r.reason}]")
    for t in rules.thresholds:
        print(f"threshold {t.threshold}: {(t.method or '*').upper()} {t.route}")
    expired = sum(not r.active(today) for r in rules.suppressions)
    print(f"ok: {len(rules.suppressions)} suppressions ({expired} expired), {len(rules.thresholds)} route thresholds")
    return 0
