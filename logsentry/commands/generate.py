"""``logsentry generate``: write realistic labelled request logs (CSV) of a generated shop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import fraction, output_file, positive_int


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("generate", help="write realistic labelled request logs (CSV)", parents=parents)
    p.add_argument("--rows", type=positive_int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attack-share", type=fraction, default=0.5)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from logsentry.trainer.generate import write_csv

    write_csv(output_file(args.out), args.rows, seed=args.seed, attack_share=args.attack_share)
    print(f"wrote {args.rows} labelled request logs to {args.out}", file=sys.stderr)
    return 0
