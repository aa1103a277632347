"""Choosing the default recipe's epochs on validation data only (never test or holdout).

    python bench/epochs.py [--epochs 4,6,8] [--data ../shared/data/fwaf-access.csv]
                           [--json bench/results/epochs.json]

Trains the default recipe (the data plus generated sites) for each number of epochs and
reports what the choice may look at: the validation split's detection rate at the alert
budget (TPR at FPR 0.1 %) and, at each model's own threshold, the validation sites of the
held-out vocabulary (``bench/heldout.py``, seeds 5000-5004; the cross-site benchmark's test
sites, 6000-6004, are not touched).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402
from bench.cross_site import site_set  # noqa: E402
from bench.heldout import HELD_OUT_SITES  # noqa: E402
from logsentry.model_store.serving import load_detector  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.trainer.evaluation import tpr_at_fprs  # noqa: E402
from logsentry.trainer.settings import TrainSettings  # noqa: E402
from logsentry.trainer.training import train  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--epochs", default="4,6,8")
    parser.add_argument("--json", type=Path, default=Path("bench/results/epochs.json"))
    args = parser.parse_args()
    events, labels = site_set(HELD_OUT_SITES, 2000)
    results: dict[str, Any] = {"machine": machine(), "data": args.data.name, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in [int(e) for e in args.epochs.split(",")]:
            store = Path(tmp) / str(epochs)
            trained = train(TrainSettings(data=(args.data,), store=store, epochs=epochs, verbose=0))
            detector = load_detector(ModelStore(store))
            scores = detector.score_events(events)
            flagged = scores >= detector.threshold
            validation = trained.evaluations["validation"]
            results["runs"][str(epochs)] = {
                "train_seconds": round(trained.train_seconds, 1),
                "threshold": detector.threshold,
                "validation_tpr_at_fpr": validation.tpr_at_fpr,
                "validation_sites_benign_flagged": float(flagged[labels == 0].mean()),
                "validation_sites_attacks_detected": float(flagged[labels == 1].mean()),
                "validation_sites_tpr_at_fpr": tpr_at_fprs(labels, scores),
            }
            print(epochs, results["runs"][str(epochs)], flush=True)
    lines = [
        f"machine: {results['machine']}",
        "| epochs | training s | validation TPR at FPR 0.1 % | validation sites: benign flagged "
        "| attacks detected | TPR at FPR 0.1 % |",
        "|---|---|---|---|---|---|",
    ]
    for epochs, r in results["runs"].items():
        lines.append(
            f"| {epochs} | {r['train_seconds']:.0f} | {r['validation_tpr_at_fpr']['0.001']:.4f} | "
            f"{r['validation_sites_benign_flagged']:.4f} | {r['validation_sites_attacks_detected']:.4f} | "
            f"{r['validation_sites_tpr_at_fpr']['0.001']:.4f} |"
        )
    write_results(args.json, results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
