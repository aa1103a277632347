"""Accuracy and training time: reference architectures, the default, a TF-IDF baseline.

    python bench/accuracy.py [--data ../shared/data/fwaf-access.csv] [--holdout ../shared/data/fwaf-holdout.csv]
                             [--models rnn,lstm,lstm-dense,conv-lstm,conv-lstm-wide]
                             [--json bench/results/accuracy.json]

Every model is trained in this one run, on this machine, with the reference split (75/25,
seed 42). Reference architectures use the reference protocol (3 epochs, batch 128, the
data alone: ``--augment 0``); the default uses its own defaults, generated sites included.
Accuracy is reported at the model's stored threshold (chosen
on validation data) and at 0.5 (what the reference reported). The baseline is a character
1-3-gram TF-IDF (sublinear tf) + logistic regression (C=10) on the same cleaned texts and
training rows; the published figures for that baseline are 0.9963 (test) / 0.9944 (holdout).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.data import read_labelled_csv
from logsentry.trainer.evaluation import evaluate
from logsentry.trainer.pipeline import split_indices
from logsentry.trainer.settings import TrainSettings
from logsentry.trainer.training import prepare, train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def baseline(data: Path, holdout: Path | None) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    logs = read_labelled_csv(data)
    split = split_indices(len(logs.events), test_size=0.25, validation_split=0.25, seed=42)
    rows = np.concatenate([split.train, split.validation])
    pre = prepare(logs, TrainSettings(data=(data,), store=Path()), rows)
    texts = pre.texts(logs.events)
    started = time.perf_counter()
    # the strongest setting of a small grid (C in 1/10/100, sublinear tf or not) on this data
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=True, sublinear_tf=True)
    features = vectorizer.fit_transform([texts[i] for i in rows])
    model = LogisticRegression(C=10, max_iter=3000).fit(features, logs.labels[rows])
    seconds = time.perf_counter() - started
    test_scores = model.predict_proba(vectorizer.transform([texts[i] for i in split.test]))[:, 1]
    result = {"train_seconds": seconds, "test_accuracy": evaluate(logs.labels[split.test], test_scores, 0.5).accuracy}
    if holdout:
        hold = read_labelled_csv(holdout)
        scores = model.predict_proba(vectorizer.transform(pre.texts(hold.events)))[:, 1]
        result["holdout_accuracy"] = evaluate(hold.labels, scores, 0.5).accuracy
    return result


def neural(name: str, data: Path, holdout: Path | None, root: Path) -> dict[str, float]:
    store = root / name
    from logsentry.trainer.architectures import DEFAULT_ARCHITECTURE

    augment = None if name == DEFAULT_ARCHITECTURE else 0  # the default recipe, or the reference's
    result = train(TrainSettings(data=(data,), store=store, architecture=name, verbose=2, augment=augment))
    detector = load_detector(ModelStore(store))
    test = result.evaluations["test"]
    out = {
        "train_seconds": result.train_seconds,
        "epochs": result.manifest.hyperparameters["epochs"],
        "augment": result.manifest.hyperparameters["augment"],
        "threshold": detector.threshold,
        "test_accuracy": test.accuracy,
        "test_f1": test.f1,
        "test_roc_auc": test.roc_auc,
    }
    logs = read_labelled_csv(data)
    split = split_indices(len(logs.events), test_size=0.25, validation_split=0.25, seed=42)
    scores = detector.score_events([logs.events[i] for i in split.test])
    out["test_accuracy_at_0.5"] = evaluate(logs.labels[split.test], scores, 0.5).accuracy
    if holdout:
        hold = read_labelled_csv(holdout)
        started = time.perf_counter()
        scores = detector.score_events(hold.events)
        out["holdout_score_events_per_s"] = len(hold.events) / (time.perf_counter() - started)
        out["holdout_accuracy"] = evaluate(hold.labels, scores, detector.threshold).accuracy
        out["holdout_accuracy_at_0.5"] = evaluate(hold.labels, scores, 0.5).accuracy
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--holdout", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--models", default="rnn,lstm,lstm-dense,conv-lstm,conv-lstm-wide")
    parser.add_argument("--json", type=Path, default=Path("bench/results/accuracy.json"))
    args = parser.parse_args()
    holdout = args.holdout if args.holdout and args.holdout.exists() else None
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in [m for m in args.models.split(",") if m]:
            results[name] = neural(name, args.data, holdout, Path(tmp))
            print(name, json.dumps(results[name]), flush=True)
    results["tfidf-logreg"] = baseline(args.data, holdout)
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "| model | epochs | train s | threshold | test acc | test acc @0.5 | holdout acc | holdout acc @0.5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r.get('epochs', '-')} | {r['train_seconds']:.1f} | {r.get('threshold', 0.5):.3f} "
            f"| {r['test_accuracy']:.4f} | {r.get('test_accuracy_at_0.5', r['test_accuracy']):.4f} "
            f"| {r.get('holdout_accuracy', float('nan')):.4f} "
            f"| {r.get('holdout_accuracy_at_0.5', r.get('holdout_accuracy', float('nan'))):.4f} |"
        )
    if "lstm" in results and "conv-lstm" in results:
        ratio = results["conv-lstm"]["train_seconds"] / results["lstm"]["train_seconds"]
        lines.append(f"\ndefault training wall time = {ratio:.0%} of the reference lstm's")
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
