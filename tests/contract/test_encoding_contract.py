"""Trainer and stream see the same thing: one cleanup, one tokenizer, one scoring function."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from logsentry.model_store.ingest.formats import decode_event
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.data import read_labelled_csv
from logsentry.trainer.evaluation import evaluate
from logsentry.trainer.pipeline import split_indices


def _live_messages(path: Path) -> list[bytes]:
    """The JSON text of each CSV row as a producer would put it on the log topic."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[0].encode("utf-8") for row in csv.reader(handle, quotechar="|")]


def test_csv_row_and_live_message_encode_identically(trained_store: ModelStore, generated_csv: Path) -> None:
    pre = trained_store.manifest().preprocessing
    from_csv = read_labelled_csv(generated_csv).events
    from_kafka = [decode_event(value) for value in _live_messages(generated_csv)]
    assert len(from_csv) == len(from_kafka) == 1200
    csv_buckets = pre.encode_events(from_csv)
    live_buckets = pre.encode_events(from_kafka)
    assert [b.width for b in csv_buckets] == [b.width for b in live_buckets]
    for a, b in zip(csv_buckets, live_buckets, strict=True):
        assert np.array_equal(a.rows, b.rows)
        assert np.array_equal(a.ids, b.ids)


def test_scores_do_not_depend_on_batch_composition(trained_store: ModelStore, generated_csv: Path) -> None:
    detector = load_detector(trained_store)
    events = read_labelled_csv(generated_csv).events[:300]
    # several length buckets, so the batch is scored by concurrent calls (one per bucket)
    assert len(detector.preprocessing.encode_events(events)) >= 3
    together = detector.score_events(events)
    alone = np.array([detector.score_events([e])[0] for e in events[:40]])
    reversed_ = detector.score_events(events[::-1])[::-1]
    np.testing.assert_allclose(alone, together[:40], atol=1e-5)
    np.testing.assert_allclose(reversed_, together, atol=1e-5)


def test_saved_artifact_scores_as_the_trainer_measured(trained_store: ModelStore, generated_csv: Path) -> None:
    manifest = trained_store.manifest()
    logs = read_labelled_csv(generated_csv)
    hp = manifest.hyperparameters
    split = split_indices(
        len(logs.events), test_size=hp["test_size"], validation_split=hp["validation_split"], seed=hp["seed"]
    )
    detector = load_detector(trained_store)
    scores = detector.score_events([logs.events[i] for i in split.test])
    again = evaluate(logs.labels[split.test], scores, manifest.threshold)
    recorded = manifest.evaluation["test"]
    assert (again.tp, again.fp, again.tn, again.fn) == (recorded["tp"], recorded["fp"], recorded["tn"], recorded["fn"])
    assert again.roc_auc == pytest.approx(recorded["roc_auc"], abs=1e-6)


def test_our_csv_reader_agrees_with_pandas_reference_reader(generated_csv: Path, tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(generated_csv.read_text() + '|{"path":"/","q":"a||b","x":"||"}|,1\n')
    frame = pd.read_csv(path, engine="python", quotechar="|", header=None)
    ours = read_labelled_csv(path)
    assert [json.loads(t) for t in frame[0]] == ours.events
    assert frame[1].tolist() == ours.labels.tolist()
    assert ours.events[-1] == {"path": "/", "q": "a|b", "x": "|"}
