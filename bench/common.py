"""What the benchmark scripts share: the machine they ran on, free ports, metrics, result files."""

from __future__ import annotations

import json
import os
import platform
import socket
import urllib.request
from pathlib import Path
from typing import Any


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
