"""What serving costs, before and after, measured side by side in one run on one machine.

    python bench/scoring.py [--events ../shared/data/fwaf-holdout.csv] [--json bench/results/scoring.json]
                            [--stream-events 60000] [--shares 0.01,0.3] [--repeats 2] [--latency-seconds 30]

"Before" is what serving ran until the ONNX export: the network on Keras/TensorFlow, the
strict reading of a message as first written, and a loop that commits each batch before it
polls the next. Every figure comes from this run; the JSON keeps them all.

1. **model only**: the bundled model's network on Keras and on ONNX Runtime over the same
   cleaned holdout texts and buckets, each in a process of its own: events/s (median of
   three rounds; two processes per runtime, alternating), the largest score difference and
   the verdicts that differ;
2. **a fresh process** per runtime: seconds from spawn until it imported the stream and
   scored its first event (the broker connection excluded), RSS then and its peak;
3. **decode and cleanup**, µs per event: the strict reading as first written (``json.loads``
   with hooks and a full depth walk, ``json.dumps`` per event) against today's;
4. **offline**: the seed's path (per-event ``json.loads`` and cleanup, every request padded
   to 1,024, ``predict(batch_size=128)`` on the reference ``lstm`` network; its model load
   excluded), and ``logsentry score`` as a whole process over four copies of the holdout
   (start-up included), on each runtime;
5. **stream**: one ``logsentry stream`` process draining a pre-filled 4-partition topic
   through a local broker on the same cores, at each attack share in ``--shares``, for each
   of before (Keras, sequential), ONNX sequential and ONNX pipelined (alternating, fresh
   consumer group each time); then alert latency with a live producer at half the drained
   rate.

Absolute numbers vary between machines (and between runs on a shared machine); the ratios
vary much less.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import Stream, local_broker, machine, metric, write_results  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.model_store.ingest.decode import DecodeLimits, parse_json_object  # noqa: E402
from logsentry.model_store.model.preprocessing import REFERENCE_MAX_LEN, CleanupSpec, clean  # noqa: E402
from logsentry.stream.tools.replay import read_values  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BEFORE, ONNX_SEQUENTIAL, ONNX_PIPELINED = "before (keras, sequential)", "onnx, sequential", "onnx, pipelined"
STREAM_CONFIGS = {
    BEFORE: ["--runtime", "keras", "--no-pipeline"],
    ONNX_SEQUENTIAL: ["--no-pipeline"],
    ONNX_PIPELINED: [],
}


# -- 1. model only ----------------------------------------------------------------------------
MODEL_ONLY = """
import json, statistics, sys, time
import numpy as np
from logsentry.model_store.bundled import bundled_store
from logsentry.model_store.ingest.decode import parse_json_object
from logsentry.model_store.model.preprocessing import clean
from logsentry.model_store.serving import load_detector
from logsentry.stream.tools.replay import read_values
from pathlib import Path

runtime, events, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
detector = load_detector(bundled_store(), runtime=runtime)
texts = [clean(parse_json_object(v.decode()), detector.preprocessing.cleanup) for v in read_values(events)]
detector.score_texts(texts[:2000])  # warm-up (Keras traces its function here)
seconds = []
for _ in range(3):
    started = time.perf_counter()
    scores = detector.score_texts(texts)
    seconds.append(time.perf_counter() - started)
np.save(out, scores)
print(json.dumps({"events": len(texts), "events_per_s": len(texts) / statistics.median(seconds)}))
"""


def model_only(events: Path, work: Path) -> dict[str, Any]:
    """Each runtime in a process of its own (as served: no other runtime's threads around)."""
    runs: dict[str, list[float]] = {"keras": [], "onnx": []}
    scores, count = {}, 0
    for runtime in ("keras", "onnx", "onnx", "keras"):  # alternating: the machine's drift hits both
        out = work / f"scores-{runtime}.npy"
        done = subprocess.run(
            [sys.executable, "-c", MODEL_ONLY, runtime, str(events), str(out)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        result = json.loads(done.stdout.splitlines()[-1])
        runs[runtime].append(result["events_per_s"])
        count = result["events"]
        scores[runtime] = np.load(out)
    rates = {runtime: statistics.mean(r) for runtime, r in runs.items()}
    threshold = bundled_store().manifest().threshold
    flips = int(np.count_nonzero((scores["keras"] >= threshold) != (scores["onnx"] >= threshold)))
    return {
        "events": count,
        "keras_events_per_s": rates["keras"],
        "onnx_events_per_s": rates["onnx"],
        "runs_events_per_s": runs,
        "ratio": rates["onnx"] / rates["keras"],
        "max_abs_score_difference": float(np.abs(scores["keras"] - scores["onnx"]).max()),
        "verdicts_changed": flips,
    }


# -- 2. a fresh process -----------------------------------------------------------------------
FRESH = """
import json, sys
from logsentry.model_store.bundled import bundled_store
from logsentry.model_store.serving import load_detector
import logsentry.stream.app  # everything the stream process imports
detector = load_detector(bundled_store(), runtime=sys.argv[1])
detector.score_events([{"method": "get", "path": "/", "query": {"q": "shoes"}}])
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"rss_mib": int(status["VmRSS"].split()[0]) / 1024, "peak_mib": int(status["VmHWM"].split()[0]) / 1024,
                  "tensorflow_loaded": "tensorflow" in sys.modules}), flush=True)
"""


def fresh_process(runtime: str, repeats: int = 3) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", FRESH, runtime], capture_output=True, text=True, check=True, cwd=ROOT
        )
        runs.append({"ready_s": time.perf_counter() - started, **json.loads(done.stdout.splitlines()[-1])})
    return {
        "ready_s": statistics.median(r["ready_s"] for r in runs),
        "ready_s_runs": [r["ready_s"] for r in runs],
        "rss_mib": statistics.median(r["rss_mib"] for r in runs),
        "peak_rss_mib": max(r["peak_mib"] for r in runs),
        "tensorflow_loaded": runs[0]["tensorflow_loaded"],
    }


# -- 3. decode and cleanup ----------------------------------------------------------------------
def _decode_as_first_written(value: bytes, cleanup: Any, limits: DecodeLimits) -> str:
    from logsentry.model_store.ingest.decode import _depth_exceeds, _no_constant, _unique_pairs

    obj = json.loads(value.decode("utf-8"), object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
    if _depth_exceeds(obj, limits.max_depth):
        raise ValueError("too deep")
    kept = {k: v for k, v in obj.items() if k not in cleanup.drop_fields}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def decode_cost(values: list[bytes]) -> dict[str, Any]:
    cleanup = bundled_store().manifest().preprocessing.cleanup
    limits = DecodeLimits()

    def now(value: bytes) -> str:
        return clean(parse_json_object(value.decode("utf-8"), limits), cleanup)

    def before(value: bytes) -> str:
        return _decode_as_first_written(value, cleanup, limits)

    assert all(now(v) == before(v) for v in values[:2000]), "both readings give the model the same text"
    seconds: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(3):
        for name, fn in (("before", before), ("now", now)):
            started = time.perf_counter()
            for v in values:
                fn(v)
            seconds[name].append(time.perf_counter() - started)
    us = {name: statistics.median(s) / len(values) * 1e6 for name, s in seconds.items()}
    return {
        "events": len(values),
        "before_us_per_event": us["before"],
        "now_us_per_event": us["now"],
        "ratio": us["before"] / us["now"],
    }


# -- 4. offline -----------------------------------------------------------------------------------
def seed_path(values: list[bytes]) -> dict[str, Any]:
    """The seed's offline scoring: per-event Python, the whole request cleaned as the reference
    did, padded to 1,024, ``predict(batch_size=128)`` on the reference lstm (whatever the bundled
    model reads: the seed is the notebook's recipe)."""
    from logsentry.trainer.architectures import get_architecture

    tokenizer, cleanup = bundled_store().manifest().preprocessing.tokenizer, CleanupSpec()
    model = get_architecture("lstm").build(tokenizer.input_dim, REFERENCE_MAX_LEN)  # loaded before the clock
    model.predict(tokenizer.encode(["{}"] * 128, width=REFERENCE_MAX_LEN), batch_size=128, verbose=0)
    started = time.perf_counter()
    texts = [clean(json.loads(v), cleanup) for v in values]
    ids = tokenizer.encode(texts, width=REFERENCE_MAX_LEN)
    model.predict(ids, batch_size=128, verbose=0)
    seconds = time.perf_counter() - started
    return {"events": len(values), "events_per_s": len(values) / seconds}


# the CLI's own main, then the process's memory high-water mark (VmHWM: of this process image
# only; a child's ru_maxrss would include the forking parent's)
SCORE = """
import sys
from logsentry.cli import main
code = main(sys.argv[1:])
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print("peak_rss_kib", int(status["VmHWM"].split()[0]), file=sys.stderr)
raise SystemExit(code)
"""


def score_process(lines: Path, runtime: str, events: int, store: Path | None = None) -> dict[str, Any]:
    """``logsentry score`` as a user runs it: a whole process, start-up included; its peak RSS.
    The bundled model, or the current version of ``store``."""
    started = time.perf_counter()
    chosen = ["--store", str(store)] if store is not None else []
    with open(os.devnull, "w") as out:
        done = subprocess.run(
            [sys.executable, "-c", SCORE, "score", "--runtime", runtime, *chosen, str(lines)],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak_rss_kib"))
    return {
        "events": events,
        "seconds": seconds,
        "events_per_s": events / seconds,
        "peak_rss_mib": peak / 1024,
    }


# -- 5. stream ------------------------------------------------------------------------------------
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


def drain(
    bootstrap: str, topic: str, group: str, store: Path, work: Path, extra: list[str], n: int
) -> dict[str, float]:
    stream = Stream(bootstrap, topic, group, store, work, extra)
    try:
        while stream.consumed() < 1:
            time.sleep(0.02)
        t0, c0 = time.perf_counter(), stream.consumed()
        deadline = time.monotonic() + 900
        while (done := stream.consumed()) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{group} consumed {done:.0f} of {n} in 15 minutes")
            time.sleep(_until_next_look(done - c0, n - done, time.perf_counter() - t0))
        rate = (done - c0) / (time.perf_counter() - t0)
        flagged = metric(stream.port, "logsentry_events_flagged_total")
        skipped = metric(stream.port, "logsentry_explanations_skipped_total")
        explaining = metric(stream.port, "logsentry_explain_duration_seconds_sum")
    finally:
        peak = stream.stop()
    return {
        "events_per_s": rate,
        "peak_rss_mib": peak,
        "flagged": flagged,
        "explanations_skipped": skipped,
        "explain_seconds": explaining,
    }


def _until_next_look(done: float, left: float, seconds: float) -> float:
    """How long to wait before reading the stream's metrics again: a quarter of the time the rest
    should take, so the end is seen within ~1 % of the drain without scraping the stream (its
    HTTP thread shares the stream's cores) twenty times a second."""
    rate = max(done / max(seconds, 1e-3), 1_000.0)
    return min(0.5, max(0.01, 0.25 * left / rate))


def latency(
    bootstrap: str,
    topic: str,
    store: Path,
    work: Path,
    values: list[bytes],
    rate: float,
    seconds: float,
    extra: Sequence[str] = (),
    name: str = "",
) -> dict[str, float]:
    """Alert latency at a steady ``rate`` for ``seconds``, and how long the stream takes to
    consume everything once the producer has stopped (its lag back to 0)."""
    from kafka import KafkaConsumer

    group = f"latency-{topic}{name}"
    stream = Stream(bootstrap, topic, group, store, work, list(extra))
    try:
        while metric(stream.port, "logsentry_assigned_partitions") < 1:  # joined: the first events are read
            time.sleep(0.05)
        steady = (values * (int(rate * seconds) // len(values) + 1))[: int(rate * seconds)]
        before = stream.consumed()
        producer = threading.Thread(target=_produce, args=(bootstrap, topic, steady, rate))
        producer.start()
        producer.join()
        stopped = time.perf_counter()
        while stream.consumed() - before < len(steady):
            time.sleep(0.02)
        catch_up = time.perf_counter() - stopped
        skipped = metric(stream.port, "logsentry_explanations_skipped_total")
    finally:
        stream.stop()
    consumer = KafkaConsumer(
        f"alerts-{group}", bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    delays = [(r.timestamp - json.loads(r.value)["source"]["timestamp"]) / 1000 for r in consumer]
    consumer.close()
    p50, p95, p99 = np.percentile(delays, [50, 95, 99]) if delays else (float("nan"),) * 3
    return {
        "rate_events_per_s": rate,
        "events": len(steady),
        "alerts": len(delays),
        "p50_s": float(p50),
        "p95_s": float(p95),
        "p99_s": float(p99),
        "lag_zero_after_stop_s": catch_up,
        "explanations_skipped": skipped,
    }


def with_share(values: list[bytes], labels: np.ndarray, share: float, n: int, seed: int = 1) -> list[bytes]:
    benign = [v for v, y in zip(values, labels, strict=True) if y == 0]
    attacks = [v for v, y in zip(values, labels, strict=True) if y == 1]
    rng = random.Random(seed)
    return [rng.choice(attacks) if rng.random() < share else rng.choice(benign) for _ in range(n)]


def streams(values: list[bytes], labels: np.ndarray, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from kafka.admin import KafkaAdminClient, NewTopic

    store = bundled_store().root
    out: dict[str, Any] = {}
    with local_broker(work) as bootstrap:
        for share in args.shares:
            tag = f"{share:g}".replace(".", "_")
            topic = f"bench-{tag}"
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            admin.create_topics([NewTopic(topic, 4, 1), NewTopic(f"live-{tag}", 4, 1)])
            admin.close()
            backlog = with_share(values, labels, share, args.stream_events)
            _produce(bootstrap, topic, backlog)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in STREAM_CONFIGS}
            for repeat in range(args.repeats):
                order = list(STREAM_CONFIGS) if repeat % 2 == 0 else list(reversed(STREAM_CONFIGS))
                for name in order:
                    group = f"g-{tag}-{list(STREAM_CONFIGS).index(name)}-{repeat}"  # a fresh group each time
                    result = drain(bootstrap, topic, group, store, work, STREAM_CONFIGS[name], len(backlog))
                    runs[name].append(result)
                    print(f"share {share:g} {name}: {result['events_per_s']:,.0f} events/s", flush=True)
            rates = {name: statistics.median(r["events_per_s"] for r in rs) for name, rs in runs.items()}
            live = latency(
                bootstrap,
                f"live-{tag}",
                store,
                work,
                with_share(values, labels, share, 20_000, seed=2),
                rates[ONNX_PIPELINED] / 2,
                args.latency_seconds,
            )
            print(f"share {share:g} latency: {live}", flush=True)
            out[f"{share:g}"] = {
                "attack_share": share,
                "events": len(backlog),
                "drain_events_per_s": rates,
                "drain_runs": runs,
                "peak_rss_mib": {name: max(r["peak_rss_mib"] for r in rs) for name, rs in runs.items()},
                "pipeline_gain": rates[ONNX_PIPELINED] / rates[ONNX_SEQUENTIAL],
                "after_over_before": rates[ONNX_PIPELINED] / rates[BEFORE],
                "live": live,
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--stream-events", type=int, default=60_000)
    parser.add_argument("--shares", type=lambda s: [float(x) for x in s.split(",")], default=[0.01, 0.3])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--latency-seconds", type=float, default=30)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "scoring.json")
    args = parser.parse_args()

    values = list(read_values(args.events))
    labels = read_labelled_csv(args.events).labels
    results: dict[str, Any] = {"machine": machine(), "events_file": args.events.name}
    with tempfile.TemporaryDirectory(prefix="logsentry-bench-") as tmp:
        work = Path(tmp)
        results["model_only"] = model_only(args.events, work)
        print(f"model only: {results['model_only']}", flush=True)
        results["fresh_process"] = {runtime: fresh_process(runtime) for runtime in ("keras", "onnx")}
        print(f"fresh process: {results['fresh_process']}", flush=True)
        results["decode"] = decode_cost(values)
        print(f"decode: {results['decode']}", flush=True)
        lines = work / "requests.jsonl"
        copies = 4
        with lines.open("wb") as handle:
            for _ in range(copies):
                handle.writelines(v + b"\n" for v in values)
        results["offline"] = {
            "seed_path": seed_path(values[:15_000]),
            **{runtime: score_process(lines, runtime, len(values) * copies) for runtime in ("keras", "onnx")},
        }
        off = results["offline"]
        off["onnx_over_seed"] = off["onnx"]["events_per_s"] / off["seed_path"]["events_per_s"]
        off["keras_over_seed"] = off["keras"]["events_per_s"] / off["seed_path"]["events_per_s"]
        print(f"offline: {off}", flush=True)
        if not args.skip_stream:
            results["stream"] = streams(values, labels, args, work)
            for share in results["stream"].values():
                share["after_over_seed_offline"] = (
                    share["drain_events_per_s"][ONNX_PIPELINED] / off["seed_path"]["events_per_s"]
                )
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    m, f, d, off = results["model_only"], results["fresh_process"], results["decode"], results["offline"]
    lines = [
        f"machine: {results['machine']}",
        "| measure | before | after | ratio |",
        "|---|---|---|---|",
        f"| model only, events/s (Keras → ONNX Runtime) | {m['keras_events_per_s']:,.0f} "
        f"| {m['onnx_events_per_s']:,.0f} | {m['ratio']:.2f}x |",
        f"| largest score difference; verdicts changed | | {m['max_abs_score_difference']:.1e}; "
        f"{m['verdicts_changed']} | |",
        f"| fresh process ready to score, s | {f['keras']['ready_s']:.2f} | {f['onnx']['ready_s']:.2f} | |",
        f"| RSS after load (peak), MiB | {f['keras']['rss_mib']:.0f} ({f['keras']['peak_rss_mib']:.0f}) "
        f"| {f['onnx']['rss_mib']:.0f} ({f['onnx']['peak_rss_mib']:.0f}) | |",
        f"| decode and cleanup, µs per event | {d['before_us_per_event']:.1f} | {d['now_us_per_event']:.1f} "
        f"| {d['ratio']:.2f}x |",
        f"| seed's offline path, events/s (model load excluded) | {off['seed_path']['events_per_s']:,.0f} | | |",
        f"| `logsentry score`, whole process over {off['onnx']['events']:,} events, events/s "
        f"| {off['keras']['events_per_s']:,.0f} | {off['onnx']['events_per_s']:,.0f} "
        f"| {off['keras_over_seed']:.1f}x → {off['onnx_over_seed']:.1f}x the seed |",
        f"| `logsentry score` peak RSS, MiB | {off['keras']['peak_rss_mib']:.0f} "
        f"| {off['onnx']['peak_rss_mib']:.0f} | |",
    ]
    for share in results.get("stream", {}).values():
        r = share["drain_events_per_s"]
        lines += [
            f"| stream draining, {share['attack_share']:.0%} attacks, events/s: before / ONNX sequential / "
            f"ONNX pipelined | {r[BEFORE]:,.0f} | {r[ONNX_SEQUENTIAL]:,.0f} / {r[ONNX_PIPELINED]:,.0f} "
            f"| {share['after_over_before']:.2f}x; pipeline {share['pipeline_gain']:.2f}x; "
            f"{share['after_over_seed_offline']:.1f}x the seed offline |",
            f"| stream peak RSS, {share['attack_share']:.0%} attacks, MiB | {share['peak_rss_mib'][BEFORE]:.0f} "
            f"| {share['peak_rss_mib'][ONNX_PIPELINED]:.0f} | |",
            f"| alert latency p50 / p95 / p99 s at {share['live']['rate_events_per_s']:,.0f} events/s, "
            f"{share['attack_share']:.0%} attacks | | {share['live']['p50_s']:.3f} / {share['live']['p95_s']:.3f} / "
            f"{share['live']['p99_s']:.3f} | |",
        ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
