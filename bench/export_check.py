"""How far each architecture's ONNX export scores from its Keras model: float noise, measured.

    python bench/export_check.py [--data ../shared/data/fwaf-access.csv] [--architectures rnn,lstm,lstm-dense,conv-lstm]
                                 [--seeds 42,1,2] [--json bench/results/export_check.json] [--update]

Trains each architecture with each seed through the real CLI: the reference recipe
(``--augment 0 --epochs 3 --threshold-rule fixed:0.5``, the command a user compares with the
notebook) for the reference architectures, the default recipe for ``conv-lstm``. Every run
goes through the export check at publish (``trainer/onnx_export.py``); the figures come from
the published (or held) version's manifest: the largest score difference, the largest
difference read back on the logit, Kendall's tau between both score lists, verdicts flipped,
and whether the version was published. A reference LSTM takes about 4 minutes per seed on
2 cores: ``--update`` keeps the runs already in ``--json`` that this invocation does not redo,
so the table can be filled one architecture at a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.trainer.architectures import REFERENCE_ARCHITECTURES  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
ORDER = ("rnn", "lstm", "lstm-dense", "conv-lstm")
REFERENCE_RECIPE = ("--augment", "0", "--epochs", "3", "--threshold-rule", "fixed:0.5")


def run(data: Path, architecture: str, seed: int, work: Path) -> dict[str, Any]:
    store = ModelStore(work / f"{architecture}-{seed}")
    recipe = REFERENCE_RECIPE if architecture in REFERENCE_ARCHITECTURES else ()
    command = [sys.executable, "-m", "logsentry", "train", "--data", str(data), "--store", str(store.root)]
    command += ["--architecture", architecture, "--seed", str(seed), "--keras-verbose", "0", *recipe]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    published = done.returncode == 0
    if published:
        manifest = store.manifest("latest")
    elif store.held():
        manifest = store.held_manifest(store.held()[0])
    else:  # training itself failed (for instance diverged): recorded, the other runs go on
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            "architecture": architecture,
            "seed": seed,
            "published": False,
            "trained": False,
            "seconds": round(seconds, 1),
            "error": error,
        }
    onnx = dict(manifest.onnx or {})
    return {
        "architecture": architecture,
        "seed": seed,
        "published": published,
        "seconds": round(seconds, 1),
        "rows": onnx.get("rows"),
        "max_abs_diff": onnx.get("max_abs_diff"),
        "max_logit_diff": onnx.get("max_logit_diff"),
        "rank_agreement": onnx.get("rank_agreement"),
        "verdict_flips": onnx.get("verdict_flips"),
        "logit_tolerance": onnx.get("logit_tolerance"),
        "test_accuracy": manifest.evaluation.get("test", {}).get("accuracy"),
    }


def _spread(values: list[float]) -> str:
    """The largest of the runs' figures, and their median."""
    return f"{max(values):.1e} (median {statistics.median(values):.1e})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--architectures", default="rnn,lstm,lstm-dense,conv-lstm")
    parser.add_argument("--seeds", default="42,1,2")
    parser.add_argument("--json", type=Path, default=Path("bench/results/export_check.json"))
    parser.add_argument("--update", action="store_true", help="keep the other runs already in --json")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    if args.update and args.json.exists():
        redone = {(a, int(s)) for a in args.architectures.split(",") for s in args.seeds.split(",")}
        runs = [r for r in json.loads(args.json.read_text())["runs"] if (r["architecture"], r["seed"]) not in redone]
    with tempfile.TemporaryDirectory(prefix="export-check-") as scratch:
        for architecture in args.architectures.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                runs.append(run(args.data, architecture, seed, Path(scratch)))
                print(json.dumps(runs[-1]), flush=True)
    table = [
        "| architecture | published | largest score difference | largest logit difference | Kendall's tau | flips |",
        "|---|---|---|---|---|---|",
    ]
    runs.sort(key=lambda r: (ORDER.index(r["architecture"]), r["seed"]))
    for architecture in dict.fromkeys(r["architecture"] for r in runs):
        mine = [r for r in runs if r["architecture"] == architecture and r.get("trained", True)]
        failed = sum(1 for r in runs if r["architecture"] == architecture and not r.get("trained", True))
        if not mine:
            table.append(f"| {architecture} | 0 of {failed} trained | | | | |")
            continue
        table.append(
            f"| {architecture} | {sum(r['published'] for r in mine)} of {len(mine)}"
            + (f" ({failed} more did not train)" if failed else "")
            + " "
            f"| {_spread([r['max_abs_diff'] for r in mine])} | {_spread([r['max_logit_diff'] for r in mine])} "
            f"| {min(r['rank_agreement'] or 0 for r in mine):.6f} | {sum(r['verdict_flips'] for r in mine)} |"
        )
    write_results(args.json, {"machine": machine(), "data": args.data.name, "runs": runs}, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
