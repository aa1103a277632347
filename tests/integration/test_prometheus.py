"""A real Prometheus server scrapes a running detector: the dashboard's expressions and the
alerting rules are evaluated by Prometheus itself, on what the stream really produced.

Debian's ``prometheus`` (installed by ``.ci/run``) is started on a free port with its own
configuration and data directory, scraping every second and evaluating
``deploy/prometheus/rules/logsentry.rules.yml`` every second.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logsentry.model_store.store import ModelStore
from tests.integration.conftest import ROOT, StartStream, Topics, free_port, produce, wait_until
from tests.integration.test_stream import events

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "logsentry.json"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "logsentry.rules.yml"


class Prometheus:
    def __init__(self, target: str, work: Path) -> None:
        binary = shutil.which("prometheus") or pytest.fail("the prometheus server is required: .ci/run installs it")
        self.port = free_port()
        config = work / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{json.dumps(str(RULES))}]\n"
            "scrape_configs:\n"
            f"  - job_name: logsentry\n    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
        )
        self.log = (work / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, timeout=60, what=f"prometheus ready (log {work / 'prometheus.log'})")

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as reply:
            return json.loads(reply.read())

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> dict[str, str]:
        return {a["labels"]["alertname"]: a["state"] for a in self._get("/api/v1/alerts")["data"]["alerts"]}

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    started: list[Prometheus] = []

    def start(target: str) -> Prometheus:
        work = tmp_path / f"prometheus-{len(started)}"
        work.mkdir()
        started.append(Prometheus(target, work))
        return started[-1]

    yield start
    for p in started:
        p.close()


def dashboard_expressions() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    out = []
    for panel in panels:
        for target in panel.get("targets", []):
            expr = (
                target["expr"]
                .replace('"$job"', '"logsentry"')
                .replace('"$instance"', '".*"')
                .replace("$__rate_interval", "1m")
            )
            out.append((panel["title"], expr))
    return out


def test_prometheus_reads_the_stream_through_the_dashboard_and_fires_a_rule(
    bootstrap: str,
    topics: Topics,
    streams: StartStream,
    trained_store: ModelStore,
    prometheus_for: Any,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yml"  # the dashboard's suppression panel has a rule to show
    rules.write_text("suppressions:\n  - {name: static, route: /static/*, reason: a CDN, author: ops}\n")
    stream = streams(bootstrap, topics, trained_store.root, "--rules", str(rules))
    prom = prometheus_for(f"127.0.0.1:{stream.port}")
    wait_until(lambda: prom.value('up{job="logsentry"}') == 1, timeout=60, what="first scrape")
    wait_until(lambda: prom.value('logsentry_up{job="logsentry"}') == 1, timeout=30, what="stream loop up")

    good = events(400, seed=61)
    bad = [b"{oops"] * 60 + [b'{"a": 1, "a": 2}'] * 40  # a burst of malformed messages: 20 % dead letters
    produce(bootstrap, topics.logs, good + bad)
    wait_until(lambda: stream.metric("logsentry_events_consumed_total") == 500, timeout=120, what="all consumed")
    flagged = stream.metric("logsentry_events_flagged_total")
    assert flagged > 0

    # counters as Prometheus scraped them: exactly what the stream counted
    def scraped(name: str) -> float | None:
        return prom.value(f'sum({name}{{job="logsentry"}})')

    wait_until(lambda: scraped("logsentry_events_consumed_total") == 500, timeout=30, what="scraped after the burst")
    assert scraped("logsentry_events_scored_total") == 400
    assert scraped("logsentry_events_flagged_total") == flagged
    assert prom.value('sum(logsentry_dead_letters_total{job="logsentry", reason="not_json"})') == 60
    assert prom.value('sum(logsentry_dead_letters_total{job="logsentry", reason="duplicate_key"})') == 40
    wait_until(
        lambda: prom.value('max(logsentry_consumer_lag_messages{job="logsentry"})') == 0,
        timeout=30,
        what="lag scraped at 0",
    )

    # every expression of the dashboard runs on Prometheus and answers
    answers = {}
    for title, expr in dashboard_expressions():
        # a rate needs two samples of a series: one that appeared with the burst gets them within seconds
        answers[expr] = wait_until(lambda e=expr: prom.query(e), timeout=30, what=f"{title}: {expr} answers")
    consumed_rate = next(r for e, r in answers.items() if "events_consumed_total" in e and "by (topic)" in e)
    assert {s["metric"]["topic"] for s in consumed_rate} == {topics.logs}
    assert float(consumed_rate[0]["value"][1]) > 0, "events were consumed within the last minute"
    reasons = next(r for e, r in answers.items() if "dead_letters_total" in e)
    assert {s["metric"]["reason"] for s in reasons if float(s["value"][1]) > 0} == {"not_json", "duplicate_key"}
    p99 = prom.value(
        'histogram_quantile(0.99, sum by (le) (rate(logsentry_event_latency_seconds_bucket{job="logsentry"}[1m])))'
    )
    assert p99 is not None and 0 < p99 < 120, "event latency quantile from the stream's own histogram"
    info = prom.query('logsentry_model_info{job="logsentry"}')
    assert info[0]["metric"]["version"] == trained_store.current() and info[0]["metric"]["runtime"] == "onnx"

    # the dead-letter ratio rule's condition holds: Prometheus puts the alert in pending (its `for` is 10m)
    wait_until(
        lambda: prom.alerts().get("LogsentryDeadLetterRatioHigh") in ("pending", "firing"),
        timeout=60,
        what="LogsentryDeadLetterRatioHigh pending",
    )
    assert "LogsentryDetectorDown" not in prom.alerts()

    # and when the detector is gone, the scrape says so and the down rule goes pending
    assert stream.terminate() == 0
    wait_until(lambda: prom.value('up{job="logsentry"}') == 0, timeout=30, what="the scrape sees the detector gone")
    wait_until(
        lambda: prom.alerts().get("LogsentryDetectorDown") == "pending",
        timeout=60,
        what="LogsentryDetectorDown pending",
    )
