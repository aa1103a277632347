"""The connection pre-check's handshake attempts: a refused login ends them, a starting broker gets the time."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from logsentry.errors import StreamError
from logsentry.stream.kafka import clients, connection
from logsentry.stream.settings import KafkaSettings, Secret


class _Refused:
    """A client whose every bootstrap fails after the library logged ``said``."""

    attempts = 0
    said = ""

    def __init__(self, **config: Any) -> None:
        type(self).attempts += 1
        logging.getLogger("kafka.conn").warning(type(self).said)
        raise KafkaTimeoutError("bootstrap timed out")


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> type[_Refused]:
    monkeypatch.setattr(connection, "_probe", lambda *args: None)  # something listens there
    monkeypatch.setattr(clients, "KafkaAdminClient", _Refused)
    monkeypatch.setattr(connection, "_ATTEMPT_S", 0.05)
    _Refused.attempts = 0
    return _Refused


def test_a_refused_login_is_reported_after_one_attempt(refused: type[_Refused]) -> None:
    refused.said = "<BrokerConnection ...>: Authentication failed: SaslAuthenticationFailed: invalid credentials"
    kafka = KafkaSettings(
        bootstrap_servers="127.0.0.1:9093",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password=Secret("p"),
    )
    with pytest.raises(StreamError, match="SASL authentication failed"):
        connection.check_connection(kafka, timeout_s=30)
    assert refused.attempts == 1, "retrying cannot change a refused password"


def test_an_unexplained_failure_is_retried_until_the_timeout(refused: type[_Refused]) -> None:
    refused.said = "<BrokerConnection ...>: connect attempt timed out"
    with pytest.raises(StreamError, match="connect attempt timed out"):
        connection.check_connection(KafkaSettings(bootstrap_servers="127.0.0.1:9092"), timeout_s=0.5)
    assert refused.attempts >= 3, "a broker still starting gets the whole timeout"
