"""Real log shippers for the integration tier: Debian's nginx writing access logs, rsyslog shipping them.

Both run in the foreground as child processes with their own configuration and directories,
on free loopback ports, and are stopped by the test. ``.ci/run`` installs them (``nginx``,
``rsyslog``, ``rsyslog-kafka``); a missing binary fails the test, it never skips it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from logsentry.trainer.render import query_string
from tests.integration.conftest import free_port, wait_until

# the JSON access log, nginx's escape=json with the variables' own names (read by --input-format flat)
NGINX_JSON_FORMAT = (
    '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr","request":"$request",'
    '"status":"$status","request_body":"$request_body","http_user_agent":"$http_user_agent"}'
)

NGINX_CONF = """
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  log_format logsentry_json escape=json '{json_format}';
  server {{
    listen 127.0.0.1:{port};
    access_log {dir}/access.log combined;
    access_log {dir}/access.json logsentry_json;
    # nginx fills $request_body only for a body it reads: proxying to the backend makes it read it
    location / {{ proxy_pass http://127.0.0.1:{backend}; }}
  }}
  server {{
    listen 127.0.0.1:{backend};
    access_log off;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""

RSYSLOG_CONF = """
global(workDirectory="{dir}/work")
# polling: inotify events do not reach rsyslog on every container file system
module(load="imfile" mode="polling" PollingInterval="1")
module(load="omkafka")
template(name="logsentry_raw" type="string" string="%msg%")
{inputs}
action(type="omfile" file="{dir}/internal.log")
"""

RSYSLOG_INPUT = """
input(type="imfile" File="{file}" Tag="{tag}:" ruleset="{tag}")
ruleset(name="{tag}") {{
  action(type="omkafka" broker=["{bootstrap}"] topic="{topic}" template="logsentry_raw"
         confParam=["queue.buffering.max.ms=20"] action.resumeRetryCount="-1")
}}
"""


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} is not installed: .ci/run installs it (apt-get install nginx rsyslog rsyslog-kafka)")
    return path


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Nginx:
    directory: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def combined_log(self) -> Path:
        return self.directory / "access.log"

    @property
    def json_log(self) -> Path:
        return self.directory / "access.json"

    def start(self) -> None:
        self.port = free_port()
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                dir=self.directory,
                port=self.port,
                backend=free_port(),
                json_format=NGINX_JSON_FORMAT,
            )
        )
        nginx = _binary("nginx")
        check = subprocess.run(
            [nginx, "-t", "-p", str(self.directory), "-c", str(conf)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([nginx, "-p", str(self.directory), "-c", str(conf), "-g", "daemon off;"])
        wait_until(lambda: _accepts(self.port), timeout=30, what="nginx listening")

    def request(self, method: str, target: str, body: bytes | None = None, content_type: str = "") -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"User-Agent": "logsentry-test/1.0"} | ({"Content-Type": content_type} if content_type else {})
        connection.request(method, target, body=body, headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish requests, flush logs
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class Rsyslog:
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, bootstrap: str, files: Iterable[tuple[Path, str]]) -> None:
        (self.directory / "work").mkdir(parents=True, exist_ok=True)
        inputs = "".join(
            RSYSLOG_INPUT.format(file=path, tag=f"in{i}", bootstrap=bootstrap, topic=topic)
            for i, (path, topic) in enumerate(files)
        )
        conf = self.directory / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(dir=self.directory, inputs=inputs))
        rsyslogd = _binary("rsyslogd")
        check = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = (self.directory / "rsyslogd.out").open("w")
        self.proc = subprocess.Popen(
            [rsyslogd, "-n", "-f", str(conf), "-i", str(self.directory / "rsyslogd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def internal_log(self) -> str:
        path = self.directory / "internal.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def http_request(event: dict[str, Any]) -> tuple[str, str, bytes | None, str]:
    """(method, target, body, content type) that make a web server log ``event``'s request."""
    path = quote(str(event["path"]), safe="/%:@!$&'()*+,;=-._~")
    qs = query_string(event.get("query"))
    target = path + (f"?{qs}" if qs else "")
    body = event.get("requestPayload")
    if body is None:
        return str(event["method"]).upper(), target, None, ""
    if isinstance(body, dict) and all(isinstance(v, (str, int, float)) for v in body.values()):
        return str(event["method"]).upper(), target, query_string(body).encode(), "application/x-www-form-urlencoded"
    return str(event["method"]).upper(), target, json.dumps(body).encode(), "application/json"
