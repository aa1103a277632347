"""A real Apache Kafka broker (KRaft) for the whole session, and helpers around it.

The broker comes from ``deploy/kafka/kafka-local`` (the project's own script), or from
``LOGSENTRY_TEST_BOOTSTRAP`` when set. If it cannot start, every test here *fails*: a
missing broker must never turn into a green run.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NotCoordinatorError
from kafka.structs import TopicPartition

ROOT = Path(__file__).resolve().parents[2]
KAFKA_LOCAL = ROOT / "deploy" / "kafka" / "kafka-local"

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this tier is ``integration`` (a ``pytestmark`` in a conftest marks nothing), so
    ``-m "not integration"`` runs the other tiers without a broker."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float = 60, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


def kafka_local(action: str, port: int, controller_port: int, directory: Path, *extra: str) -> None:
    """``deploy/kafka/kafka-local ACTION`` for the broker at ``port``; the test fails on an error."""
    command = [str(KAFKA_LOCAL), action, "--port", str(port), "--controller-port", str(controller_port)]
    done = subprocess.run([*command, "--dir", str(directory), *extra], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"kafka-local {action} failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class Broker:
    """The project's local broker, with the controls fault tests need."""

    port: int
    directory: Path
    external: bool = False
    controller_port: int = 0

    def __post_init__(self) -> None:
        self.controller_port = self.controller_port or free_port()  # fixed across restarts

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        kafka_local(args[0], self.port, self.controller_port, self.directory, *args[1:])

    def start(self) -> None:
        self._run("start")

    def stop(self, *, kill: bool = False) -> None:
        if self.external:
            pytest.fail("fault tests need the project's own broker, not LOGSENTRY_TEST_BOOTSTRAP")
        self._run("stop", *(["--kill"] if kill else []))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    given = os.environ.get("LOGSENTRY_TEST_BOOTSTRAP")
    if given:
        _host, _, port = given.rpartition(":")
        yield Broker(int(port), Path(), external=True)
        return
    b = Broker(free_port(), tmp_path_factory.mktemp("kafka"))
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def bootstrap(broker: Broker) -> str:
    return broker.bootstrap


@pytest.fixture
def admin(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


@dataclass(frozen=True)
class Topics:
    """Fresh, uniquely named topics and group for one test."""

    logs: str
    alerts: str
    dead_letters: str
    group: str


@pytest.fixture
def topics(admin: KafkaAdminClient, request: pytest.FixtureRequest) -> Topics:
    partitions = getattr(request, "param", 4)
    tag = uuid.uuid4().hex[:8]
    t = Topics(f"logs-{tag}", f"alerts-{tag}", f"dlq-{tag}", f"group-{tag}")
    admin.create_topics([NewTopic(t.logs, partitions, 1), NewTopic(t.alerts, 2, 1), NewTopic(t.dead_letters, 1, 1)])
    return t


@dataclass(frozen=True)
class Produced:
    value: bytes
    partition: int
    offset: int


def produce(bootstrap: str, topic: str, values: list[bytes], *, rate: float = 0.0) -> list[Produced]:
    """Produce ``values`` (keyed round-robin by index) and return where each one landed."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    futures = []
    started = time.monotonic()
    for i, value in enumerate(values):
        if rate > 0:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        futures.append(producer.send(topic, value=value, key=str(i).encode()))
    producer.flush()
    out = []
    for value, future in zip(values, futures, strict=True):
        meta = future.get(timeout=30)
        out.append(Produced(value, meta.partition, meta.offset))
    producer.close()
    return out


class Traffic:
    """Produces ``values`` in the background at ``rate`` per second, over and over, until
    :meth:`stop`: load that lasts as long as the test needs it, on a fast or a slow machine."""

    def __init__(self, bootstrap: str, topic: str, values: list[bytes], rate: float) -> None:
        assert values, "traffic needs values to send"
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self._sent: list[tuple[bytes, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(topic, values, rate), daemon=True)
        self._thread.start()

    def _run(self, topic: str, values: list[bytes], rate: float) -> None:
        started = time.monotonic()
        for i, value in enumerate(itertools.cycle(values)):
            if self._stop.wait(max(0.0, started + i / rate - time.monotonic())):
                return
            self._sent.append((value, self._producer.send(topic, value=value, key=str(i).encode())))

    def stop(self) -> list[Produced]:
        """Stop producing; where each value landed. Fails if producing stopped on its own."""
        assert self._thread.is_alive(), "the traffic stopped before the test ended (see the producer's error)"
        self._stop.set()
        self._thread.join()
        self._producer.flush()
        out = [Produced(value, (meta := future.get(timeout=30)).partition, meta.offset) for value, future in self._sent]
        self._producer.close()
        return out


def group_state(admin: KafkaAdminClient, group: str) -> str:
    """The group's state as its coordinator reports it (``Stable``, ``PreparingRebalance``, ...)."""
    return str(admin.describe_groups([group])[group]["group_state"])


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    timestamp: int


def read_all(bootstrap: str, topic: str, timeout: float = 30) -> list[Record]:
    """Every record of ``topic`` up to its current end offsets."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ends = consumer.end_offsets(partitions)
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < ends[tp] for tp in partitions):
        if time.monotonic() > deadline:
            raise AssertionError(f"could not read {topic} to its end")
        for tp, records in consumer.poll(timeout_ms=500).items():
            out.extend(
                Record(tp.partition, r.offset, r.key, r.value, {k: v for k, v in (r.headers or [])}, r.timestamp)
                for r in records
            )
    consumer.close()
    return out


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    ends = {tp.partition: off for tp, off in consumer.end_offsets(partitions).items()}
    consumer.close()
    return ends


def committed(admin: KafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    for attempt in range(20):
        try:
            offsets = admin.list_group_offsets({group: None}).get(group, {})
            break
        except KafkaError as exc:  # the coordinator moves or loads: ask again
            if (not getattr(exc, "retriable", False) and not isinstance(exc, NotCoordinatorError)) or attempt == 19:
                raise
            time.sleep(0.25)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


def all_committed(admin: KafkaAdminClient, bootstrap: str, t: Topics) -> bool:
    """Every log partition that holds messages committed to its end; False while none holds any
    (an empty topic is not "all done": a test that produced nothing waits and fails loudly)."""
    ends = {p: end for p, end in end_offsets(bootstrap, t.logs).items() if end > 0}
    if not ends:
        return False
    done = committed(admin, t.group, t.logs)
    return all(done.get(p, 0) == end for p, end in ends.items())


def http_get(port: int, path: str = "/healthz") -> tuple[int, str]:
    """(status, body) of a detector's HTTP endpoint: ``/healthz``, ``/livez``, ``/metrics``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class StreamProcess:
    """A real ``logsentry stream`` process, as an operator would run it."""

    def __init__(
        self,
        bootstrap: str,
        t: Topics,
        store: Path,
        log_dir: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = (sys.executable, "-m", "logsentry"),
        cwd: Path = ROOT,
        hooked: bool = False,
    ) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"stream-{self.port}.log"
        self.hook = log_dir / f"hook-{self.port}"
        if hooked:  # the same CLI, with a batch held in flight on request (hooked_stream.py)
            self.hook.mkdir()
            command = (sys.executable, "-m", "tests.integration.hooked_stream")
            env = (env or {}) | {"LOGSENTRY_TEST_HOOK_DIR": str(self.hook)}
        args = [
            *command,
            "stream",
            "--bootstrap-servers",
            bootstrap,
            "--topics",
            t.logs,
            "--group-id",
            t.group,
            "--alert-topic",
            t.alerts,
            "--dead-letter-topic",
            t.dead_letters,
            "--store",
            str(store),
            "--metrics-port",
            str(self.port),
            "--session-timeout-ms",
            "10000",
            *extra,
        ]
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd, env=os.environ | (env or {})
        )
        wait_until(self._healthy, timeout=120, what=f"stream process healthy (log {self.log_path})")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"stream exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def hold_next_batch(self) -> set[tuple[int, int]]:
        """Hold the next sent batch before its commit; return its (partition, offset)s once held."""
        (self.hook / "release").unlink(missing_ok=True)
        (self.hook / "held.json").unlink(missing_ok=True)
        (self.hook / "arm").touch()
        held = self.hook / "held.json"

        def is_held() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"stream exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            return held.exists()

        wait_until(is_held, timeout=120, what="a batch held in flight")
        return {(partition, offset) for _topic, partition, offset in json.loads(held.read_text())}

    def release(self) -> None:
        (self.hook / "release").touch()

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as reply:
            return reply.read().decode()

    def rss_mib(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def peak_rss_mib(self) -> float:
        """The process's memory high-water mark (VmHWM), not what it holds now."""
        return self.rss_mib("VmHWM")

    def metric(self, name: str, **labels: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        total = 0.0
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.log.close()


StartStream = Callable[..., StreamProcess]


@pytest.fixture
def streams(tmp_path: Path) -> Iterator[StartStream]:
    started: list[StreamProcess] = []

    def start(bootstrap: str, t: Topics, store: Path, *extra: str, **options: Any) -> StreamProcess:
        process = StreamProcess(bootstrap, t, store, tmp_path, *extra, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture
def store_copy(trained_store: Any, tmp_path: Path) -> Path:
    """A private copy of the session's trained store, for tests that promote or corrupt."""
    target = tmp_path / "models"
    shutil.copytree(trained_store.root, target)
    return target


def alerts_by_position(records: list[Record]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in records:
        alert = json.loads(r.value)
        out.setdefault((alert["source"]["partition"], alert["source"]["offset"]), []).append(alert)
    return out


def accounting(bootstrap: str, verdict_topic: str, dead_letter_topic: str) -> Counter[tuple[int, int]]:
    """How many times each source (partition, offset) came out, as a verdict or a dead letter."""
    seen: Counter[tuple[int, int]] = Counter()
    for r in read_all(bootstrap, verdict_topic):
        verdict = json.loads(r.value)
        seen[(verdict["source"]["partition"], verdict["source"]["offset"])] += 1
    for r in read_all(bootstrap, dead_letter_topic):
        seen[(int(r.headers["logsentry-dlq-source-partition"]), int(r.headers["logsentry-dlq-source-offset"]))] += 1
    return seen
