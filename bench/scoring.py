"""Scoring throughput, end-to-end stream throughput and latency, training time, memory.

    python bench/scoring.py [--data ../shared/data/fwaf-access.csv] [--events ../shared/data/fwaf-holdout.csv]
                            [--json bench/results/scoring.json] [--skip-stream]
                            [--stream-events 120000] [--batch-sizes 256,1024,4096] [--latency-seconds 30]

Everything is measured in this one run on this machine, side by side:

1. offline scoring, raw JSON bytes to scores, of the *reference path* (per-event json.loads
   and cleanup, every request padded to 1,024, Keras ``predict`` in batches of 128, the
   reference ``lstm`` model) and of logsentry's path (``model_store.formats`` + the shared
   ``Detector``, its default model), on the same events, in a fresh process; and the ratio;
2. end to end through a real local broker: events/s one ``logsentry stream`` process
   sustains on a pre-filled topic, for each batch size in ``--batch-sizes``, then alert
   latency (alert's Kafka timestamp minus the event's) at a steady load of half the rate
   sustained with the default batch size;
3. training wall time and accuracy of ``lstm`` and the default on the training data;
4. peak RSS of the stream process.

Absolute numbers vary between machines; the ratios vary much less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import free_port, metric  # noqa: E402
from logsentry.model_store.formats import decode_event  # noqa: E402
from logsentry.model_store.preprocessing import clean  # noqa: E402
from logsentry.model_store.scoring import load_detector  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.stream.replay import read_values  # noqa: E402
from logsentry.stream.settings import StreamSettings  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402
from logsentry.trainer.evaluation import evaluate  # noqa: E402
from logsentry.trainer.settings import TrainSettings  # noqa: E402
from logsentry.trainer.training import train  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
KAFKA_LOCAL = ROOT / "deploy" / "kafka" / "kafka-local"


def reference_scores(store: Path, values: list[bytes]) -> np.ndarray:
    """The reference recipe's scoring: per-event Python, pad to 1,024, predict(batch_size=128)."""
    detector = load_detector(ModelStore(store))
    tokenizer = detector.preprocessing.tokenizer
    cleanup = detector.preprocessing.cleanup
    texts = [clean(json.loads(v), cleanup) for v in values]
    ids = tokenizer.encode(texts, width=tokenizer.max_len)
    return detector.model.predict(ids, batch_size=128, verbose=0).reshape(-1)


def logsentry_scores(detector, values: list[bytes], batch: int = 4096) -> np.ndarray:
    """logsentry's path, as the stream runs it: strict decode, shared cleanup, bucketed scoring."""
    cleanup = detector.preprocessing.cleanup
    out = []
    for i in range(0, len(values), batch):
        texts = [clean(decode_event(v), cleanup) for v in values[i : i + batch]]
        out.append(detector.score_texts(texts))
    return np.concatenate(out)


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def offline(stores: dict[str, Path], events_csv: Path) -> dict[str, float]:
    logs = read_labelled_csv(events_csv)
    values = list(read_values(events_csv))
    detector = load_detector(ModelStore(stores["default"]))
    logsentry_scores(detector, values[:2000])  # warm-up: traces the compiled function
    reference_scores(stores["lstm"], values[:256])
    ref, ref_s = timed(reference_scores, stores["lstm"], values)
    ours, ours_s = timed(logsentry_scores, detector, values)
    ref_detector = load_detector(ModelStore(stores["lstm"]))
    return {
        "events": len(values),
        "reference_events_per_s": len(values) / ref_s,
        "logsentry_events_per_s": len(values) / ours_s,
        "ratio": ref_s / ours_s,
        "reference_accuracy": evaluate(logs.labels, ref, ref_detector.threshold).accuracy,
        "logsentry_accuracy": evaluate(logs.labels, ours, detector.threshold).accuracy,
    }


def offline_in_fresh_process(stores: dict[str, Path], events_csv: Path) -> dict[str, float]:
    """``offline`` in a new interpreter, as ``logsentry score`` and the stream run.

    Training switches on TensorFlow's op determinism for the whole process, which made the
    reference path's ``predict`` about half as fast (measured 1,406 vs 2,312 events/s) and
    would flatter the ratio.
    """
    done = subprocess.run(
        [sys.executable, __file__, "--offline-stores", str(stores["lstm"]), str(stores["default"]),
         "--events", str(events_csv)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _produce(bootstrap: str, topic: str, values: list[bytes], rate: float = 0.0) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=524_288)
    started = time.monotonic()
    for i, value in enumerate(values):
        if rate > 0 and i % 50 == 0:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.send(topic, value=value)
    producer.flush()
    producer.close()


def end_to_end(
    store: Path, events_csv: Path, n_events: int, latency_seconds: float, batch_sizes: list[int], latency_batch: int
) -> dict[str, object]:
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient, NewTopic

    values = list(read_values(events_csv))
    values = (values * (n_events // len(values) + 1))[:n_events]
    work = Path(tempfile.mkdtemp(prefix="logsentry-bench-"))
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    subprocess.run([str(KAFKA_LOCAL), "start", "--port", str(port), "--controller-port", str(free_port()),
                    "--dir", str(work / "kafka")], check=True, capture_output=True)  # fmt: skip
    stream = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic("bench", 4, 1), NewTopic("bench-latency", 4, 1)])
        admin.close()
        _produce(bootstrap, "bench", values)
        metrics_port = free_port()

        def start(topic: str, group: str, batch_size: int) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "logsentry", "stream", "--bootstrap-servers", bootstrap, "--topics", topic,
                 "--group-id", group, "--store", str(store), "--metrics-port", str(metrics_port),
                 "--alert-topic", f"alerts-{group}", "--batch-size", str(batch_size)],
                stdout=subprocess.DEVNULL, stderr=open(work / f"stream-{group}.log", "w"), cwd=ROOT,
            )  # fmt: skip

        def wait_healthy() -> None:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=1):
                        return
                except OSError:
                    time.sleep(0.1)
            raise RuntimeError("stream did not become healthy")

        # 1) sustained throughput on the pre-filled topic, one fresh group per batch size
        sustained: dict[int, float] = {}
        rss_mb = 0.0
        for batch_size in batch_sizes:
            stream = start("bench", f"g-bench-{batch_size}", batch_size)
            wait_healthy()
            while metric(metrics_port, "logsentry_events_consumed_total") < 1:
                time.sleep(0.05)
            t0, c0 = time.perf_counter(), metric(metrics_port, "logsentry_events_consumed_total")
            while (done := metric(metrics_port, "logsentry_events_consumed_total")) < n_events:
                time.sleep(0.1)
            sustained[batch_size] = (done - c0) / (time.perf_counter() - t0)
            rss_mb = max(rss_mb, _peak_rss_mb(stream.pid))
            stream.send_signal(signal.SIGTERM)
            stream.wait(60)
            stream = None
            print(f"sustained batch_size={batch_size}: {sustained[batch_size]:,.0f} events/s", flush=True)

        # 2) latency at half the rate sustained with the default batch size
        stream = start("bench-latency", "g-latency", latency_batch)
        wait_healthy()
        rate = sustained.get(latency_batch, max(sustained.values())) / 2
        steady = (values * (int(rate * latency_seconds) // len(values) + 1))[: int(rate * latency_seconds)]
        count = len(steady)
        producer = threading.Thread(target=_produce, args=(bootstrap, "bench-latency", steady, rate))
        producer.start()
        producer.join()
        while metric(metrics_port, "logsentry_events_consumed_total") < count:
            time.sleep(0.1)
        rss_mb = max(rss_mb, _peak_rss_mb(stream.pid))
        consumer = KafkaConsumer("alerts-g-latency", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000)  # fmt: skip
        latencies = [(r.timestamp - json.loads(r.value)["source"]["timestamp"]) / 1000 for r in consumer]
        consumer.close()
        stream.send_signal(signal.SIGTERM)
        stream.wait(60)
        stream = None
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if latencies else (float("nan"),) * 3
        return {
            "events": n_events,
            "sustained_events_per_s_by_batch_size": sustained,
            "sustained_events_per_s": sustained.get(latency_batch, max(sustained.values())),
            "batch_size": latency_batch,
            "latency_rate_events_per_s": rate,
            "latency_alerts": len(latencies),
            "latency_p50_s": float(p50),
            "latency_p95_s": float(p95),
            "latency_p99_s": float(p99),
            "stream_peak_rss_mb": rss_mb,
        }
    finally:
        if stream is not None:
            stream.kill()
        subprocess.run([str(KAFKA_LOCAL), "stop", "--dir", str(work / "kafka")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--stream-events", type=int, default=120_000)
    parser.add_argument("--batch-sizes", default="256,1024,4096", help="sustained throughput is measured for each")
    parser.add_argument("--latency-seconds", type=float, default=30)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--offline-stores", nargs=2, type=Path, help=argparse.SUPPRESS)  # LSTM_STORE DEFAULT_STORE
    parser.add_argument("--json", type=Path, default=Path("bench/results/scoring.json"))
    args = parser.parse_args()
    if args.offline_stores:
        print(json.dumps(offline({"lstm": args.offline_stores[0], "default": args.offline_stores[1]}, args.events)))
        return 0
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    }
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"lstm": Path(tmp) / "lstm", "default": Path(tmp) / "default"}
        training = {}
        for name, arch in (("lstm", "lstm"), ("default", "conv-lstm")):
            r = train(TrainSettings(data=(args.data,), store=stores[name], architecture=arch, verbose=0))
            training[name] = {"seconds": r.train_seconds, "test_accuracy": r.evaluations["test"].accuracy}
            print(f"trained {name}: {training[name]}", flush=True)
        results["training"] = training | {"ratio": training["default"]["seconds"] / training["lstm"]["seconds"]}
        results["offline"] = offline_in_fresh_process(stores, args.events)
        print(f"offline: {results['offline']}", flush=True)
        if not args.skip_stream:
            results["stream"] = end_to_end(
                stores["default"],
                args.events,
                args.stream_events,
                args.latency_seconds,
                [int(b) for b in args.batch_sizes.split(",")],
                StreamSettings.batch_size,
            )
            print(f"stream: {results['stream']}", flush=True)
    off = results["offline"]
    tr = results["training"]
    lines = [
        f"machine: {results['machine']}",
        "| measure | reference | logsentry | ratio |",
        "|---|---|---|---|",
        f"| offline scoring, events/s | {off['reference_events_per_s']:,.0f} | {off['logsentry_events_per_s']:,.0f} "
        f"| {off['ratio']:.1f}x |",
        f"| accuracy of the timed model, holdout | {off['reference_accuracy']:.4f} "
        f"| {off['logsentry_accuracy']:.4f} | |",
        f"| accuracy of the timed model, test split | {tr['lstm']['test_accuracy']:.4f} "
        f"| {tr['default']['test_accuracy']:.4f} | |",
        f"| training wall time, s | {tr['lstm']['seconds']:.1f} | {tr['default']['seconds']:.1f} | {tr['ratio']:.0%} |",
    ]
    if "stream" in results:
        s = results["stream"]
        lines += [
            f"| stream sustained, events/s (1 process, batch size {b}) | | {v:,.0f} | |"
            for b, v in s["sustained_events_per_s_by_batch_size"].items()
        ]
        lines += [
            f"| alert latency at {s['latency_rate_events_per_s']:,.0f} events/s, p50 / p95 / p99 s | | "
            f"{s['latency_p50_s']:.3f} / {s['latency_p95_s']:.3f} / {s['latency_p99_s']:.3f} | |",
            f"| stream peak RSS, MiB | | {s['stream_peak_rss_mb']:,.0f} | |",
        ]
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
