"""Whole-process ``logsentry score`` against the seed's offline path, on distinct and on repeated
events, and what lower-precision exports of the network would change.

    python bench/offline_score.py [--repeats 3] [--json bench/results/offline_score.json]

1. **offline**: ``logsentry score`` on ONNX Runtime as a user runs it (a whole process, start-up
   included; ``bench/scoring.py``'s ``score_process``) over

   * **distinct** events: no request and no value seen twice in the file, so the cache of value
     scores never answers (the shared holdout and training file with every request that repeats
     a value of an earlier one left out, then generated traffic of many sites, ``logsentry
     generate``, filtered the same way), as many as the repeated events (180,340, the count the
     issue's own measurement used); and
   * **repeated** events: four copies of the shared holdout, as real traffic repeats itself;

   against the seed's path (per-event ``json.loads`` and cleanup, padding to 1,024, the
   reference ``lstm``'s ``predict(batch_size=128)``; ``bench/scoring.py``'s ``seed_path``), each
   configuration ``--repeats`` times, alternating; the medians and their ratio;
2. **export precision**: the bundled version's float export beside the same network with fp16
   weights (``onnxruntime.transformers.float16``) and with int8 dynamic quantization
   (``onnxruntime.quantization.quantize_dynamic``), over the distinct events' values in the
   detector's own buckets, alternating, best of ``--repeats``: rows/s, the largest score change
   and the verdicts that change. A variant is worth exporting only if it is faster here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, write_results  # noqa: E402
from bench.scoring import SHARED, score_process, seed_path  # noqa: E402
from bench.unit_cache import distinct_messages  # noqa: E402
from logsentry.model_store.bundled import bundled_store  # noqa: E402
from logsentry.model_store.model.onnx_runtime import ONNX_FILE, OnnxInference  # noqa: E402
from logsentry.model_store.model.scoring import Detector  # noqa: E402
from logsentry.model_store.serving import load_detector  # noqa: E402
from logsentry.stream.tools.replay import read_values  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402
from logsentry.trainer.generate import write_csv  # noqa: E402

PUBLISHED = "float32, graph written from the weights (published)"
TF2ONNX = "float32, tf2onnx conversion"
GENERATED_ROWS = 1_600_000  # generated requests read: about 174,000 hold only values never seen before


def distinct_events(work: Path, count: int) -> list[bytes]:
    """``count`` events none of whose values an earlier one held: the shared files', then generated ones."""
    detector = load_detector(bundled_store())
    generated = work / "generated.csv"
    write_csv(generated, GENERATED_ROWS, seed=7, attack_share=0.3)
    events = [
        e
        for path in (SHARED / "fwaf-holdout.csv", SHARED / "fwaf-access.csv", generated)
        for e in read_labelled_csv(path).events
    ]
    distinct = distinct_messages(detector, events)
    assert len(distinct) >= count, f"only {len(distinct):,} distinct events"
    return distinct[:count]


def converted_store(work: Path) -> Path:
    """The bundled version with its network as ``tf2onnx`` converts it (the export before the
    graph was written from the weights): the same weights, manifest and checks otherwise."""
    from dataclasses import replace

    from logsentry.model_store.model.tensorflow_runtime import load_keras_model
    from logsentry.model_store.store import CURRENT_FILE, MODEL_FILE, ModelStore, file_sha256, seal
    from logsentry.trainer.onnx_export import convert_with_tf2onnx

    bundled = bundled_store()
    version = bundled.resolve()
    manifest = bundled.manifest(version)
    root = work / "converted-store"
    target = root / "versions" / version
    shutil.copytree(bundled.path(version), target)
    converter = convert_with_tf2onnx(
        load_keras_model(target / MODEL_FILE),
        target / ONNX_FILE,
        variable_length=manifest.variable_length,
        max_len=manifest.preprocessing.tokenizer.max_len,
    )
    onnx_entry = {**(manifest.onnx or {}), "converter": converter, "sha256": file_sha256(target / ONNX_FILE)}
    seal(target, replace(manifest, onnx=onnx_entry))
    (root / CURRENT_FILE).write_text(version + "\n", encoding="utf-8")
    ModelStore(root).verify()
    return root


def offline(distinct: list[bytes], holdout: list[bytes], work: Path, repeats: int) -> dict[str, Any]:
    files = {"distinct": (work / "distinct.jsonl", distinct), "repeated": (work / "repeated.jsonl", holdout * 4)}
    for path, values in files.values():
        path.write_bytes(b"".join(v + b"\n" for v in values))
    converted = converted_store(work)
    runs: dict[str, list[float]] = {"seed path": [], "distinct": [], TF2ONNX: [], "repeated": []}
    for _ in range(repeats):
        runs["seed path"].append(seed_path(holdout[:15_000])["events_per_s"])
        for name, (path, values) in files.items():
            runs[name].append(score_process(path, "onnx", len(values))["events_per_s"])
            if name == "distinct":
                runs[TF2ONNX].append(score_process(path, "onnx", len(values), converted)["events_per_s"])
    medians = {name: statistics.median(r) for name, r in runs.items()}
    return {
        "events": {name: len(values) for name, (_, values) in files.items()},
        "events_per_s": runs,
        "median_events_per_s": medians,
        "distinct_over_seed": medians["distinct"] / medians["seed path"],
        "distinct_tf2onnx_over_seed": medians[TF2ONNX] / medians["seed path"],
        "repeated_over_seed": medians["repeated"] / medians["seed path"],
    }


def variants(work: Path) -> dict[str, Path]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.float16 import convert_float_to_float16

    store = bundled_store()
    source = store.versions_dir / store.current() / ONNX_FILE
    fp16 = work / "fp16.onnx"
    onnx.save(convert_float_to_float16(onnx.load(source), keep_io_types=True), fp16)
    int8 = work / "int8.onnx"
    quantize_dynamic(str(source), str(int8), weight_type=QuantType.QInt8)
    converted = work / "converted-store" / "versions" / store.current() / ONNX_FILE  # offline() made it
    return {PUBLISHED: source, TF2ONNX: converted, "fp16 weights": fp16, "int8 dynamic": int8}


def precision(distinct: list[bytes], work: Path, repeats: int) -> dict[str, Any]:
    bundled = load_detector(bundled_store())
    texts = bundled.preprocessing.texts([json.loads(v) for v in distinct])
    units = list(dict.fromkeys(bundled.preprocessing.units(texts)[0]))
    rows = sum(len(b.ids) for b in bundled.preprocessing.tokenizer.encode_buckets(units))
    detectors = {
        name: Detector(OnnxInference(path), bundled.preprocessing, threshold=bundled.threshold, cache_size=0)
        for name, path in variants(work).items()
    }
    seconds: dict[str, list[float]] = {name: [] for name in detectors}
    scores: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, detector in detectors.items():
            started = time.perf_counter()
            scores[name] = detector.score_units(units)
            seconds[name].append(time.perf_counter() - started)
    reference = scores[PUBLISHED]
    out: dict[str, Any] = {"units": len(units), "rows": rows, "threshold": bundled.threshold, "variants": {}}
    for name, s in scores.items():
        out["variants"][name] = {
            "rows_per_s": rows / min(seconds[name]),
            "seconds": seconds[name],
            "speed_vs_float32": min(seconds[PUBLISHED]) / min(seconds[name]),
            "max_abs_score_difference": float(np.abs(s - reference).max()),
            "verdicts_changed": int(np.count_nonzero((s >= bundled.threshold) != (reference >= bundled.threshold))),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "offline_score.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "repeats": args.repeats}
    with tempfile.TemporaryDirectory(prefix="logsentry-bench-") as tmp:
        work = Path(tmp)
        holdout = list(read_values(SHARED / "fwaf-holdout.csv"))
        distinct = distinct_events(work, len(holdout) * 4)  # as many as the repeated events
        results["offline"] = offline(distinct, holdout, work, args.repeats)
        print(f"offline: {results['offline']['median_events_per_s']}", flush=True)
        results["precision"] = precision(distinct, work, args.repeats)
    write_results(args.json, results, table(results))
    return 0


def table(results: dict[str, Any]) -> list[str]:
    off, p = results["offline"], results["precision"]
    m = off["median_events_per_s"]
    lines = [
        f"machine: {results['machine']}",
        "| `logsentry score`, whole process (ONNX) | events | events/s (median) | × the seed path |",
        "|---|---|---|---|",
        f"| seed path (per event, pad 1,024, reference lstm) | 15,000 | {m['seed path']:,.0f} | 1.0 |",
        f"| distinct events (no value seen twice) | {off['events']['distinct']:,} | {m['distinct']:,.0f} | "
        f"{off['distinct_over_seed']:.1f} |",
        f"| distinct events, the network as tf2onnx converts it | {off['events']['distinct']:,} | "
        f"{m[TF2ONNX]:,.0f} | {off['distinct_tf2onnx_over_seed']:.1f} |",
        f"| repeated events (the holdout four times) | {off['events']['repeated']:,} | {m['repeated']:,.0f} | "
        f"{off['repeated_over_seed']:.1f} |",
        "",
        f"| export of the bundled network ({p['units']:,} distinct values, {p['rows']:,} rows) | rows/s (best) "
        "| speed vs float32 | largest score change | verdicts changed |",
        "|---|---|---|---|---|",
    ]
    for name, v in p["variants"].items():
        lines.append(
            f"| {name} | {v['rows_per_s']:,.0f} | {v['speed_vs_float32']:.2f}× | "
            f"{v['max_abs_score_difference']:.2g} | {v['verdicts_changed']} |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
