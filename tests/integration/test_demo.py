"""The README's main command (`make demo` runs deploy/demo.sh) works end to end."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import KAFKA_LOCAL, ROOT, free_port

pytestmark = pytest.mark.integration


def test_demo_runs_broker_training_stream_replay_alerts_and_metrics(tmp_path: Path) -> None:
    work = tmp_path / "work"
    port, metrics_port = free_port(), free_port()
    env = os.environ | {
        "LOGSENTRY_WORK": str(work),
        "LOGSENTRY_DEMO_PORT": str(port),
        "LOGSENTRY_DEMO_METRICS_PORT": str(metrics_port),
        "LOGSENTRY_DEMO_ROWS": "1500",
        "LOGSENTRY_DEMO_TRAFFIC": "600",
        "LOGSENTRY_DEMO_EPOCHS": "6",  # with generated sites mixed in, 2 epochs flag nothing under the budget
        "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}",
    }
    done = subprocess.run([str(ROOT / "deploy" / "demo.sh")], env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    for heading in (
        "start a local Apache Kafka broker",
        "train the default model",
        "start the streaming detector",
        "replay live traffic",
        "alerts on topic",
        "what the detector measured",
    ):
        assert heading in out
    assert len(re.findall(r"score=[01]\.\d{3} +client=", out)) >= 1  # a confident alert prints 1.000
    assert re.search(r'logsentry_events_consumed_total\{topic="requests"\} 603\.0', out)
    assert re.search(r'logsentry_dead_letters_total\{reason="unrecognized_format"\} 1\.0', out)
    assert f"http://127.0.0.1:{metrics_port}/metrics" in out
    assert (work / "models" / "CURRENT").is_file()
    # everything it started is stopped again
    status = subprocess.run([str(KAFKA_LOCAL), "status", "--dir", str(work / "kafka")], capture_output=True)
    assert status.returncode == 3
