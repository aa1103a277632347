"""What the unit-score cache buys on real traffic, and what it costs on traffic that never repeats.

    python bench/unit_cache.py [--batch 512] [--repeats 3] [--json bench/results/unit_cache.json]

The serving core (``stream.processor.process_batch``: decode, clean, score, build the verdict
and alert records; no explanations) over batches of ``--batch`` messages, with the bundled
model on ONNX Runtime, each configuration a fresh detector (an empty cache) per run, the two
configurations alternating, ``--repeats`` runs each (the median is reported):

* **real sites**: the access logs of the public corpus (``bench/data/sites``: every site, in
  log order, as the JSON request logs a shipper sends). Speed only: no verdict is judged here;
* **distinct**: the shared holdout with every request that repeats a value of an earlier
  one left out (no request and no value is seen twice): the cache can only cost here.

Both configurations give the same scores to the last bit (checked in the run).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, write_results  # noqa: E402
from logsentry.errors import InvalidMessage  # noqa: E402
from logsentry.model_store.bundled import load_serving_detector  # noqa: E402
from logsentry.model_store.ingest.formats.access_log import parse_line  # noqa: E402
from logsentry.model_store.model.runtimes import CountingInference  # noqa: E402
from logsentry.model_store.model.scoring import UNIT_CACHE_SIZE, Detector  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.stream.processor import process_batch  # noqa: E402
from logsentry.stream.records import Message  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402

SITES = ROOT / "bench" / "data" / "sites"
HOLDOUT = ROOT.parent / "shared" / "data" / "fwaf-holdout.csv"


def site_messages(path: Path) -> list[bytes]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            try:
                out.append(json.dumps(parse_line(line), separators=(",", ":")).encode())
            except InvalidMessage:
                continue
    return out


def distinct_messages(detector: Detector, events: list[dict[str, Any]]) -> list[bytes]:
    """Events none of whose values (units) an earlier kept event held."""
    seen: set[str] = set()
    out = []
    for event in events:
        units, _ = detector.preprocessing.units(detector.preprocessing.texts([event]))
        if seen.isdisjoint(units) and len(set(units)) == len(units):
            seen.update(units)
            out.append(json.dumps(event, separators=(",", ":")).encode())
    return out


def run(values: list[bytes], cache_size: int, batch: int) -> dict[str, Any]:
    bundled = load_serving_detector(ModelStore(ROOT / "model_store" / "pretrained"))
    counting = CountingInference(bundled.inference)
    detector = Detector(counting, bundled.preprocessing, threshold=bundled.threshold, cache_size=cache_size)
    messages = [Message("logs", 0, i, 0, None, v) for i, v in enumerate(values)]
    scores = []
    started = time.perf_counter()
    for at in range(0, len(messages), batch):
        out = process_batch(
            messages[at : at + batch], detector, alert_topic="a", dead_letter_topic="d", explained=False
        )
        scores.append(out.scores)
    seconds = time.perf_counter() - started
    return {
        "events_per_s": len(values) / seconds,
        "model_rows": counting.rows,
        "cache_hit_share": detector.cache_hits / detector.cache_lookups if detector.cache_lookups else 0.0,
        "scores": np.concatenate(scores),
    }


def measure(name: str, values: list[bytes], args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _ in range(args.repeats):
        for config, size in (("off", 0), ("on", UNIT_CACHE_SIZE)):
            runs[config].append(run(values, size, args.batch))
    same = all(np.array_equal(r["scores"], runs["off"][0]["scores"]) for rs in runs.values() for r in rs)
    out: dict[str, Any] = {"events": len(values), "identical_scores": same}
    for config, rs in runs.items():
        out[config] = {
            "events_per_s": [round(r["events_per_s"], 1) for r in rs],
            "median_events_per_s": round(statistics.median(r["events_per_s"] for r in rs), 1),
            "model_rows": rs[0]["model_rows"],
            "cache_hit_share": round(rs[0]["cache_hit_share"], 4),
        }
    out["speedup"] = round(out["on"]["median_events_per_s"] / out["off"]["median_events_per_s"], 3)
    print(f"{name}: {out['speedup']}x", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "unit_cache.json")
    args = parser.parse_args()

    results: dict[str, Any] = {
        "machine": machine(),
        "batch": args.batch,
        "repeats": args.repeats,
        "cache_size": UNIT_CACHE_SIZE,
        "sets": {},
    }
    for path in sorted(SITES.glob("*.log.gz")):
        results["sets"][path.name.split(".")[0]] = measure(path.name, site_messages(path), args)
    bundled = load_serving_detector(ModelStore(ROOT / "model_store" / "pretrained"))
    holdout = read_labelled_csv(HOLDOUT)
    results["sets"]["distinct (shared holdout)"] = measure("distinct", distinct_messages(bundled, holdout.events), args)

    table = [
        "| traffic | events | values from the cache | model rows, off → on | events/s, off → on (median) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results["sets"].items():
        table.append(
            f"| {name} | {r['events']:,} | {r['on']['cache_hit_share']:.1%} | {r['off']['model_rows']:,} → "
            f"{r['on']['model_rows']:,} | {r['off']['median_events_per_s']:,.0f} → "
            f"{r['on']['median_events_per_s']:,.0f} | {r['speedup']:.2f}x |"
        )
        assert r["identical_scores"], f"{name}: the cache changed a score"
    write_results(args.json, results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
