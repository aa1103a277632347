"""SASL_SSL (SCRAM-SHA-512 over TLS with a test CA) against the project's own broker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from tests.integration.conftest import (
    ROOT,
    StartStream,
    Topics,
    all_committed,
    free_port,
    kafka_local,
    read_all,
    wait_until,
)
from tests.integration.test_stream import events

pytestmark = pytest.mark.integration


class SecureBroker:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.plain, self.secure = free_port(), free_port()
        self.controller = free_port()

    def _run(self, action: str, *extra: str) -> None:
        kafka_local(action, self.plain, self.controller, self.directory, *extra)

    def env(self, password: str = "logsentry-local", cafile: Path | None = None) -> dict[str, str]:
        return {
            "LOGSENTRY_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.secure}",
            "LOGSENTRY_SECURITY_PROTOCOL": "SASL_SSL",
            "LOGSENTRY_SASL_MECHANISM": "SCRAM-SHA-512",
            "LOGSENTRY_SASL_USERNAME": "logsentry",
            "LOGSENTRY_SASL_PASSWORD": password,
            "LOGSENTRY_SSL_CAFILE": str(cafile or self.directory / "tls" / "ca.pem"),
        }


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = SecureBroker(tmp_path_factory.mktemp("kafka-secure"))
    broker._run("start", "--sasl-ssl-port", str(broker.secure))
    yield broker
    broker._run("stop")


def _logsentry(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logsentry", *args],
        env=os.environ | env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_stream_and_replay_work_over_sasl_ssl(
    secure_broker: SecureBroker, trained_store: ModelStore, streams: StartStream, tmp_path: Path
) -> None:
    plain = f"127.0.0.1:{secure_broker.plain}"
    t = Topics("secure-logs", "secure-alerts", "secure-dlq", "secure-group")
    admin = KafkaAdminClient(bootstrap_servers=plain)
    admin.create_topics([NewTopic(t.logs, 2, 1), NewTopic(t.alerts, 1, 1), NewTopic(t.dead_letters, 1, 1)])
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(events(300, seed=31)) + b"\n")
    done = _logsentry(["replay", str(source), "--topic", t.logs, "--quiet"], secure_broker.env())
    assert done.returncode == 0, done.stderr
    stream = streams(f"127.0.0.1:{secure_broker.secure}", t, trained_store.root, env=secure_broker.env())
    wait_until(lambda: all_committed(admin, plain, t), timeout=120, what="secure stream committed everything")
    admin.close()
    assert stream.metric("logsentry_events_scored_total") == 300
    detector = load_detector(trained_store)
    offline = int(detector.flags(detector.score_events([json.loads(v) for v in events(300, seed=31)])).sum())
    assert offline > 0, "the replayed traffic holds attacks: the comparison below cannot pass at 0 == 0"
    assert len(read_all(plain, t.alerts)) == stream.metric("logsentry_alerts_published_total") == offline
    assert "logsentry-local" not in stream.log_path.read_text(), "the password must never be logged"


@pytest.mark.parametrize(
    ("password", "untrusted", "message"),
    [
        ("not-the-password", False, "SASL authentication failed|closed the connection before authentication"),
        ("logsentry-local", True, "certificate is not trusted"),
    ],
    ids=["wrong-password", "untrusted-ca"],
)
def test_wrong_credentials_or_untrusted_certificate_fail_clearly(
    secure_broker: SecureBroker,
    trained_store: ModelStore,
    tmp_path: Path,
    password: str,
    untrusted: bool,
    message: str,
) -> None:
    cafile = None
    if untrusted:
        cafile = tmp_path / "other-ca.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=other",
                "-keyout",
                str(tmp_path / "other.key"),
                "-out",
                str(cafile),
            ],
            check=True,
            capture_output=True,
        )
    env = secure_broker.env(password, cafile)
    source = tmp_path / "one.jsonl"
    source.write_bytes(events(1, seed=32)[0] + b"\n")
    replay = _logsentry(["replay", str(source), "--topic", "secure-logs", "--quiet"], env)
    assert replay.returncode == 2 and re.search(message, replay.stderr), replay.stderr[-2000:]
    stream = _logsentry(
        ["stream", "--topics", "secure-logs", "--store", str(trained_store.root), "--metrics-port", str(free_port())],
        env,
    )
    assert stream.returncode == 2 and re.search(message, stream.stderr), stream.stderr[-2000:]
    assert "TLS handshake failed" not in replay.stderr + stream.stderr or untrusted
    assert password not in replay.stderr + stream.stderr
    for done in (replay, stream):  # one line, no traceback, whatever the library logged
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize(
    ("protocol", "port", "message"),
    [
        ("SSL", "plain", r"TLS|closed the connection"),  # TLS spoken to a plaintext listener
        ("PLAINTEXT", "secure", r"not as a Kafka broker speaking PLAINTEXT .*TLS listener"),
    ],
    ids=["tls-to-plaintext", "plaintext-to-tls"],
)
def test_a_security_protocol_mismatch_is_named(
    secure_broker: SecureBroker, protocol: str, port: str, message: str, tmp_path: Path
) -> None:
    source = tmp_path / "one.jsonl"
    source.write_bytes(events(1, seed=33)[0] + b"\n")
    address = secure_broker.plain if port == "plain" else secure_broker.secure
    env = {"LOGSENTRY_BOOTSTRAP_SERVERS": f"127.0.0.1:{address}", "LOGSENTRY_SECURITY_PROTOCOL": protocol}
    done = _logsentry(["replay", str(source), "--topic", "secure-logs", "--quiet"], env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and re.search(message, lines[0]), done.stderr[-2000:]
