"""Does the model learn attacks or the site? Scored on generated sites that training never contained.

What this measures is the generator: its test sites come from the same grammar as the
training sites (other words, same shapes), so it flatters every recipe that trains on
generated sites (0.26 % of ordinary requests flagged here where a real blog's log gave
14.9 %). Real traffic of sites training never read is ``bench/real_sites.py``'s.

    python bench/cross_site.py [--data ../shared/data/fwaf-access.csv] [--augments 0,8000,20000]
                               [--seeds 42] [--json bench/results/cross_site.json]

Trains, side by side in one run, the default architecture on ``--data`` with each number of
generated requests of the 20 training sites (``train --augment N``; ``trainer.sites``, seeds
1000-1019), then scores, at each model's own threshold:

* validation sites: five sites built from the held-out vocabulary (``bench/heldout.py``,
  seeds 5000-5004), with their own routes, parameter names, value shapes and free text,
  30 % attacks grafted into their own parameters. The recipe is chosen on these;
* test sites: five more of the held-out vocabulary (seeds 6000-6004), reported once;
* the project's generated shop (``logsentry generate --rows 4000 --seed 11 --attack-share 0.3``);
* the shared holdout (the same site as the training file: it flatters every model).

For each: the share of ordinary requests flagged, the share of attacks detected, and the
detection rate at fixed false-positive rates; with several seeds, mean and spread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, mean_spread, train_default, write_results  # noqa: E402
from bench.heldout import HELD_OUT, HELD_OUT_SITES  # noqa: E402
from logsentry.model_store.serving import load_detector  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402
from logsentry.trainer.evaluation import tpr_at_fprs  # noqa: E402
from logsentry.trainer.generate import generate_events  # noqa: E402
from logsentry.trainer.sites import site_traffic  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TEST_SITES = (6000, 6001, 6002, 6003, 6004)


def figures(detector: Any, events: list[dict[str, Any]], labels: np.ndarray) -> dict[str, Any]:
    scores = detector.score_events(events)
    flagged = scores >= detector.threshold
    return {
        "n": len(events),
        "accuracy": float((flagged == (labels == 1)).mean()),
        "benign_flagged": float(flagged[labels == 0].mean()),
        "attacks_detected": float(flagged[labels == 1].mean()),
        "tpr_at_fpr": tpr_at_fprs(labels, scores),
    }


def site_set(sites: tuple[int, ...], rows_per_site: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    rows = [
        r
        for site in sites
        for r in site_traffic([site], rows_per_site, seed=site, attack_share=0.3, vocabulary=HELD_OUT)
    ]
    return [e for e, _, _ in rows], np.asarray([y for _, y, _ in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--holdout", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--augments", default="0,8000,20000", help="generated requests per recipe, comma-separated")
    parser.add_argument("--seeds", default="42", help="training seeds, comma-separated")
    parser.add_argument("--rows-per-site", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=Path("bench/results/cross_site.json"))
    args = parser.parse_args()
    augments = [int(a) for a in args.augments.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]

    sets: dict[str, tuple[list[dict[str, Any]], np.ndarray]] = {}
    for group, sites in (("validation", HELD_OUT_SITES), ("test", TEST_SITES)):
        for site in sites:
            sets[f"{group} site {site}"] = site_set((site,), args.rows_per_site)
        sets[f"{group} sites, pooled"] = site_set(sites, args.rows_per_site)
    shop = list(generate_events(4000, seed=11, attack_share=0.3))
    sets["generated shop"] = ([e for e, _ in shop], np.asarray([y for _, y in shop]))
    holdout = read_labelled_csv(args.holdout)
    sets["shared holdout (same site)"] = (holdout.events, holdout.labels)

    results: dict[str, Any] = {"machine": machine(), "data": args.data.name, "seeds": seeds, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for augment in augments:
            for seed in seeds:
                store = Path(tmp) / f"augment-{augment}-seed-{seed}"
                started = time.perf_counter()
                train_default(args.data, store, "--augment", str(augment), "--seed", str(seed))
                seconds = time.perf_counter() - started
                detector = load_detector(ModelStore(store))
                per_set = {label: figures(detector, *data) for label, data in sets.items()}
                test = ModelStore(store).manifest().evaluation["test"]
                results["runs"].append(
                    {
                        "augment": augment,
                        "seed": seed,
                        "threshold": detector.threshold,
                        "train_seconds": round(seconds, 1),
                        "shared_test_accuracy": test["accuracy"],
                        "sets": per_set,
                    }
                )
                print(f"augment {augment} seed {seed}: threshold {detector.threshold:.4f}, {seconds:.0f} s", flush=True)

    lines = [f"machine: {results['machine']}; seeds {seeds}"]
    for augment in augments:
        runs = [r for r in results["runs"] if r["augment"] == augment]
        lines += [
            f"### --augment {augment} (threshold {mean_spread([r['threshold'] for r in runs])}, "
            f"training {mean_spread([r['train_seconds'] for r in runs])} s; shared test split accuracy "
            f"{mean_spread([r['shared_test_accuracy'] for r in runs])}, holdout accuracy "
            f"{mean_spread([r['sets']['shared holdout (same site)']['accuracy'] for r in runs])})",
            "| scored on | benign flagged | attacks detected | TPR at FPR 0.1 % | TPR at FPR 1 % |",
            "|---|---|---|---|---|",
        ]
        for label in sets:
            got = [r["sets"][label] for r in runs]
            lines.append(
                f"| {label} | {mean_spread([f['benign_flagged'] for f in got])} | "
                f"{mean_spread([f['attacks_detected'] for f in got])} | "
                f"{mean_spread([f['tpr_at_fpr'].get('0.001', float('nan')) for f in got])} | "
                f"{mean_spread([f['tpr_at_fpr'].get('0.01', float('nan')) for f in got])} |"
            )
    write_results(args.json, results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
