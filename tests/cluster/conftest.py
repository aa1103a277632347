"""A real three-broker Apache Kafka cluster (KRaft, one controller process apart) and its faults.

The cluster comes from ``deploy/kafka/kafka-local start --brokers 3``: three brokers on ports
of their own, one controller, so any broker may be killed, frozen or restarted while the
quorum lives. Topics get three replicas and ``min.insync.replicas=2`` by default, as the
detector creates its own. Every test starts from a whole cluster (all brokers up and every
partition fully in sync) and leaves it whole again, whatever it broke.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from tests.integration.conftest import KAFKA_LOCAL, Topics, free_port, streams, wait_until

__all__ = ["streams"]  # the integration tier's fixture, used here too

HERE = Path(__file__).resolve().parent
BROKERS = 3
OFFSETS_PARTITIONS = 4  # offsets.topic.num.partitions in kafka-local's broker config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this tier is ``cluster`` and ``integration`` (it needs real brokers)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.cluster)
            item.add_marker(pytest.mark.integration)


@dataclass
class Cluster:
    """``kafka-local``'s cluster, with the controls the fault tests need."""

    directory: Path
    ports: tuple[int, ...] = field(default_factory=lambda: tuple(free_port() for _ in range(BROKERS)))
    controller_port: int = field(default_factory=free_port)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [str(KAFKA_LOCAL), *args, "--dir", str(self.directory)], capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            pytest.fail(f"kafka-local {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        ports = ",".join(map(str, self.ports))
        self._run("start", "--brokers", str(BROKERS), "--port", ports, "--controller-port", str(self.controller_port))

    def stop_all(self) -> None:
        self._run("stop")

    def kill(self, node: int) -> None:
        self._run("stop", "--node", str(node), "--kill")

    def stop(self, node: int) -> None:
        self._run("stop", "--node", str(node))

    def restart(self, node: int) -> None:
        self._run("start", "--node", str(node))

    def freeze(self, node: int) -> None:
        self._run("freeze", "--node", str(node))

    def thaw(self, node: int) -> None:
        self._run("thaw", "--node", str(node))

    def status(self) -> dict[int, str]:
        """Each broker's state: running, frozen or stopped."""
        command = [str(KAFKA_LOCAL), "status", "--dir", str(self.directory)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        out = {}
        for line in done.stdout.splitlines():
            if line.startswith("broker "):
                name, state = line.split(":", 1)
                out[int(name.split()[1])] = state.split()[0]
        return out


def in_sync(admin: KafkaAdminClient) -> bool:
    """Every broker registered and every partition of every topic with all its replicas in sync."""
    try:
        if len(admin.describe_cluster().get("brokers", [])) < BROKERS:
            return False
        described = admin.describe_topics()
    except KafkaError:
        return False
    return all(
        not t["error_code"] and all(len(p["isr_nodes"]) == len(p["replica_nodes"]) for p in t["partitions"])
        for t in described
    )


def leader(admin: KafkaAdminClient, topic: str, partition: int) -> int | None:
    """The broker id (the node number) leading ``topic``'s ``partition`` now; None while the
    broker asked does not answer (it may be the frozen one: the admin client asks another next)."""
    try:
        (described,) = admin.describe_topics([topic])
    except KafkaError:
        return None
    return int(next(p["leader_id"] for p in described["partitions"] if p["partition_index"] == partition))


def coordinator(admin: KafkaAdminClient, group: str) -> int | None:
    """The broker coordinating ``group``: the leader of its ``__consumer_offsets`` partition,
    ``abs(group.hashCode()) % offsets.topic.num.partitions`` as Kafka places it."""
    h = 0
    units = group.encode("utf-16-be")  # Java's String.hashCode runs over UTF-16 code units
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    partition = (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS
    return leader(admin, "__consumer_offsets", partition)


def moved(now: int | None, victim: int) -> bool:
    """A leader or coordinator known, and not the victim any more."""
    return now is not None and now != victim


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.environ.get("LOGSENTRY_TEST_BOOTSTRAP"):
        pytest.fail("the cluster tier starts its own three brokers, not LOGSENTRY_TEST_BOOTSTRAP")
    c = Cluster(tmp_path_factory.mktemp("kafka-cluster"))
    c.start()
    yield c
    c.stop_all()


@pytest.fixture
def whole(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster with every broker up and every partition in sync, before and after the test."""

    def mend() -> None:
        for node, state in cluster.status().items():
            if state == "frozen":
                cluster.thaw(node)
            elif state == "stopped":
                cluster.restart(node)
        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=5000)
        try:
            wait_until(lambda: in_sync(admin), timeout=120, what="every partition in sync on three brokers")
        finally:
            admin.close()

    mend()
    yield cluster
    mend()


@pytest.fixture
def cluster_admin(whole: Cluster) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=whole.bootstrap, request_timeout_ms=5000)  # a frozen broker is skipped
    yield client
    client.close()


@pytest.fixture
def cluster_topics(cluster_admin: KafkaAdminClient) -> Topics:
    """A log topic of six partitions, three replicas each; the detector creates its own topics."""
    tag = uuid.uuid4().hex[:8]
    t = Topics(f"logs-{tag}", f"alerts-{tag}", f"dlq-{tag}", f"group-{tag}")
    cluster_admin.create_topics([NewTopic(t.logs, 6, 3, topic_configs={"min.insync.replicas": "2"})])
    return t
