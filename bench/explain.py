"""What explanations cost: the stream with and without them, side by side in one run.

    python bench/explain.py [--events ../shared/data/fwaf-holdout.csv] [--json bench/results/explain.json]
                            [--stream-events 40000] [--shares 0.01,0.3,0.7,1] [--repeats 3]
                            [--rate 2500] [--seconds 60] [--live-share 0.7]

1. **core**: :func:`stream.processor.process_batch` (decode, clean, score, explain, build
   records) on 1,024-message batches in this process, every alert explained and none,
   alternating; µs per event and the extra model rows per flagged request;
2. **stream**: one ``logsentry stream`` process draining a pre-filled 4-partition topic
   through a local broker on the same cores, in three configurations, rotating, a fresh
   consumer group each time: the default (explanations within their budget, 10 % of the
   loop's time), every alert explained (``--explain-budget 1``) and ``--no-explain``;
   events/s (median of ``--repeats``), the share flagged, the alerts left unexplained;
3. **live**: a producer at a steady ``--rate`` for ``--seconds`` with ``--live-share``
   attacks, each configuration in turn: alert latency (p50, p99) and how long after the
   producer stopped the stream had consumed everything (its lag back to 0).

Targets of the stream-under-attack issue: draining the attack-heavy mix with explanations
(the default) at least 0.85 times the rate without them; at 2,500 events/s with 70 %
attacks, p99 alert latency at most 1 s and lag back to 0 within 5 s of the producer stopping.
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
from bench.scoring import SHARED, _produce, drain, latency, seed_path, with_share  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.model_store.serving import load_detector  # noqa: E402
from logsentry.stream.processor import process_batch  # noqa: E402
from logsentry.stream.records import Message  # noqa: E402
from logsentry.stream.tools.replay import read_values  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402

CONFIGS = {"budget": [], "every alert": ["--explain-budget", "1"], "not explained": ["--no-explain"]}


class _Counting:
    """The detector, counting the units (a request's values, for a model that reads values) it scores."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.detector, name)

    def score_texts(self, texts: Any) -> np.ndarray:
        self.rows += len(set(self.detector.preprocessing.units(texts)[0]))
        return self.detector.score_texts(texts)  # type: ignore[no-any-return]

    def score_units(self, units: Any) -> np.ndarray:
        self.rows += len(set(units))
        return self.detector.score_units(units)  # type: ignore[no-any-return]


def core(values: list[bytes], repeats: int) -> dict[str, Any]:
    detector = _Counting(load_detector(bundled_store()))
    messages = [Message("logs", 0, i, 0, None, v) for i, v in enumerate(values)]
    batches = [messages[i : i + 1024] for i in range(0, len(messages), 1024)]
    seconds: dict[str, list[float]] = {"explained": [], "not explained": []}
    flagged = rows = scoring_rows = 0
    for repeat in range(repeats * 2):
        explained = repeat % 2 == 0
        detector.rows = 0
        started = time.perf_counter()
        alerts = sum(
            len(process_batch(b, detector, alert_topic="a", dead_letter_topic="d", explained=explained).alerts)
            for b in batches
        )
        seconds["explained" if explained else "not explained"].append(time.perf_counter() - started)
        if explained:
            flagged, rows = alerts, detector.rows
        else:
            scoring_rows = detector.rows
    us = {name: statistics.median(s) / len(values) * 1e6 for name, s in seconds.items()}
    return {
        "events": len(values),
        "flagged": flagged,
        "us_per_event": us,
        "extra_rows_per_flagged": (rows - scoring_rows) / max(1, flagged),  # distinct units per batch call
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
            skipped: dict[str, list[float]] = {name: [] for name in CONFIGS}
            flagged_share = 0.0
            names = list(CONFIGS)
            for repeat in range(args.repeats):
                for name in names[repeat % len(names) :] + names[: repeat % len(names)]:  # rotated
                    group = f"g-{tag}-{name.replace(' ', '-')}-{repeat}"
                    result = drain(bootstrap, topic, group, store, work, CONFIGS[name], len(backlog))
                    rate, flagged = result["events_per_s"], result["flagged"]
                    runs[name].append(rate)
                    skipped[name].append(result["explanations_skipped"] / max(1.0, flagged))
                    flagged_share = flagged / len(backlog)
                    print(
                        f"share {share:g} {name}: {rate:,.0f} events/s, {skipped[name][-1]:.0%} of alerts unexplained",
                        flush=True,
                    )
            rates = {name: statistics.median(r) for name, r in runs.items()}
            out[f"{share:g}"] = {
                "attack_share": share,
                "flagged_share": flagged_share,
                "events": len(backlog),
                "drain_events_per_s": rates,
                "drain_runs": runs,
                "unexplained_share": {name: statistics.median(s) for name, s in skipped.items()},
                "ratio_to_not_explained": {name: rates[name] / rates["not explained"] for name in CONFIGS},
            }
        live = with_share(values, labels, args.live_share, 20_000, seed=2)
        out["live"] = {"attack_share": args.live_share, "runs": {}}
        for name in CONFIGS:
            topic = f"explain-live-{name.replace(' ', '-')}"  # a topic of its own: no backlog of the previous run
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            admin.create_topics([NewTopic(topic, 4, 1)])
            admin.close()
            result = latency(bootstrap, topic, store, work, live, args.rate, args.seconds, CONFIGS[name])
            out["live"]["runs"][name] = result
            print(f"live {name}: {result}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--stream-events", type=int, default=40_000)
    parser.add_argument("--shares", type=lambda s: [float(x) for x in s.split(",")], default=[0.01, 0.3, 0.7, 1.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2500.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--live-share", type=float, default=0.7)
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
    # the seed's offline path in the same run: the drain's target is a multiple of it
    results["seed_path"] = seed_path(values[:15_000])
    seed = results["seed_path"]["events_per_s"]
    for share, s in results["stream"].items():
        if share != "live":
            s["budget_over_seed"] = s["drain_events_per_s"]["budget"] / seed
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"machine: {results['machine']}",
        f"seed's offline path (per event, pad 1,024, reference lstm): "
        f"{results.get('seed_path', {}).get('events_per_s', float('nan')):,.0f} events/s",
        "",
        "| attack share | flagged | core µs/event, every alert explained / none | extra rows per alert "
        "| stream events/s: budget / every alert / none | budget ÷ none | budget ÷ the seed path "
        "| alerts unexplained (budget) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for share, s in results["stream"].items():
        if share == "live":
            continue
        c = results["core"][share]
        r = s["drain_events_per_s"]
        lines.append(
            f"| {float(share):.0%} | {s['flagged_share']:.1%} | {c['us_per_event']['explained']:.0f} / "
            f"{c['us_per_event']['not explained']:.0f} | {c['extra_rows_per_flagged']:.0f} "
            f"| {r['budget']:,.0f} / {r['every alert']:,.0f} / {r['not explained']:,.0f} "
            f"| {s['ratio_to_not_explained']['budget']:.2f} | {s.get('budget_over_seed', float('nan')):.1f}x "
            f"| {s['unexplained_share']['budget']:.0%} |"
        )
    live = results["stream"].get("live")
    if live:
        rate = next(iter(live["runs"].values()))["rate_events_per_s"]
        lines += [
            "",
            f"live: {rate:,.0f} events/s, {live['attack_share']:.0%} attacks",
            "",
            "| configuration | alerts | p50 s | p99 s | lag back to 0 after the producer stopped, s |",
            "|---|---|---|---|---|",
        ]
        for name, run in live["runs"].items():
            lines.append(
                f"| {name} | {run['alerts']:,} | {run['p50_s']:.2f} | {run['p99_s']:.2f} "
                f"| {run['lag_zero_after_stop_s']:.1f} |"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
