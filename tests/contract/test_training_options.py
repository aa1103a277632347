"""Training options through the real CLI: threshold rules, the out-of-vocabulary policy,
``--strict``, the evaluation report and ``models verify`` on what was published."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.data import read_labelled_csv
from logsentry.trainer.pipeline import VALIDATION, split_parts
from tests.contract.cli_errors import run_cli

QUICK = ("--epochs", "1", "--augment", "0", "--keras-verbose", "0")


@pytest.fixture(scope="module")
def fixed_drop_store(tmp_path_factory: pytest.TempPathFactory, generated_csv: Path) -> ModelStore:
    root = tmp_path_factory.mktemp("options") / "models"
    done = run_cli(
        [
            "train",
            "--data",
            str(generated_csv),
            "--store",
            str(root),
            "--threshold-rule",
            "fixed:0.7",
            "--oov",
            "drop",
            "--strict",
            *QUICK,
        ]
    )
    assert done.returncode == 0, done.stderr
    assert "published" in done.stdout
    return ModelStore(root)


def test_a_fixed_threshold_rule_is_the_published_threshold(fixed_drop_store: ModelStore) -> None:
    manifest = fixed_drop_store.manifest()
    assert manifest.threshold == 0.7 and manifest.threshold_rule == "fixed:0.7"
    assert manifest.evaluation["test"]["threshold"] == 0.7


def test_dropped_unseen_characters_score_as_if_absent(fixed_drop_store: ModelStore) -> None:
    detector = load_detector(fixed_drop_store)
    tokenizer = detector.preprocessing.tokenizer
    assert tokenizer.oov == "drop" and tokenizer.oov_index is None
    unseen = "".join(chr(c) for c in range(0x2600, 0x2610) if chr(c) not in tokenizer.vocabulary)
    text = '{"method":"get","path":"/search","query":{"q":"shoes"}}'
    with_unseen = text.replace("shoes", "sh" + unseen + "oes")
    scores = detector.score_texts([text, with_unseen])
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)


def test_the_report_says_what_was_trained_and_how_it_scored(fixed_drop_store: ModelStore) -> None:
    report = fixed_drop_store.path() / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["version"] == fixed_drop_store.current()
    assert metrics["training"]["threshold_rule"] == "fixed:0.7"
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["test"]["threshold"] == 0.7
    summary = (report / "summary.md").read_text()
    assert fixed_drop_store.current() in summary and "0.7" in summary
    for plot in ("roc.png", "precision_recall.png", "scores.png", "calibration.png"):
        assert (report / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot


def test_models_verify_accepts_what_was_published_and_names_the_version(fixed_drop_store: ModelStore) -> None:
    done = run_cli(["models", "verify", "--store", str(fixed_drop_store.root)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok: {fixed_drop_store.current()}"


def test_the_f1_rule_puts_the_threshold_between_validation_scores(generated_csv: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    done = run_cli(["train", "--data", str(generated_csv), "--store", str(root), "--threshold-rule", "f1", *QUICK])
    assert done.returncode == 0, done.stderr
    store = ModelStore(root)
    manifest = store.manifest()
    assert manifest.threshold_rule == "f1" and 0 < manifest.threshold < 1
    validation = manifest.evaluation["validation"]
    assert validation["threshold"] == manifest.threshold
    # the validation scores rebuilt: the data's rows of the validation part (seed 42, no augmentation),
    # scored by the published network on the runtime training evaluated with
    data = read_labelled_csv(generated_csv)
    parts = split_parts(len(data.events), test_size=0.25, validation_split=0.25, seed=42)
    rows = np.flatnonzero(parts == VALIDATION)
    assert len(rows) == validation["n"]
    scores = load_detector(store, runtime="keras").score_events([data.events[i] for i in rows]).astype(np.float64)
    labels = np.asarray(data.labels)[rows]
    t = manifest.threshold
    # never a score itself: strictly between two neighbouring validation scores
    assert not np.any(np.isclose(scores, t, rtol=0, atol=1e-9)), "a validation score sits on the threshold"
    assert scores.min() < t < scores.max() or (scores >= t).all() or (scores < t).all()

    def f1(at: float) -> float:
        flagged = scores >= at
        tp = int((flagged & (labels == 1)).sum())
        return 2 * tp / (int(flagged.sum()) + int(labels.sum()))

    best = max(f1(at) for at in [*np.unique(scores), np.nextafter(scores.max(), 2.0)])
    assert f1(t) == pytest.approx(best, abs=1e-12), "F1 at the threshold is the best F1 any threshold gives"
    assert validation["f1"] == pytest.approx(best, abs=1e-9)


def test_strict_training_stops_at_a_malformed_row_and_publishes_nothing(generated_csv: Path, tmp_path: Path) -> None:
    data = tmp_path / "with-a-bad-row.csv"
    lines = generated_csv.read_text().splitlines(keepends=True)
    data.write_text("".join(lines[:10]) + '|{"method":"get","path":"/b","q":NaN}|,1\n' + "".join(lines[10:]))
    root = tmp_path / "models"
    done = run_cli(["train", "--data", str(data), "--store", str(root), "--strict", *QUICK])
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "line 11" in line and "NaN" in line, line
    assert not (root / "versions").exists() or not any((root / "versions").iterdir())
    lenient = run_cli(["train", "--data", str(data), "--store", str(root), *QUICK])
    assert lenient.returncode == 0, lenient.stderr
    assert "line 11" in lenient.stderr, "without --strict the row is reported and skipped"
    assert ModelStore(root).manifest().training_data.rows_rejected == 1
    assert np.isfinite(ModelStore(root).manifest().threshold)


def test_the_distinct_rule_budgets_causes_and_the_report_gives_both_rates(generated_csv: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    rule = ("--threshold-rule", "distinct:0.01")
    done = run_cli(["train", "--data", str(generated_csv), "--store", str(root), *rule, "--corpus", "none", *QUICK])
    assert done.returncode == 0, done.stderr
    manifest = ModelStore(root).manifest()
    assert manifest.threshold_rule == "distinct:0.01"
    validation = manifest.evaluation["validation"]
    assert validation["threshold"] == manifest.threshold
    # the requests of one cause count once: the budget holds on the causes
    assert 0 <= validation["distinct_false_positive_rate"] <= 0.01
    assert manifest.evaluation["test"]["distinct_false_positive_rate"] is None, "only validation chooses"
