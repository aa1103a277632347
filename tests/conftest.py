"""Shared fixtures: small real models and stores built in seconds from generated data."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# every `logsentry train` a test runs reads only the data it names; tests/contract/test_corpus.py
# trains with the public corpus on purpose
os.environ["LOGSENTRY_CORPUS"] = "none"

from logsentry.model_store.manifest import Manifest, TrainingData
from logsentry.model_store.model.preprocessing import CharTokenizer, CleanupSpec, Preprocessing
from logsentry.model_store.store import MODEL_FILE, ModelStore

TOY_TEXTS = ['{"method":"get","path":"/search","query":{"q":"shoes"}}', "<script>alert(1)</script> ../etc/passwd"]


def toy_preprocessing() -> Preprocessing:
    return Preprocessing(CharTokenizer.fit(TOY_TEXTS, max_len=64, buckets=(16, 32, 64)), CleanupSpec())


def toy_model(input_dim: int, seed: int = 0) -> Any:
    """A tiny untrained variable-length model: enough to save, load and score."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim, 4)(inputs)
    x = layers.GlobalMaxPooling1D()(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def publish(store: ModelStore, model: Any = None, preprocessing: Preprocessing | None = None, **extra: Any) -> str:
    """Publish ``model`` (a toy one by default) the way the trainer does."""
    pre = preprocessing or toy_preprocessing()
    model = model if model is not None else toy_model(pre.tokenizer.input_dim)
    with store.new_version() as draft:
        model.save(draft.path / MODEL_FILE)
        draft.manifest = Manifest(
            version=draft.version,
            created_at=datetime.now(UTC).isoformat(),
            architecture="toy",
            variable_length=True,
            hyperparameters={},
            preprocessing=pre,
            threshold=extra.get("threshold", 0.5),
            threshold_rule="fixed:0.5",
            evaluation={},
            training_data=TrainingData("toy.csv", "0" * 64, 0, 0, 0),
            library_versions={},
            parameters=int(model.count_params()),
        )
    return draft.version


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


@pytest.fixture(scope="session")
def generated_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from logsentry.trainer.generate import write_csv

    path = tmp_path_factory.mktemp("data") / "generated.csv"
    write_csv(path, 1200, seed=7)
    return path


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory, generated_csv: Path) -> ModelStore:
    """A real conv-lstm trained for a few seconds on generated data, published and current."""
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.training import train

    root = tmp_path_factory.mktemp("trained") / "models"
    train(TrainSettings(data=(generated_csv,), store=root, epochs=2, verbose=0))
    return ModelStore(root)
