"""What the subcommands share: argument types and checks (every usage error is one line and exit 2), and
the flags several commands take (the model store, the Kafka connection, ``--verbose``/``--debug``)."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any, NoReturn

from logsentry.errors import ConfigError
from logsentry.stream.settings import ENV


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
        raise argparse.ArgumentTypeError(
            f"must be at least {minimum}, not {value}" if minimum else f"must be 0 or more, not {value}"
        )
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
        default=os.environ.get(ENV["input_format"]) or "auto",
        help=f"auto (default; env {ENV['input_format']}), reference, combined, common, ecs, flat, otlp-json, "
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


def store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        type=Path,
        default=Path(os.environ.get(ENV["store"], "models")),
        help=f"model store directory (env {ENV['store']}; default ./models)",
    )


def version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", default="current", help="current (default), latest, or a version id")


def common_flags() -> ArgumentParser:
    """Flags every subcommand takes, before or after its name (defaults come from the main parser)."""
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also show library and framework logs (TensorFlow, Kafka client)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="debug logs, and the traceback of an unexpected error",
    )
    return common


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


def kafka_values(args: argparse.Namespace) -> dict[str, Any]:
    """The Kafka connection flags given (:func:`kafka_flags`), for ``stream.settings.kafka_settings``."""
    from dataclasses import fields

    from logsentry.stream.settings import KafkaSettings

    return {f.name: getattr(args, f.name) for f in fields(KafkaSettings) if getattr(args, f.name, None) is not None}


_NOT_SETTINGS = {"handler", "command", "log_level", "verbose", "debug"}


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag given, for ``stream.settings``: the flags override the ``LOGSENTRY_*`` variables."""
    return {k: v for k, v in vars(args).items() if v is not None and k not in _NOT_SETTINGS}
