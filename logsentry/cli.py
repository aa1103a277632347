"""The ``logsentry`` command: the top-level parser built from the command modules, and :func:`main`.

Each subcommand's flags and handler live in its module of :mod:`logsentry.commands`; here are
the top-level flags, logging, and how every error ends: a :class:`LogsentryError` as one line
and exit 2, an unexpected one as one line (its traceback with ``--debug``), ^C as exit 130.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from logsentry.arguments import ArgumentParser, common_flags
from logsentry.commands import alerts, evaluate, feedback, generate, models, replay, rules, score, stream, train
from logsentry.errors import LogsentryError
from logsentry.stream.settings import ENV

Handler = Callable[[argparse.Namespace], int]

# in the order ``logsentry --help`` lists them
COMMANDS = (generate, train, evaluate, score, rules, models, stream, replay, feedback, alerts)
DESCRIPTION = "``logsentry`` and its subcommands. Each handler parses, builds settings, calls the library."


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="logsentry", description=DESCRIPTION)
    parser.add_argument(
        "--log-level",
        default=os.environ.get(ENV["log_level"], "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"],
    )
    parser.add_argument("--verbose", action="store_true", help="also show library and framework logs")
    parser.add_argument("--debug", action="store_true", help="debug logs, and tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    common = [common_flags()]
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    from logsentry.model_store.model.tensorflow_runtime import show_native_logs

    level = "DEBUG" if args.debug else args.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    show_native_logs(args.verbose or args.debug)
    if not (args.verbose or args.debug):
        # library chatter (per-connection INFO, retry warnings) stays off stderr; our own lines stay
        for name in ("kafka", "tensorflow", "absl", "keras", "h5py", "matplotlib"):
            library = logging.getLogger(name)
            library.propagate = False  # handlers of its own (the connection check's) still see it
            library.setLevel(logging.WARNING)
        import warnings

        warnings.filterwarnings("ignore")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    _configure_logging(args)
    handler: Handler = args.handler
    try:
        return handler(args)
    except LogsentryError as exc:
        print(f"logsentry {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"logsentry {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(
            f"logsentry {args.command}: unexpected error: {type(exc).__name__}: {text} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2
