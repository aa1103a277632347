"""Does the model learn attacks or the site? Scored on sites that training never contained.

    python bench/cross_site.py [--data ../shared/data/fwaf-access.csv] [--augment 20000]
                               [--json bench/results/cross_site.json]

Trains, side by side in one run, the default recipe on ``--data`` alone and with ``--augment``
generated requests of 20 generated sites (``trainer.sites``, seeds 1000-1019), then scores,
at each model's own threshold:

* five generated sites never used in training (seeds 2000-2004), each with its own routes,
  parameter names and value shapes, 30 % attacks grafted into its own parameters;
* the project's generated shop (``logsentry generate --rows 4000 --seed 11 --attack-share 0.3``),
  whose vocabulary neither model saw;
* the shared holdout (the same site as the training file: it flatters every model).

For each: the share of ordinary requests flagged, the share of attacks detected, and the
detection rate at fixed false-positive rates.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, train_default, write_results  # noqa: E402
from model_store.scoring import load_detector  # noqa: E402
from model_store.store import ModelStore  # noqa: E402
from trainer.data import read_labelled_csv  # noqa: E402
from trainer.evaluation import tpr_at_fprs  # noqa: E402
from trainer.generate import generate_events  # noqa: E402
from trainer.sites import site_traffic  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HELD_OUT_SITES = (2000, 2001, 2002, 2003, 2004)


def figures(detector: Any, events: list[dict[str, Any]], labels: np.ndarray) -> dict[str, Any]:
    scores = detector.score_events(events)
    flagged = scores >= detector.threshold
    return {
        "n": len(events),
        "benign_flagged": float(flagged[labels == 0].mean()),
        "attacks_detected": float(flagged[labels == 1].mean()),
        "tpr_at_fpr": tpr_at_fprs(labels, scores),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--holdout", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--augment", type=int, default=20_000)
    parser.add_argument("--rows-per-site", type=int, default=4000)
    parser.add_argument("--json", type=Path, default=Path("bench/results/cross_site.json"))
    args = parser.parse_args()

    sets: dict[str, tuple[list[dict[str, Any]], np.ndarray]] = {}
    for site in HELD_OUT_SITES:
        rows = list(site_traffic([site], args.rows_per_site, seed=site, attack_share=0.3))
        sets[f"site {site}"] = ([e for e, _, _ in rows], np.asarray([y for _, y, _ in rows]))
    shop = list(generate_events(4000, seed=11, attack_share=0.3))
    sets["generated shop"] = ([e for e, _ in shop], np.asarray([y for _, y in shop]))
    holdout = read_labelled_csv(args.holdout)
    sets["shared holdout (same site)"] = (holdout.events, holdout.labels)

    results: dict[str, Any] = {"machine": machine(), "data": args.data.name, "augment": args.augment, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        recipes = (("default recipe", []), (f"+ {args.augment} requests of 20 sites", ["--augment", str(args.augment)]))
        for name, extra in recipes:
            store = train_default(args.data, Path(tmp) / name.replace(" ", "_"), *extra)
            detector = load_detector(ModelStore(store))
            per_set = {label: figures(detector, *data) for label, data in sets.items()}
            sites = [k for k in per_set if k.startswith("site ")]
            pooled_events = [e for k in sites for e in sets[k][0]]
            pooled_labels = np.concatenate([sets[k][1] for k in sites])
            per_set["held-out sites, pooled"] = figures(detector, pooled_events, pooled_labels)
            results["models"][name] = {"threshold": detector.threshold, "sets": per_set}
            print(f"{name}: threshold {detector.threshold:.4f}", flush=True)
    lines = [f"machine: {results['machine']}"]
    for name, model in results["models"].items():
        lines += [
            f"### {name} (threshold {model['threshold']:.4f})",
            "| scored on | benign flagged | attacks detected | TPR at FPR 0.1 % | TPR at FPR 1 % |",
            "|---|---|---|---|---|",
        ]
        for label, f in model["sets"].items():
            lines.append(
                f"| {label} | {f['benign_flagged']:.4f} | {f['attacks_detected']:.4f} | "
                f"{f['tpr_at_fpr'].get('0.001', float('nan')):.4f} | {f['tpr_at_fpr'].get('0.01', float('nan')):.4f} |"
            )
    write_results(args.json, results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
