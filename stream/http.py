"""The stream's HTTP endpoint: ``/metrics`` for Prometheus, ``/healthz`` (``/readyz``) for readiness,
``/livez`` for liveness."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


Check = Callable[[], tuple[bool, str]]


def serve(address: str, port: int, registry: CollectorRegistry, healthy: Check, alive: Check) -> ThreadingHTTPServer:
    """``/healthz`` (and ``/readyz``): 503 while the loop stalls or nothing it publishes goes
    out; ``/livez``: 503 only while the loop stalls (a restart cannot bring replicas back)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz", "/livez"):
                ok, detail = alive() if path == "/livez" else healthy()
                self._reply(200 if ok else 503, (detail + "\n").encode(), "text/plain; charset=utf-8")
            else:
                self._reply(404, b"not found: try /metrics, /healthz or /livez\n", "text/plain; charset=utf-8")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http " + format, *args)

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics health on /healthz", address, server.server_address[1])
    return server
