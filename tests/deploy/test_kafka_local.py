"""``deploy/kafka/kafka-local``'s arguments: a wrong cluster request is refused in one line,
before any JVM starts (the cluster itself is exercised by ``tests/cluster``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka-local"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["start", "--brokers", "2"], "--brokers is 1 or 3, not 2"),
        (["start", "--brokers", "3", "--sasl-ssl-port", "9096"], "--sasl-ssl-port is for one broker"),
        (["start", "--port", "9092,9093"], "one port for one broker"),
        (["stop", "--node", "1"], "--node names a broker of a cluster; none in"),
        (["freeze", "--node", "2"], "--node names a broker of a cluster; none in"),
        (["freeze"], "freeze needs --node N"),
    ],
)
def test_a_wrong_cluster_request_is_refused_in_one_line(args: list[str], said: str, tmp_path: Path) -> None:
    done = subprocess.run([str(KAFKA_LOCAL), *args, "--dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("kafka-local: ") and said in done.stderr and done.stderr.count("\n") == 1
    assert not any(tmp_path.iterdir()), "nothing was written"


def test_a_node_outside_the_cluster_is_refused(tmp_path: Path) -> None:
    layout = "CLUSTER_ID=x\nCLUSTER_BROKERS=3\nCLUSTER_PORTS=1,2,3\nCLUSTER_CONTROLLER_PORT=4\n"
    (tmp_path / "cluster.env").write_text(layout)
    command = [str(KAFKA_LOCAL), "thaw", "--node", "4", "--dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 1 and "--node is a broker of the cluster" in done.stderr and "1 to 3" in done.stderr
