"""The connection pre-check: before a command joins a group or produces, say why Kafka is unreachable.

Checked in the order a person would debug it, each with its own message:

1. ``host:port`` is well formed;
2. the name resolves;
3. something accepts TCP connections there (else: connection refused, or no answer);
4. on a plaintext listener, it answers a Kafka ``ApiVersions`` request (else: the port
   answers, but not as Kafka: an HTTP server, another service);
5. a real client handshake, whose failures are explained as TLS or SASL problems only when
   the configured security protocol uses TLS or SASL.
"""

from __future__ import annotations

import logging
import socket
import struct
import time

from kafka.errors import KafkaError

from logsentry.errors import ConfigError, StreamError
from logsentry.stream.kafka import clients
from logsentry.stream.settings import KafkaSettings

_API_VERSIONS = 18
_CORRELATION_ID = 0x4C53  # "LS"


def split_server(server: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) to its parts, or :class:`ConfigError`."""
    host, sep, port_text = server.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"bootstrap server {server!r} must be host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ConfigError(f"bootstrap server {server!r}: port must be between 1 and 65535")
    return host, port


def api_versions_request() -> bytes:
    """A version-0 ``ApiVersions`` request, which every Kafka broker answers before any login."""
    client = b"logsentry-check"
    body = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(client)) + client
    return struct.pack(">i", len(body)) + body


def speaks_kafka(sock: socket.socket, timeout_s: float) -> bool:
    """Whether the peer answers an ``ApiVersions`` request as a Kafka broker does."""
    sock.settimeout(timeout_s)
    try:
        sock.sendall(api_versions_request())
        head = b""
        while len(head) < 8:
            chunk = sock.recv(8 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:
        return False
    size, correlation = struct.unpack(">ii", head)
    return 4 <= size <= 1_048_576 and correlation == _CORRELATION_ID


def _probe(server: str, protocol: str, timeout_s: float) -> str | None:
    """None if ``server`` looks like a reachable broker, else why not."""
    host, port = split_server(server)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"{server}: the name {host!r} does not resolve (check the host name)"
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except ConnectionRefusedError:
        return f"{server}: connection refused: nothing is listening on that port (is the broker running?)"
    except TimeoutError:
        return f"{server}: no answer within {timeout_s:.0f} s (a firewall, or a wrong address?)"
    except OSError as exc:
        return f"{server}: {exc.strerror or exc}"
    with sock:
        if protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and not speaks_kafka(sock, timeout_s):
            return (
                f"{server}: the port answers, but not as a Kafka broker speaking {protocol} "
                "(another service, or a TLS listener: check --security-protocol)"
            )
    return None


class _ConnectionErrors(logging.Handler):
    """Collects what kafka-python logs about failed connections, to explain a failed bootstrap."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# kafka-python's log lines when the broker refuses a login or the client refuses the broker's certificate
_LOGIN_REFUSED = ("SaslAuthenticationFailed", "invalid credentials")
_CERTIFICATE_REFUSED = "CERTIFICATE_VERIFY_FAILED"


def explain(messages: list[str], protocol: str) -> str:
    """The cause of a failed client handshake, as far as the client's own log lines tell."""
    text = " ".join(messages)
    sasl, tls = protocol.startswith("SASL"), protocol.endswith("SSL")
    if sasl and any(tell in text for tell in _LOGIN_REFUSED):
        return "SASL authentication failed: check the mechanism, username and password"
    if tls and _CERTIFICATE_REFUSED in text:
        return "TLS: the broker's certificate is not trusted (check LOGSENTRY_SSL_CAFILE)"
    if tls and "Handshake failed" in text:
        return "TLS handshake failed: does the listener speak the configured security protocol?"
    if "socket disconnected" in text or "Connection lost" in text:
        if sasl:  # after failed logins a broker may just close the connection, without a SASL error
            return (
                "the broker closed the connection before authentication completed: check the SASL "
                "credentials and the security protocol"
            )
        if tls:
            return "the broker closed the connection during the TLS handshake: is this a TLS listener?"
        return "the broker closed the connection: does the listener expect TLS or SASL?"
    if "ECONNREFUSED" in text or "refused" in text:
        return "connection refused: is a broker listening there?"
    return messages[-1][:300] if messages else "no broker answered"


# What a client logs when a broker refused who it is: retrying cannot change the answer.
_DEFINITIVE = (*_LOGIN_REFUSED, _CERTIFICATE_REFUSED)
_ATTEMPT_S = 2.0  # one handshake attempt: a refused login or certificate shows in well under a second


def check_connection(kafka: KafkaSettings, timeout_s: float = 15.0) -> None:
    """Connect once, or raise :class:`StreamError` saying why not (see the module docstring).

    The handshake is tried in attempts of :data:`_ATTEMPT_S` until ``timeout_s``: a broker that
    is still starting gets the whole time, a wrong password or an untrusted certificate is
    reported after the first attempt instead of after ``timeout_s``.
    """
    where = f"cannot connect to Kafka at {kafka.bootstrap_servers} ({kafka.security_protocol})"
    problems = [
        _probe(server, kafka.security_protocol, min(timeout_s, 5.0)) for server in kafka.bootstrap_servers.split(",")
    ]
    if all(problems):
        raise StreamError(f"{where}: " + "; ".join(p for p in problems if p))
    collector = _ConnectionErrors()
    kafka_log = logging.getLogger("kafka")
    kafka_log.addHandler(collector)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            attempt_s = min(_ATTEMPT_S, max(0.1, deadline - time.monotonic()))
            try:
                clients.admin(kafka, client_id="logsentry-check", bootstrap_timeout_ms=int(attempt_s * 1000)).close()
                return
            except KafkaError as exc:
                text = " ".join(collector.messages)
                if time.monotonic() >= deadline or any(tell in text for tell in _DEFINITIVE):
                    reason = explain(collector.messages, kafka.security_protocol) if collector.messages else repr(exc)
                    raise StreamError(f"{where}: {reason}") from None
    finally:
        kafka_log.removeHandler(collector)


def native_crc32c() -> bool:
    """Whether kafka-python checks record batches with native CRC-32C (the ``crc32c`` package).

    Without it every consumed and produced batch is checksummed in pure Python, about 55 µs
    per 600-byte event: more than scoring it. ``pip install 'kafka-python[crc32c]'``.
    """
    from kafka.record import util

    return getattr(util, "crc32c_c", None) is not None
