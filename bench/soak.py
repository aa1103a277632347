"""Soak: a steady stream with a consumer SIGKILL, a broker restart and a model promotion.

    python bench/soak.py [--minutes 10] [--rate 300] [--json bench/results/soak.json]

Starts its own broker (deploy/kafka/kafka-local) and model store (trained on generated
data), runs one ``logsentry stream`` process, produces at a steady rate and, at 25 %, 50 %
and 75 % of the run, kills the detector with SIGKILL (and restarts it), restarts the broker
(down for 15 s), and promotes a new model version (same weights, new version id, so the
expected alerts stay well defined). Then it reports events in, alerts out, lost flagged
events (must be 0), duplicate alerts, and alert latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

KAFKA_LOCAL = ROOT / "deploy" / "kafka" / "kafka-local"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def republish(store_root: Path) -> str:
    """Publish the current model again under a new version id (identical scores)."""
    from logsentry.model_store.manifest import Manifest
    from logsentry.model_store.store import MODEL_FILE, ModelStore

    store = ModelStore(store_root)
    source = store.path("current")
    manifest = store.manifest()
    with store.new_version() as draft:
        shutil.copy(source / MODEL_FILE, draft.path / MODEL_FILE)
        data = manifest.to_dict() | {"version": draft.version, "created_at": draft.created_at}
        draft.manifest = Manifest.from_dict(data)
    return draft.version


def main() -> int:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    from logsentry.model_store.serving import load_detector
    from logsentry.model_store.store import ModelStore
    from logsentry.trainer.generate import generate_events, write_csv
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--json", type=Path, default=Path("bench/results/soak.json"))
    args = parser.parse_args()
    duration = args.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="logsentry-soak-"))
    port, controller = _free_port(), _free_port()
    bootstrap = f"127.0.0.1:{port}"
    kafka = [str(KAFKA_LOCAL), "--port", str(port), "--controller-port", str(controller), "--dir", str(work / "kafka")]

    def broker(action: str, *extra: str) -> None:
        subprocess.run([kafka[0], action, *kafka[1:], *extra], check=True, capture_output=True)

    store = work / "models"
    write_csv(work / "train.csv", 6000, seed=1)
    train(TrainSettings(data=(work / "train.csv",), store=store, verbose=0))
    broker("start")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("requests", 4, 1), NewTopic("logsentry-alerts", 3, 1)])
    admin.close()

    metrics_port = _free_port()
    log = open(work / "stream.log", "a")  # noqa: SIM115 - lives as long as the run

    def start_stream() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "logsentry",
                "stream",
                "--bootstrap-servers",
                bootstrap,
                "--topics",
                "requests",
                "--store",
                str(store),
                "--metrics-port",
                str(metrics_port),
                "--reload-interval-s",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    total = int(duration * args.rate)
    values = [
        json.dumps(e, separators=(",", ":")).encode() for e, _ in generate_events(total, seed=2, attack_share=0.1)
    ]
    sent: list[tuple[bytes, int, int]] = []  # value, partition, offset

    def producer() -> None:
        p = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            retries=1000,
            delivery_timeout_ms=300_000,
            request_timeout_ms=20_000,
            max_block_ms=300_000,
        )
        started = time.monotonic()
        futures = []
        for i, value in enumerate(values):
            delay = started + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append((value, p.send("requests", value=value)))
        p.flush()
        for value, f in futures:
            meta = f.get(timeout=300)
            sent.append((value, meta.partition, meta.offset))
        p.close()

    stream = start_stream()
    events_log = []
    thread = threading.Thread(target=producer)
    started = time.monotonic()
    thread.start()
    time.sleep(duration * 0.25)
    stream.send_signal(signal.SIGKILL)
    stream.wait()
    events_log.append(f"{time.monotonic() - started:.0f}s detector killed with SIGKILL and restarted")
    stream = start_stream()
    time.sleep(duration * 0.25)
    broker("stop")
    events_log.append(f"{time.monotonic() - started:.0f}s broker stopped for 15 s")
    time.sleep(15)
    broker("start")
    events_log.append(f"{time.monotonic() - started:.0f}s broker restarted")
    time.sleep(max(0.0, started + duration * 0.75 - time.monotonic()))
    version = republish(store)
    ModelStore(store).promote(version)
    events_log.append(f"{time.monotonic() - started:.0f}s promoted {version}")
    thread.join()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="logsentry", enable_auto_commit=False)
    from kafka.structs import TopicPartition

    tps = [TopicPartition("requests", p) for p in range(4)]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ends = consumer.end_offsets(tps)
        done = {tp: (consumer.committed(tp) or 0) for tp in tps}
        if all(done[tp] >= ends[tp] for tp in tps):
            break
        time.sleep(2)
    consumer.close()
    stream.send_signal(signal.SIGTERM)
    exit_code = stream.wait(60)

    detector = load_detector(ModelStore(store))
    scores = detector.score_events([json.loads(v) for v, _, _ in sent])
    expected = {(p, o) for (_, p, o), s in zip(sent, scores, strict=True) if s >= detector.threshold}
    reader = KafkaConsumer(
        "logsentry-alerts", bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=10_000
    )
    seen: dict[tuple[int, int], int] = {}
    latencies = []
    versions: set[str] = set()
    for record in reader:
        alert = json.loads(record.value)
        key = (alert["source"]["partition"], alert["source"]["offset"])
        seen[key] = seen.get(key, 0) + 1
        latencies.append((record.timestamp - alert["source"]["timestamp"]) / 1000)
        versions.add(alert["model_version"])
    reader.close()
    broker("stop")
    p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (float("nan"),) * 2
    report = {
        "minutes": args.minutes,
        "rate": args.rate,
        "events_in": len(sent),
        "flagged_expected": len(expected),
        "alerts_out": sum(seen.values()),
        "lost": len(expected - set(seen)),
        "unexpected": len(set(seen) - expected),
        "duplicates": sum(n - 1 for n in seen.values()),
        "alert_latency_p50_s": float(p50),
        "alert_latency_p99_s": float(p99),
        "model_versions_in_alerts": len(versions),
        "detector_exit_code": exit_code,
        "timeline": events_log,
    }
    print(json.dumps(report, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if report["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
