"""What explanations cost: the stream with and without them, side by side in one run.

    python bench/explain.py [--events ../shared/data/fwaf-holdout.csv] [--json bench/results/explain.json]
                            [--stream-events 60000] [--shares 0.01,0.3] [--repeats 3]

1. **core**: :func:`stream.processor.process_batch` (decode, clean, score, explain, build
   records) on 1,024-message batches in this process, explained and not, alternating;
   µs per event and the extra model rows per flagged request;
2. **stream**: one ``logsentry stream`` process draining a pre-filled 4-partition topic
   through a local broker on the same cores, with explanations (the default) and with
   ``--no-explain``, alternating, a fresh consumer group each time; events/s (median of
   ``--repeats``) and the share of events flagged.

The target of the explanations issue: at 1 % flagged, at most 15 % fewer events/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import local_broker, machine, write_results  # noqa: E402
from bench.scoring import SHARED, _produce, drain, with_share  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.model_store.scoring import load_detector  # noqa: E402
from logsentry.stream.processor import process_batch  # noqa: E402
from logsentry.stream.records import Message  # noqa: E402
from logsentry.stream.replay import read_values  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402

CONFIGS = {"explained": [], "not explained": ["--no-explain"]}


class _Counting:
    """The detector, counting the rows it scores."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detector, name)

    def score_texts(self, texts: Any) -> np.ndarray:
        self.rows += len(texts)
        return self.detector.score_texts(texts)  # type: ignore[no-any-return]


def core(values: list[bytes], repeats: int) -> dict[str, Any]:
    detector = _Counting(load_detector(bundled_store()))
    messages = [Message("logs", 0, i, 0, None, v) for i, v in enumerate(values)]
    batches = [messages[i : i + 1024] for i in range(0, len(messages), 1024)]
    seconds: dict[str, list[float]] = {"explained": [], "not explained": []}
    flagged = rows = 0
    for repeat in range(repeats * 2):
        explained = repeat % 2 == 0
        detector.rows = 0
        started = time.perf_counter()
        alerts = sum(len(process_batch(b, detector, alert_topic="a", dead_letter_topic="d",
                                       explained=explained).alerts) for b in batches)  # fmt: skip
        seconds["explained" if explained else "not explained"].append(time.perf_counter() - started)
        if explained:
            flagged, rows = alerts, detector.rows - len(values)
    us = {name: statistics.median(s) / len(values) * 1e6 for name, s in seconds.items()}
    return {
        "events": len(values),
        "flagged": flagged,
        "us_per_event": us,
        "extra_rows_per_flagged": rows / max(1, flagged),
        "cost": us["explained"] / us["not explained"] - 1,
    }


def stream(values: list[bytes], labels: np.ndarray, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from kafka.admin import KafkaAdminClient, NewTopic

    store = bundled_store().root
    out: dict[str, Any] = {}
    with local_broker(work) as bootstrap:
        for share in args.shares:
            tag = f"{share:g}".replace(".", "_")
            topic = f"explain-{tag}"
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            admin.create_topics([NewTopic(topic, 4, 1)])
            admin.close()
            backlog = with_share(values, labels, share, args.stream_events)
            _produce(bootstrap, topic, backlog)
            runs: dict[str, list[float]] = {name: [] for name in CONFIGS}
            flagged_share = 0.0
            for repeat in range(args.repeats):
                for name in CONFIGS if repeat % 2 == 0 else reversed(CONFIGS):
                    group = f"g-{tag}-{name.replace(' ', '-')}-{repeat}"
                    result = drain(bootstrap, topic, group, store, work, CONFIGS[name], len(backlog))
                    rate, flagged = result["events_per_s"], result["flagged"]
                    runs[name].append(rate)
                    flagged_share = flagged / len(backlog)
                    print(f"share {share:g} {name}: {rate:,.0f} events/s", flush=True)
            rates = {name: statistics.median(r) for name, r in runs.items()}
            out[f"{share:g}"] = {
                "attack_share": share,
                "flagged_share": flagged_share,
                "events": len(backlog),
                "drain_events_per_s": rates,
                "drain_runs": runs,
                "throughput_cost": 1 - rates["explained"] / rates["not explained"],
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--stream-events", type=int, default=60_000)
    parser.add_argument("--shares", type=lambda s: [float(x) for x in s.split(",")], default=[0.01, 0.3])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "explain.json")
    args = parser.parse_args()

    values = list(read_values(args.events))
    labels = read_labelled_csv(args.events).labels
    results: dict[str, Any] = {"machine": machine(), "events_file": args.events.name, "core": {}}
    for share in args.shares:
        results["core"][f"{share:g}"] = core(with_share(values, labels, share, 20_000, seed=3), args.repeats)
        print(f"core {share:g}: {results['core'][f'{share:g}']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="logsentry-bench-") as tmp:
        results["stream"] = stream(values, labels, args, Path(tmp))
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    lines = [f"machine: {results['machine']}", "",
             "| attack share | flagged | core µs/event, explained / not | core cost | extra rows per alert "
             "| stream events/s, explained / not | stream cost |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for share, s in results["stream"].items():
        c = results["core"][share]
        r = s["drain_events_per_s"]
        lines.append(
            f"| {float(share):.0%} | {s['flagged_share']:.1%} | {c['us_per_event']['explained']:.0f} / "
            f"{c['us_per_event']['not explained']:.0f} | {c['cost']:+.1%} | {c['extra_rows_per_flagged']:.0f} "
            f"| {r['explained']:,.0f} / {r['not explained']:,.0f} | {-s['throughput_cost']:+.1%} |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
