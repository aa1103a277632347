"""The stream on a three-broker cluster beside one broker, side by side in one run.

    python bench/cluster.py [--events ../shared/data/fwaf-holdout.csv] [--json bench/results/cluster.json]
                            [--stream-events 40000] [--share 0.3] [--repeats 3]

One ``logsentry stream`` process drains a pre-filled 4-partition topic, the default
configuration, a fresh consumer group each time, alternating between a single broker
(``deploy/kafka/kafka-local start``: topics of one replica) and a three-broker cluster
(``start --brokers 3``: the log topic and the detector's own topics with three replicas and
``min.insync.replicas=2``, so every alert waits for two brokers' acknowledgement). Both run
for the whole benchmark on the same cores as the detector. Events/s, median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import local_broker, local_cluster, machine, write_results  # noqa: E402
from bench.scoring import SHARED, _produce, drain, with_share  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.stream.tools.replay import read_values  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--stream-events", type=int, default=40_000)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "cluster.json")
    args = parser.parse_args()
    from kafka.admin import KafkaAdminClient, NewTopic

    values = list(read_values(args.events))
    backlog = with_share(values, read_labelled_csv(args.events).labels, args.share, args.stream_events)
    store = bundled_store().root
    runs: dict[str, list[float]] = {"one broker": [], "three brokers": []}
    with tempfile.TemporaryDirectory(prefix="logsentry-bench-") as tmp:
        work = Path(tmp)
        with local_broker(work) as single, local_cluster(work) as cluster:
            where = {"one broker": (single, 1, {}), "three brokers": (cluster, 3, {"min.insync.replicas": "2"})}
            for bootstrap, replicas, configs in where.values():
                admin = KafkaAdminClient(bootstrap_servers=bootstrap)
                admin.create_topics([NewTopic("bench-logs", 4, replicas, topic_configs=configs)])
                admin.close()
                _produce(bootstrap, "bench-logs", backlog)
            names = list(runs)
            for repeat in range(args.repeats):
                for name in names[repeat % 2 :] + names[: repeat % 2]:  # rotated
                    bootstrap = where[name][0]
                    group = f"g-{name.replace(' ', '-')}-{repeat}"
                    result = drain(bootstrap, "bench-logs", group, store, work, [], len(backlog))
                    runs[name].append(result["events_per_s"])
                    print(f"{name}: {result['events_per_s']:,.0f} events/s", flush=True)
    rates = {name: statistics.median(r) for name, r in runs.items()}
    results: dict[str, Any] = {
        "machine": machine(),
        "events_file": args.events.name,
        "events": len(backlog),
        "attack_share": args.share,
        "drain_events_per_s": rates,
        "drain_runs": runs,
        "ratio_three_to_one": rates["three brokers"] / rates["one broker"],
    }
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    r = results["drain_events_per_s"]
    lines = [f"machine: {results['machine']}", "", "| brokers | drain events/s (median) | runs | ratio to one broker |"]
    lines.append("|---|---|---|---|")
    for name, rate in r.items():
        runs = ", ".join(f"{x:,.0f}" for x in results["drain_runs"][name])
        lines.append(f"| {name} | {rate:,.0f} | {runs} | {rate / r['one broker']:.2f} |")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
