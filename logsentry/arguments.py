"""Argument types and checks shared by the subcommands: every usage error is one line and exit 2."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any, NoReturn

from logsentry.errors import ConfigError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr and exit code 2, like every other error.

    Abbreviated flags are off: ``--stor`` silently meaning ``--store`` hides typos.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}" if minimum else
                                         f"must be 0 or more, not {value}")  # fmt: skip
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number of 0 or more, not {text}")
    return value


def fraction(text: str) -> float:
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, not {text}")
    return value


def format_arg(text: str) -> Any:
    from logsentry.model_store.ingest.formats import input_format

    try:
        return input_format(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def input_format_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input-format",
        type=format_arg,
        default=os.environ.get("LOGSENTRY_INPUT_FORMAT") or "auto",
        help="auto (default; env LOGSENTRY_INPUT_FORMAT), reference, combined, common, ecs, flat, otlp-json, "
        "or mapping:FILE",
    )


def input_file(path: Path | str, what: str = "input file") -> Path:
    """``path`` if it is a readable file; else a :class:`ConfigError` naming the problem."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{what} {path} is not readable (permission denied)")
    return path


def output_file(path: Path) -> Path:
    """``path`` if a file can be written there; else a :class:`ConfigError` naming the problem."""
    if path.is_dir():
        raise ConfigError(f"output {path} is a directory, not a file")
    if not path.parent.is_dir():
        raise ConfigError(f"output {path}: directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"output {path} is not writable (permission denied)")
    return path


def runtime_arg(p: argparse.ArgumentParser, *, env: str | None = None, default: str | None = None) -> None:
    from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME, RUNTIMES

    p.add_argument(
        "--runtime",
        choices=list(RUNTIMES),
        default=default,
        help=f"what runs the network: {DEFAULT_RUNTIME} (default; no TensorFlow) or keras (needs the train extra)"
        + (f" (env {env})" if env else ""),
    )
