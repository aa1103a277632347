"""Settings of the stream-side commands: one frozen object each, from flags and environment.

Every environment variable logsentry reads is named in :data:`ENV` and nowhere else (the
commands read theirs by these names too; ``log_level`` is the CLI's own, ``corpus`` the trainer's).
Precedence: command-line flag, then ``LOGSENTRY_*`` variable, then the default. Passwords
are :class:`Secret` values: their ``repr`` and ``str`` never show the text. The defaults
live here too, every default topic name written once (``DEFAULT_*_TOPIC``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from logsentry.errors import ConfigError
from logsentry.model_store.ingest.decode import DecodeLimits
from logsentry.model_store.ingest.formats import InputFormat, input_format
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME, check_runtime

# The default topic names, each written only here: the detector's (StreamSettings) and the
# other commands' (``logsentry feedback``, ``train --feedback``, ``alerts``, ``models promote``).
DEFAULT_LOG_TOPIC = "requests"
DEFAULT_ALERT_TOPIC = "logsentry-alerts"
DEFAULT_DEAD_LETTER_TOPIC = "logsentry-dead-letters"
DEFAULT_SHADOW_TOPIC = "logsentry-shadow"
DEFAULT_FEEDBACK_TOPIC = "logsentry-feedback"

ENV: dict[str, str] = {
    "bootstrap_servers": "LOGSENTRY_BOOTSTRAP_SERVERS",
    "security_protocol": "LOGSENTRY_SECURITY_PROTOCOL",
    "sasl_mechanism": "LOGSENTRY_SASL_MECHANISM",
    "sasl_username": "LOGSENTRY_SASL_USERNAME",
    "sasl_password": "LOGSENTRY_SASL_PASSWORD",
    "ssl_cafile": "LOGSENTRY_SSL_CAFILE",
    "ssl_certfile": "LOGSENTRY_SSL_CERTFILE",
    "ssl_keyfile": "LOGSENTRY_SSL_KEYFILE",
    "ssl_check_hostname": "LOGSENTRY_SSL_CHECK_HOSTNAME",
    "request_timeout_ms": "LOGSENTRY_REQUEST_TIMEOUT_MS",
    "replication_factor": "LOGSENTRY_REPLICATION_FACTOR",
    "min_insync_replicas": "LOGSENTRY_MIN_INSYNC_REPLICAS",
    "topics": "LOGSENTRY_TOPICS",
    "group_id": "LOGSENTRY_GROUP_ID",
    "alert_topic": "LOGSENTRY_ALERT_TOPIC",
    "dead_letter_topic": "LOGSENTRY_DEAD_LETTER_TOPIC",
    "verdict_topic": "LOGSENTRY_VERDICT_TOPIC",
    "suppressed_topic": "LOGSENTRY_SUPPRESSED_TOPIC",
    "shadow_topic": "LOGSENTRY_SHADOW_TOPIC",
    "rules": "LOGSENTRY_RULES",
    "store": "LOGSENTRY_STORE",
    "model_version": "LOGSENTRY_MODEL_VERSION",
    "runtime": "LOGSENTRY_RUNTIME",
    "batch_size": "LOGSENTRY_BATCH_SIZE",
    "batch_wait_ms": "LOGSENTRY_BATCH_WAIT_MS",
    "batch_bytes": "LOGSENTRY_BATCH_BYTES",
    "max_message_bytes": "LOGSENTRY_MAX_MESSAGE_BYTES",
    "max_depth": "LOGSENTRY_MAX_DEPTH",
    "max_records": "LOGSENTRY_MAX_RECORDS",
    "input_format": "LOGSENTRY_INPUT_FORMAT",
    "metrics_address": "LOGSENTRY_METRICS_ADDRESS",
    "metrics_port": "LOGSENTRY_METRICS_PORT",
    "reload_interval_s": "LOGSENTRY_RELOAD_INTERVAL_S",
    "max_poll_interval_ms": "LOGSENTRY_MAX_POLL_INTERVAL_MS",
    "session_timeout_ms": "LOGSENTRY_SESSION_TIMEOUT_MS",
    "auto_offset_reset": "LOGSENTRY_AUTO_OFFSET_RESET",
    "create_topics": "LOGSENTRY_CREATE_TOPICS",
    "publish_timeout_s": "LOGSENTRY_PUBLISH_TIMEOUT_S",
    "pipelined": "LOGSENTRY_PIPELINED",
    "explain": "LOGSENTRY_EXPLAIN",
    "explain_budget": "LOGSENTRY_EXPLAIN_BUDGET",
    "stall_after_s": "LOGSENTRY_STALL_AFTER_S",
    "rebalance_stall_s": "LOGSENTRY_REBALANCE_STALL_S",
    "log_level": "LOGSENTRY_LOG_LEVEL",
    "corpus": "LOGSENTRY_CORPUS",  # logsentry train --corpus
}


class Secret:
    """A string that does not show itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class KafkaSettings:
    """Where the brokers are and how to talk to them securely."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True
    # how long a request waits for a broker before the client gives up on that connection and
    # finds the partition's leader or the group's coordinator again: past the brokers' own
    # session timeout (9 s), so a frozen broker's requests are retried on its successor well
    # inside the publish timeout (the clients' 30 s would spend all of it on one request)
    request_timeout_ms: int = 10_000
    replication_factor: int = 0  # of the topics logsentry creates; 0: 3, or the brokers there are when fewer
    min_insync_replicas: int = 0  # of those topics; 0: 2 when they have 3 replicas or more, else 1

    def __post_init__(self) -> None:
        if self.request_timeout_ms < 1000:
            raise ConfigError(f"{_flag('request_timeout_ms')} must be at least 1000, not {self.request_timeout_ms}")
        for name in ("replication_factor", "min_insync_replicas"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_flag(name)} must be 0 (from the cluster) or more, not {getattr(self, name)}")
        if self.replication_factor and self.min_insync_replicas > self.replication_factor:
            raise ConfigError(
                f"{_flag('min_insync_replicas')} ({self.min_insync_replicas}) cannot exceed "
                f"{_flag('replication_factor')} ({self.replication_factor}): no write could succeed"
            )
        protocols = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
        if self.security_protocol not in protocols:
            raise ConfigError(f"security_protocol must be one of {', '.join(protocols)}")
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_mechanism and self.sasl_username and self.sasl_password
        ):
            raise ConfigError(f"{self.security_protocol} needs a SASL mechanism, username and password")

    def replication(self, brokers: int) -> tuple[int, int]:
        """(replication factor, min.insync.replicas) of a topic created on ``brokers`` brokers:
        three copies, two of them acknowledging every write (Kafka's own production advice),
        or what the settings say; one copy on a single broker."""
        factor = self.replication_factor or max(1, min(3, brokers))
        return factor, self.min_insync_replicas or (2 if factor >= 3 else 1)

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (the password only here)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.sasl_mechanism:
            config |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get() if self.sasl_password else None,
            }
        if self.security_protocol.endswith("SSL"):
            config |= {
                "ssl_cafile": str(self.ssl_cafile) if self.ssl_cafile else None,
                "ssl_certfile": str(self.ssl_certfile) if self.ssl_certfile else None,
                "ssl_keyfile": str(self.ssl_keyfile) if self.ssl_keyfile else None,
                "ssl_check_hostname": self.ssl_check_hostname,
            }
        return config


@dataclass(frozen=True)
class StreamSettings:
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: tuple[str, ...] = (DEFAULT_LOG_TOPIC,)
    group_id: str = "logsentry"
    alert_topic: str = DEFAULT_ALERT_TOPIC
    dead_letter_topic: str = DEFAULT_DEAD_LETTER_TOPIC
    verdict_topic: str = ""  # off; a topic name publishes a verdict for every scored record
    suppressed_topic: str = ""  # off; a topic name keeps every suppressed alert (model_store/judge/rules.py)
    shadow_topic: str = DEFAULT_SHADOW_TOPIC  # disagreements with a shadow candidate, and agreement summaries
    rules: Path | None = None  # suppressions and per-route thresholds (YAML), followed while running
    store: Path = Path("models")
    model_version: str = "current"  # "current" follows promotions; a pinned id never reloads
    runtime: str = DEFAULT_RUNTIME  # onnx: no TensorFlow in the process (keras needs the train extra)
    batch_size: int = 1024
    batch_wait_ms: int = 100
    batch_bytes: int = DecodeLimits.batch_bytes  # a batch also ends at this many message bytes (memory)
    max_message_bytes: int = 1_000_000
    max_depth: int = 32
    max_records: int = 10_000  # request records per message (OTLP batches)
    input_format: InputFormat = field(default_factory=InputFormat)  # auto
    metrics_address: str = "127.0.0.1"
    metrics_port: int = 9308
    reload_interval_s: float = 5.0
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 45_000
    auto_offset_reset: str = "earliest"
    create_topics: bool = True
    publish_timeout_s: float = 30.0
    pipelined: bool = True  # score the next batch while the broker acknowledges this one (runner.py)
    explain: bool = True  # every alert carries the spans that drove its score (model_store/judge/explain.py)
    # the most of the loop's time explaining takes (stream/explain_budget.py). Explaining runs the
    # network on every core, so it also slows the client threads and the broker beside it: at
    # 0.10 the stream drained 30-100 % attacks at 0.83-0.87 of its rate without explanations
    # (bench/explain.py, docs/benchmarks.md); 0.05 keeps the cost of explaining under 15 %
    explain_budget: float = 0.05
    stall_after_s: float = 60.0  # /healthz answers 503 when the loop has not come round for this long
    rebalance_stall_s: float = 60.0  # a rebalance not done by then is stuck: the member rejoins as a new one

    def __post_init__(self) -> None:
        if not self.topics:
            raise ConfigError("at least one log topic is needed")
        for name in (
            "batch_size",
            "batch_bytes",
            "max_message_bytes",
            "max_depth",
            "max_records",
            "max_poll_interval_ms",
            "session_timeout_ms",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_flag(name)} must be at least 1, not {getattr(self, name)}")
        for name in ("batch_wait_ms",):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_flag(name)} must be 0 or more, not {getattr(self, name)}")
        for name in ("reload_interval_s", "publish_timeout_s", "stall_after_s", "rebalance_stall_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{_flag(name)} must be more than 0, not {getattr(self, name)}")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"--metrics-port must be between 0 and 65535, not {self.metrics_port}")
        if set(self.topics) & {self.alert_topic, self.dead_letter_topic, self.verdict_topic}:
            raise ConfigError("the alert, dead-letter and verdict topics cannot also be log topics")
        if self.verdict_topic and self.verdict_topic in (self.alert_topic, self.dead_letter_topic):
            raise ConfigError("the verdict topic must be a topic of its own")
        for name in ("suppressed_topic", "shadow_topic"):
            topic = getattr(self, name)
            named = [
                *self.topics,
                self.alert_topic,
                self.dead_letter_topic,
                self.verdict_topic,
                self.suppressed_topic,
                self.shadow_topic,
            ]
            if topic and named.count(topic) > 1:
                raise ConfigError(f"the {name.replace('_topic', '')} topic must be a topic of its own")
        if not 0 < self.explain_budget <= 1:
            raise ConfigError(
                f"{_flag('explain_budget')} is a share of the loop's time, more than 0 and at most 1 (every alert "
                f"explained), not {self.explain_budget}"
            )
        check_runtime(self.runtime)
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise ConfigError("auto_offset_reset must be earliest or latest")

    @property
    def limits(self) -> DecodeLimits:
        return DecodeLimits(
            max_bytes=self.max_message_bytes,
            max_depth=self.max_depth,
            max_records=self.max_records,
            batch_bytes=self.batch_bytes,
        )


def _flag(name: str) -> str:
    """How a user names a setting: its flag, and its environment variable."""
    env = ENV.get(name)
    return f"--{name.replace('_', '-')}" + (f" ({env})" if env else "")


def _convert(name: str, raw: str, target: Any) -> Any:
    if name == "sasl_password":
        return Secret(raw)
    if name == "input_format":
        return input_format(raw)
    if name == "topics":
        return tuple(t.strip() for t in raw.split(",") if t.strip())
    if isinstance(target, bool):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"{ENV.get(name, name)} must be true or false, not {raw!r}")
        return raw.lower() in ("1", "true", "yes")
    if isinstance(target, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV.get(name, name)} must be a whole number, not {raw!r}") from None
    if isinstance(target, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{ENV.get(name, name)} must be a number, not {raw!r}") from None
    if name in ("store", "rules", "ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        return Path(raw)
    return raw


def _layer(defaults: Any, flags: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(defaults):
        if f.name == "kafka":
            continue
        current = getattr(defaults, f.name)
        env_name = ENV.get(f.name)
        if flags.get(f.name) is not None:
            raw = flags[f.name]
            values[f.name] = _convert(f.name, raw, current) if isinstance(raw, str) else raw
        elif env_name and environ.get(env_name, "") != "":
            values[f.name] = _convert(f.name, environ[env_name], current)
    return values


def kafka_settings(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> KafkaSettings:
    base = KafkaSettings(ssl_check_hostname=True)
    return replace(base, **_layer(base, flags, environ))


def stream_settings(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> StreamSettings:
    base = StreamSettings()
    return replace(base, kafka=kafka_settings(flags, environ), **_layer(base, flags, environ))
