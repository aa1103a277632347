"""What the benchmark scripts share: the machine they ran on, free ports, metrics, result files."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KAFKA_LOCAL = ROOT / "deploy" / "kafka" / "kafka-local"


def machine() -> str:
    """The machine, as result files describe it (figures differ a lot between machines)."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(port: int, name: str) -> float:
    """Sum of a metric's samples on a running detector's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def write_results(path: Path, results: dict[str, Any], table: list[str]) -> None:
    """Print the table and write the JSON that backs it."""
    print("\n".join(table))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def mean_spread(values: list[float], digits: int = 4) -> str:
    """One figure, or the mean ± standard deviation of several runs' figures."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def train_default(data: Path, store: Path, *extra: str) -> Path:
    """Train the default recipe on ``data`` into ``store`` with the real CLI; return the store."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "logsentry",
            "train",
            "--data",
            str(data),
            "--store",
            str(store),
            "--keras-verbose",
            "0",
            *extra,
        ],
        check=True,
        cwd=ROOT,
    )
    return store


@contextmanager
def local_broker(work: Path) -> Iterator[str]:
    """The project's local broker (``deploy/kafka/kafka-local``) on free ports for the block: its bootstrap address."""
    port = free_port()
    subprocess.run(
        [
            str(KAFKA_LOCAL),
            "start",
            "--port",
            str(port),
            "--controller-port",
            str(free_port()),
            "--dir",
            str(work / "kafka"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop", "--dir", str(work / "kafka")], capture_output=True)


@contextmanager
def local_cluster(work: Path, brokers: int = 3) -> Iterator[str]:
    """``kafka-local``'s cluster (``--brokers 3``: three brokers, one controller) on free ports
    for the block: its bootstrap addresses."""
    ports = [free_port() for _ in range(brokers)]
    subprocess.run(
        [
            str(KAFKA_LOCAL),
            "start",
            "--brokers",
            str(brokers),
            "--port",
            ",".join(map(str, ports)),
            "--controller-port",
            str(free_port()),
            "--dir",
            str(work / "cluster"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield ",".join(f"127.0.0.1:{port}" for port in ports)
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop", "--dir", str(work / "cluster")], capture_output=True)


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Stream:
    """A ``logsentry stream`` process of its own consumer group, healthy before the constructor returns."""

    def __init__(self, bootstrap: str, topic: str, group: str, store: Path, work: Path, extra: list[str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "logsentry",
                "stream",
                "--bootstrap-servers",
                bootstrap,
                "--topics",
                topic,
                "--group-id",
                group,
                "--store",
                str(store),
                "--metrics-port",
                str(self.port),
                "--alert-topic",
                f"alerts-{group}",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(work / f"stream-{group}.log", "w"),  # noqa: SIM115 (the child keeps it)
            cwd=ROOT,
        )
        for _ in range(1200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"stream exited: see {work}/stream-{group}.log") from None
                time.sleep(0.1)
        raise RuntimeError("stream did not become healthy")

    def consumed(self) -> float:
        return metric(self.port, "logsentry_events_consumed_total")

    def stop(self) -> float:
        peak = _status_mib(self.proc.pid, "VmHWM")
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        return peak
