"""The model store: atomic publish, resolution, promotion, refusal of bad artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import CorruptArtifact, IncompatibleArtifact, StoreError
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import CHECKSUMS_FILE, MANIFEST_FILE, MODEL_FILE, ModelStore, file_sha256
from tests.conftest import publish, toy_preprocessing


def _reseal(path: Path) -> None:
    """Recompute checksums after a deliberate edit, to test the check *behind* them."""
    sums = json.loads((path / CHECKSUMS_FILE).read_text())
    (path / CHECKSUMS_FILE).write_text(json.dumps({n: file_sha256(path / n) for n in sums}))


def test_publish_makes_a_complete_version_not_yet_current(store: ModelStore) -> None:
    version = publish(store)
    assert store.versions() == [version]
    assert store.current() is None
    files = {p.name for p in (store.versions_dir / version).iterdir()}
    assert {MODEL_FILE, MANIFEST_FILE, CHECKSUMS_FILE} <= files
    assert store.verify(version).name == version
    with pytest.raises(StoreError, match="promote one first"):
        store.resolve("current")


def test_a_failed_publish_leaves_nothing_visible(store: ModelStore) -> None:
    with pytest.raises(RuntimeError), store.new_version() as draft:
        (draft.path / MODEL_FILE).write_bytes(b"half")
        raise RuntimeError("trainer crashed")
    assert store.versions() == []
    assert not list(store.root.glob(".staging-*"))


def test_a_killed_publish_is_invisible_and_collected(store: ModelStore) -> None:
    publish(store)
    stale = store.root / ".staging-20990101T000000000Z-dead00-x"
    stale.mkdir()
    (stale / MODEL_FILE).write_bytes(b"half")
    assert len(store.versions()) == 1
    assert store.gc_staging() == [stale] and not stale.exists()


def test_draft_without_manifest_is_refused(store: ModelStore) -> None:
    with pytest.raises(StoreError, match="without a manifest"), store.new_version() as draft:
        (draft.path / MODEL_FILE).write_bytes(b"x")
    assert store.versions() == []


def test_resolve_latest_pinned_and_prefix(store: ModelStore) -> None:
    first, second = publish(store), publish(store)
    assert store.resolve("latest") == second
    assert store.resolve(first) == first
    assert store.resolve(first[:22]) == first
    with pytest.raises(StoreError, match="no version"):
        store.resolve("19990101")


def test_promote_and_roll_back(store: ModelStore) -> None:
    first, second, third = publish(store), publish(store), publish(store)
    for version in (first, second, third):
        store.promote(version)
    assert store.current() == third
    assert store.rollback() == second
    assert store.rollback() == first  # rollbacks walk back, they do not toggle
    assert ModelStore(store.root).current() == first
    assert [p["version"] for p in store.promotions()] == [first, second, third, second, first]
    with pytest.raises(StoreError, match="no earlier"):
        store.rollback()


def test_load_pinned_and_current_scores(store: ModelStore) -> None:
    version = publish(store)
    store.promote(version)
    detector = load_detector(store)
    assert detector.version == version
    scores = detector.score_events([{"method": "get", "path": "/"}, {"q": "<script>"}])
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_corrupt_weights_are_refused_naming_the_file(store: ModelStore) -> None:
    version = publish(store)
    model = store.versions_dir / version / MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifact, match=r"model\.keras does not match its checksum"):
        load_detector(store, version)
    with pytest.raises(CorruptArtifact):
        store.promote(version)


def test_missing_file_is_refused(store: ModelStore) -> None:
    version = publish(store)
    (store.versions_dir / version / MANIFEST_FILE).unlink()
    with pytest.raises(CorruptArtifact, match=r"manifest\.json is missing"):
        load_detector(store, version)


def test_incompatible_preprocessing_version_is_refused(store: ModelStore) -> None:
    version = publish(store)
    path = store.versions_dir / version
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["preprocessing"]["version"] = 99
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))
    _reseal(path)
    with pytest.raises(IncompatibleArtifact, match="preprocessing version 99"):
        load_detector(store, version)


def test_a_model_with_a_lambda_layer_is_refused_by_safe_mode(store: ModelStore) -> None:
    import keras

    pre = toy_preprocessing()
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(pre.tokenizer.input_dim, 4)(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    version = publish(store, model, pre)
    with pytest.raises(CorruptArtifact, match="cannot be loaded safely"):
        load_detector(store, version)
