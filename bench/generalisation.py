"""Leave-one-family-out: does the model detect an attack family it was never shown?

    python bench/generalisation.py [--rows 16000] [--families sqli,xss,...] [--seeds 42]
                                   [--json bench/results/generalisation.json]

For each attack family of ``trainer.attacks`` (and once with none left out), trains the
default architecture and threshold rule on ``--rows`` requests of the 20 generated training
sites (``trainer.sites``, seeds 1000-1019, half of them attacks) with that family left out,
then scores, at the model's own threshold (rule ``fpr:0.001`` on its validation split):

* ordinary requests of five sites built from the held-out vocabulary (``bench/heldout.py``):
  routes, parameter names and free text that no training set contains;
* the left-out family's attacks grafted into those same sites' parameters.

Reported per family: its detection rate at the model's threshold, the held-out sites'
benign requests flagged at that threshold, and the detection rate at a false-positive rate
of 0.1 % and 1 % (thresholds set on the held-out benign requests themselves, so these two say
what the ranking can do, not what the deployed threshold does). The row "(none)" is trained
on every family and scored on all of them. Training uses only generated data: the shared
reference file holds several of these families unlabelled, so it would leak the family.
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
from logsentry.trainer.attacks import ATTACK_FAMILIES  # noqa: E402
from logsentry.trainer.data import format_row  # noqa: E402
from logsentry.trainer.evaluation import tpr_at_fprs  # noqa: E402
from logsentry.trainer.sites import site_traffic  # noqa: E402
from logsentry.trainer.training import TRAINING_SITES  # noqa: E402


def write_training_csv(path: Path, rows: int, seed: int, families: tuple[str, ...]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        for event, label, family in site_traffic(list(TRAINING_SITES), rows, seed=seed, families=families):
            handle.write(format_row(event, label, family))


def held_out_sets(per_family: int, benign: int) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Benign requests of the held-out sites, and each family's attacks grafted into them."""
    ordinary = [
        e for e, _, _ in site_traffic(list(HELD_OUT_SITES), benign, seed=7, attack_share=0.0, vocabulary=HELD_OUT)
    ]
    attacks = {
        family: [
            e
            for e, _, _ in site_traffic(
                list(HELD_OUT_SITES), per_family, seed=8, attack_share=1.0, families=(family,), vocabulary=HELD_OUT
            )
        ]
        for family in ATTACK_FAMILIES
    }
    return ordinary, attacks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16_000, help="generated training requests per model")
    parser.add_argument("--families", default=",".join(ATTACK_FAMILIES), help="families to leave out, in turn")
    parser.add_argument("--seeds", default="42", help="training seeds (comma-separated): mean and spread")
    parser.add_argument("--per-family", type=int, default=500, help="held-out attacks scored per family")
    parser.add_argument("--benign", type=int, default=5000, help="held-out benign requests scored")
    parser.add_argument("--json", type=Path, default=Path("bench/results/generalisation.json"))
    args = parser.parse_args()
    left_out = [f for f in args.families.split(",") if f]
    seeds = [int(s) for s in args.seeds.split(",")]
    unknown = set(left_out) - set(ATTACK_FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")

    ordinary, attacks = held_out_sets(args.per_family, args.benign)
    results: dict[str, Any] = {
        "machine": machine(),
        "rows": args.rows,
        "seeds": seeds,
        "held_out_benign": len(ordinary),
        "per_family": args.per_family,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for family in ["(none)", *left_out]:
                kept = tuple(f for f in ATTACK_FAMILIES if f != family)
                data = Path(tmp) / f"train-{family.strip('()')}-{seed}.csv"
                write_training_csv(data, args.rows, seed, kept)
                started = time.perf_counter()
                store = train_default(
                    data, Path(tmp) / f"store-{family.strip('()')}-{seed}", "--augment", "0", "--seed", str(seed)
                )
                seconds = time.perf_counter() - started
                detector = load_detector(ModelStore(store))
                benign_scores = detector.score_events(ordinary)
                scored = [family] if family != "(none)" else list(ATTACK_FAMILIES)
                for target in scored:
                    attack_scores = detector.score_events(attacks[target])
                    labels = np.r_[np.zeros(len(benign_scores)), np.ones(len(attack_scores))]
                    run = {
                        "seed": seed,
                        "left_out": family,
                        "family": target,
                        "threshold": detector.threshold,
                        "detected": float((attack_scores >= detector.threshold).mean()),
                        "benign_flagged": float((benign_scores >= detector.threshold).mean()),
                        "tpr_at_fpr": tpr_at_fprs(labels, np.r_[benign_scores, attack_scores]),
                        "train_seconds": round(seconds, 1),
                    }
                    results["runs"].append(run)
                print(
                    f"seed {seed} without {family}: threshold {detector.threshold:.4f}, "
                    f"benign flagged {run['benign_flagged']:.4f}, {seconds:.0f} s",
                    flush=True,
                )

    lines = [
        f"machine: {results['machine']}; {args.rows} training requests per model; seeds {seeds}",
        "| family | left out: detected at own threshold | held-out benign flagged | TPR at FPR 0.1 % "
        "| TPR at FPR 1 % | shown in training: detected |",
        "|---|---|---|---|---|---|",
    ]
    for family in left_out:
        mine = [r for r in results["runs"] if r["left_out"] == family]
        shown = [r for r in results["runs"] if r["left_out"] == "(none)" and r["family"] == family]
        cells = [
            [r["detected"] for r in mine],
            [r["benign_flagged"] for r in mine],
            [r["tpr_at_fpr"].get("0.001", 0.0) for r in mine],
            [r["tpr_at_fpr"].get("0.01", 0.0) for r in mine],
            [r["detected"] for r in shown],
        ]
        lines.append(f"| {family} | " + " | ".join(mean_spread(c, 3) for c in cells) + " |")
    write_results(args.json, results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
