"""Training at scale: the streaming pipeline against the in-memory path, memory against rows,
and two workers against one.

    python bench/training_scale.py compare [--seeds 42,1,2]   # shared data, ~8 min
    python bench/training_scale.py memory  [--rows 100000,1000000,5000000]   # ~25 min
    python bench/training_scale.py workers                      # ~6 min

``compare`` trains the reference protocol (75/25 split, the default architecture and epochs,
no generated sites) on ``fwaf-access.csv`` both ways, side by side, for several seeds: the
streaming ``train()`` that ships, and the in-memory path it replaced (every row decoded,
cleaned and encoded once into memory, then ``model.fit`` on those arrays; kept here, in the
benchmark, as the baseline). It reports rows/s of the epochs and of the whole run, and the
test figures (mean ± spread over the seeds).

``memory`` measures peak RSS against rows, in a fresh process per point: the streaming
pipeline's passes (count, scan, one full epoch of input batches, the evaluation read) and
the in-memory path's load (decoded events and cleaned texts). The rows are 100k generated
requests, repeated to reach 1M and 5M (the same bytes per row); the in-memory load runs under
a cgroup cap (8 GiB by default) so that it cannot take the machine, and a point it exceeds
is recorded as killed at the cap. ``--full`` adds the whole
trainer (one epoch of the model) at the smallest point.

``workers`` trains on the shared data with 1 and with 2 local workers (same global batch)
and measures the per-step costs that decide the speed-up on separate machines: one
worker's step at the full and at half the batch, and the all-reduce of the model's
gradients between two processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, mean_spread, write_results  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"


# -- compare ---------------------------------------------------------------------------------
def in_memory(data: str, seed: int) -> dict[str, Any]:
    """The path training took before the streaming pipeline, for the reference protocol."""
    import keras
    import numpy as np

    from logsentry.model_store.model.scoring import Detector
    from logsentry.model_store.model.tensorflow_runtime import KerasInference, tensorflow
    from logsentry.trainer.architectures import get_architecture
    from logsentry.trainer.data import read_training_data
    from logsentry.trainer.evaluation import choose_threshold, evaluate
    from logsentry.trainer.pipeline import split_indices
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import prepare

    tf = tensorflow()
    started = time.perf_counter()
    settings = TrainSettings(data=(Path(data),), store=Path(), seed=seed, augment=0)
    arch = get_architecture(settings.architecture)
    logs = read_training_data([data])
    split = split_indices(len(logs.events), test_size=0.25, validation_split=0.25, seed=seed)
    pre = prepare(logs, settings, np.concatenate([split.train, split.validation]))
    texts = pre.texts(logs.events)
    rng = np.random.default_rng(seed)
    batch = arch.default_batch_size
    encoded = pre.tokenizer.encode_buckets([texts[i] for i in split.train], windows=False)
    labels = logs.labels[split.train].astype(np.float32)

    def batches() -> Any:
        plan = []
        for b, bucket in enumerate(encoded):
            order = rng.permutation(len(bucket.rows))
            plan += [(b, order[i : i + batch]) for i in range(0, len(order), batch)]
        for b, take in (plan[i] for i in rng.permutation(len(plan))):
            yield encoded[b].ids[take], labels[encoded[b].rows[take]]

    steps = sum(-(-len(b.rows) // batch) for b in encoded)
    dataset = tf.data.Dataset.from_generator(
        batches, output_signature=(tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.float32))
    ).apply(tf.data.experimental.assert_cardinality(steps))
    keras.utils.set_random_seed(seed)
    model = arch.build(pre.tokenizer.input_dim, settings.max_len)
    prepared = time.perf_counter() - started
    fit_started = time.perf_counter()
    model.fit(dataset, epochs=arch.default_epochs, verbose=0)
    fit_seconds = time.perf_counter() - fit_started
    detector = Detector(KerasInference(model, variable_length=True, max_len=settings.max_len), pre)
    val = detector.score_texts([texts[i] for i in split.validation])
    threshold = choose_threshold(logs.labels[split.validation], val, settings.threshold_rule)
    test = evaluate(logs.labels[split.test], detector.score_texts([texts[i] for i in split.test]), threshold)
    return {
        "prepare_seconds": prepared,
        "fit_seconds": fit_seconds,
        "epoch_rows_per_s": len(split.train) * arch.default_epochs / fit_seconds,
        "total_seconds": time.perf_counter() - started,
        "test_accuracy": test.accuracy,
        "test_f1": test.f1,
        "test_roc_auc": test.roc_auc,
    }


def streaming(data: str, seed: int) -> dict[str, Any]:
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import train

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        result = train(TrainSettings(data=(Path(data),), store=Path(scratch), seed=seed, augment=0, verbose=0))
        total = time.perf_counter() - started
    assert result.manifest is not None
    pipeline = result.manifest.extra["pipeline"]
    test = result.evaluations["test"]
    train_rows = sum(pipeline["labels"]["train"].values())
    return {
        "prepare_seconds": pipeline["seconds"]["count"] + pipeline["seconds"]["scan"],
        "fit_seconds": result.train_seconds,
        "epoch_rows_per_s": train_rows * len(pipeline["seconds"]["epochs"]) / result.train_seconds,
        "total_seconds": total,  # includes the ONNX export and its check, which the baseline skips
        "test_accuracy": test.accuracy,
        "test_f1": test.f1,
        "test_roc_auc": test.roc_auc,
    }


def compare(args: argparse.Namespace) -> None:
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {"in_memory": [], "streaming": []}
    for seed in seeds:  # side by side: each seed both ways before the next
        for name, fn in (("in_memory", in_memory), ("streaming", streaming)):
            runs[name].append(child(fn.__name__, args.data, seed))
            print(name, seed, json.dumps(runs[name][-1]), flush=True)
    keys = (
        "epoch_rows_per_s",
        "fit_seconds",
        "prepare_seconds",
        "total_seconds",
        "test_accuracy",
        "test_f1",
        "test_roc_auc",
    )
    table = [f"{'':<18}{'in memory':>22}{'streaming':>22}"]
    for key in keys:
        digits = 1 if "seconds" in key or "per_s" in key else 4
        cells = [mean_spread([r[key] for r in runs[name]], digits) for name in runs]
        table.append(f"{key:<18}{cells[0]:>22}{cells[1]:>22}")
    write_results(
        RESULTS / "training_compare.json",
        {"machine": machine(), "data": args.data.name, "seeds": seeds, "runs": runs},
        table,
    )


def child(function: str, *args: Any, preexec: Any = None) -> Any:
    """``function(*args)`` of this module in a fresh process (no warm caches, no shared TensorFlow state)."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); import bench.training_scale as b; "
        f"print('RESULT', json.dumps(b.{function}(*json.loads(sys.argv[1]))))"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    argv = json.dumps([str(a) if isinstance(a, Path) else a for a in args])
    done = subprocess.run(
        [sys.executable, "-c", code, argv], capture_output=True, text=True, check=False, env=env, preexec_fn=preexec
    )
    if done.returncode:
        return {"failed": done.returncode, "stderr": done.stderr[-500:]}  # memory: the point that died says so
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


# -- memory ----------------------------------------------------------------------------------
def pipeline_peak(path: str) -> dict[str, Any]:
    """The streaming passes over ``path`` without the model; peak RSS and rows/s of each."""
    from logsentry.trainer.pipeline import (
        TRAIN,
        Plan,
        count_rows,
        fit_preprocessing,
        peak_rss_mb,
        scan,
        training_dataset,
    )
    from logsentry.trainer.settings import DEFAULT_BUCKETS, DEFAULT_SHUFFLE_BUFFER
    from logsentry.trainer.sources import file_shards

    shards = file_shards([Path(path)])
    out: dict[str, Any] = {}
    started = time.perf_counter()
    counts, counted = count_rows(shards, progress=False)
    data = Plan.build(shards, counts, test_size=0.25, validation_split=0.25, seed=42, strict=False)
    found = scan(data, buckets=DEFAULT_BUCKETS, max_len=1024, workers=1, batch_size=64, progress=False)
    out["count_rows_per_s"] = counted.rows_per_second
    out["scan_rows_per_s"] = found.stats.rows_per_second if found.stats else 0.0
    pre = fit_preprocessing(found, max_len=1024, oov="index", buckets=DEFAULT_BUCKETS)
    steps = found.steps(1, 64)
    epoch_started = time.perf_counter()
    rows = 0
    for ids, _ in training_dataset(data, pre, batch_size=64, shuffle_buffer=DEFAULT_SHUFFLE_BUFFER).take(steps):
        rows += int(ids.shape[0])
    out["epoch_input_rows_per_s"] = rows / (time.perf_counter() - epoch_started)
    held_out = sum(1 for i in range(len(data.shards)) for part, _ in data.rows(i) if part != TRAIN)
    out.update(rows=sum(counts), trained_rows=rows, held_out_rows=held_out, seconds=time.perf_counter() - started)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def in_memory_peak(path: str) -> dict[str, Any]:
    """What the in-memory path held before its first epoch: decoded events and cleaned texts
    (TensorFlow imported first, as the trainer has it, so both columns start from the same base)."""
    from logsentry.model_store.model.preprocessing import CleanupSpec, clean
    from logsentry.model_store.model.tensorflow_runtime import tensorflow

    tensorflow()
    from logsentry.trainer.data import read_training_data
    from logsentry.trainer.pipeline import peak_rss_mb

    started = time.perf_counter()
    logs = read_training_data([Path(path)])
    cleaned = [clean(event, CleanupSpec()) for event in logs.events]
    return {"rows": len(cleaned), "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def full_peak(path: str) -> dict[str, Any]:
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import train

    with tempfile.TemporaryDirectory() as scratch:
        result = train(TrainSettings(data=(Path(path),), store=Path(scratch), epochs=1, augment=0, verbose=0))
    assert result.manifest is not None
    pipeline = result.manifest.extra["pipeline"]
    return {"rows": pipeline["rows_read"], "seconds": pipeline["seconds"], "peak_rss_mb": pipeline["peak_rss_mb"]}


def memory(args: argparse.Namespace) -> None:
    from logsentry.trainer.generate import write_csv
    from tests.integration.memory_cap import MemoryCap  # a cgroup: the in-memory load must not take the machine

    points = [int(r) for r in args.rows.split(",")]
    results: dict[str, Any] = {"machine": machine(), "points": []}
    saved = RESULTS / "training_memory.json"
    if args.merge and saved.exists():  # points measured before, at other row counts, are kept
        results["points"] = [p for p in json.loads(saved.read_text())["points"] if p["rows"] not in points]
    cap = int(args.in_memory_cap_gb * 2**30)
    table = [f"{'rows':>10}{'file MB':>10}{'streaming MB':>14}{'in memory MB':>14}{'trainer MB':>12}"]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base.csv"
        write_csv(base, args.base, seed=9)
        chunk = base.read_bytes()
        for rows in points:
            path = Path(scratch) / f"rows-{rows}.csv"
            with path.open("wb") as out:
                for _ in range(rows // args.base):
                    out.write(chunk)
            point: dict[str, Any] = {"rows": rows, "file_mb": path.stat().st_size / 2**20}
            point["streaming"] = child("pipeline_peak", path)
            limit = MemoryCap(cap)
            try:
                point["in_memory"] = child("in_memory_peak", path, preexec=limit.enter)
                if "failed" in point["in_memory"]:
                    point["in_memory"] = {"killed_at_cap_mb": cap / 2**20, "oom_kills": limit.ooms()}
            finally:
                limit.close()
            if args.full and rows == args.base:
                point["trainer"] = child("full_peak", path)
            results["points"].append(point)
            print(json.dumps(point), flush=True)
            path.unlink()
    results["points"].sort(key=lambda p: p["rows"])
    for point in results["points"]:
        held = point["in_memory"]
        in_memory = f"{held['peak_rss_mb']:.0f}" if "peak_rss_mb" in held else f">{held['killed_at_cap_mb']:.0f}"
        table.append(
            f"{point['rows']:>10,}{point['file_mb']:>10.0f}{point['streaming'].get('peak_rss_mb', 0):>14.0f}"
            f"{in_memory:>14}{point.get('trainer', {}).get('peak_rss_mb', 0):>12.0f}"
        )
    write_results(saved, results, table)


# -- workers ---------------------------------------------------------------------------------
ALLREDUCE = """
import json, os, sys, time
import numpy as np, tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
size = int(sys.argv[1])
grads = tf.constant(np.ones(size, dtype=np.float32))
@tf.function
def reduce():
    return strategy.extended.reduce_to(tf.distribute.ReduceOp.SUM, grads, destinations=grads)
for _ in range(20):
    reduce()
started = time.perf_counter()
for _ in range(200):
    reduce()
print("RESULT", json.dumps({"allreduce_ms": (time.perf_counter() - started) / 200 * 1000}))
"""


def step_time(data: str, batch: int) -> float:
    """One worker's mean training step (ms) at ``batch``: the second epoch of a 2-epoch run on ``data``
    (the first carries the one-off tracing of the step)."""
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import train

    with tempfile.TemporaryDirectory() as scratch:
        result = train(
            TrainSettings(data=(Path(data),), store=Path(scratch), epochs=2, batch_size=batch, augment=0, verbose=0)
        )
    assert result.manifest is not None
    pipeline = result.manifest.extra["pipeline"]
    return float(pipeline["seconds"]["epochs"][1] / pipeline["steps_per_epoch"] * 1000)


def workers(args: argparse.Namespace) -> None:
    from logsentry.trainer.architectures import build_conv_lstm
    from logsentry.trainer.distributed import free_ports

    results: dict[str, Any] = {"machine": machine(), "data": args.data.name, "epochs": 2}
    for count in (1, 2):
        with tempfile.TemporaryDirectory() as scratch:
            command = [
                sys.executable,
                "-m",
                "logsentry",
                "train",
                "--data",
                str(args.data),
                "--store",
                scratch,
                "--epochs",
                "2",
                "--augment",
                "0",
                "--keras-verbose",
                "0",
                "--workers",
                str(count),
            ]
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            wall = time.perf_counter() - started
            manifest = json.loads(next(Path(scratch, "versions").iterdir()).joinpath("manifest.json").read_text())
        pipeline = manifest["extra"]["pipeline"]
        results[f"workers_{count}"] = {
            "wall_seconds": wall,
            "epoch_seconds": pipeline["seconds"]["epochs"],
            "steps_per_epoch": pipeline["steps_per_epoch"],
            "test_roc_auc": manifest["evaluation"]["test"]["roc_auc"],
        }
        print(count, json.dumps(results[f"workers_{count}"]), flush=True)
    one, two = results["workers_1"], results["workers_2"]
    results["speedup_here"] = one["epoch_seconds"][1] / two["epoch_seconds"][1]  # second epochs: no tracing
    step_full = child("step_time", args.data, 64)
    step_half = child("step_time", args.data, 32)
    parameters = build_conv_lstm(80, 1024).count_params()
    cluster = [f"127.0.0.1:{p}" for p in free_ports(2)]
    reduced = []
    procs = []
    for index in (0, 1):
        env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            TF_CONFIG=json.dumps({"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", ALLREDUCE, str(parameters)], env=env, stdout=subprocess.PIPE, text=True
            )
        )
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        reduced.append(json.loads(next(li for li in out.splitlines() if li.startswith("RESULT "))[7:]))
    allreduce_ms = max(r["allreduce_ms"] for r in reduced)
    # on two machines each worker computes half the batch on its own cores, then all-reduces
    separate = step_full / (step_half + allreduce_ms)
    results.update(
        step_ms_batch_64=step_full,
        step_ms_batch_32=step_half,
        parameters=parameters,
        allreduce_ms_loopback=allreduce_ms,
        estimated_speedup_two_machines=separate,
    )
    table = [
        f"second epoch: 1 worker {one['epoch_seconds'][1]:.1f} s; 2 local workers {two['epoch_seconds'][1]:.1f} s "
        f"(speed-up here {results['speedup_here']:.2f}x on {os.cpu_count()} cores)",
        f"step at batch 64: {step_full:.1f} ms; at batch 32: {step_half:.1f} ms; all-reduce of {parameters:,} "
        f"gradients between two processes: {allreduce_ms:.2f} ms",
        f"estimated speed-up on two machines: {separate:.2f}x",
    ]
    write_results(RESULTS / "training_workers.json", results, table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("compare")
    p.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    p.add_argument("--seeds", default="42,1,2")
    p.set_defaults(run=compare)
    p = sub.add_parser("memory")
    p.add_argument("--rows", default="100000,1000000,5000000")
    p.add_argument("--full", action="store_true", help="also the whole trainer, at the --base point")
    p.add_argument("--base", type=int, default=100_000, help="generated rows, repeated to reach each point")
    p.add_argument("--merge", action="store_true", help="keep the result file's points at other row counts")
    p.add_argument("--in-memory-cap-gb", type=float, default=8.0, help="memory cap of the in-memory load")
    p.set_defaults(run=memory)
    p = sub.add_parser("workers")
    p.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    p.set_defaults(run=workers)
    args = parser.parse_args()
    args.run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
