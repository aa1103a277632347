"""Every architecture the trainer offers publishes with its ONNX export; a refused export loses nothing."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from logsentry.cli import main
from logsentry.errors import ExportMismatch
from logsentry.model_store.model.onnx_runtime import ONNX_FILE, OnnxInference
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import CHECK_SAMPLE_FILE, ModelStore
from logsentry.trainer.architectures import ARCHITECTURES
from logsentry.trainer.settings import TrainSettings
from logsentry.trainer.training import train

EVERY_ARCHITECTURE = ("rnn", "lstm", "lstm-dense", "conv-lstm")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from logsentry.trainer.generate import write_csv

    path = tmp_path_factory.mktemp("export") / "small.csv"
    write_csv(path, 600, seed=5)
    return path


def test_every_architecture_is_offered_here() -> None:
    assert set(EVERY_ARCHITECTURE) <= set(ARCHITECTURES)


@pytest.mark.parametrize("architecture", EVERY_ARCHITECTURE)
def test_every_architecture_publishes_with_its_checked_onnx_export(
    architecture: str, small_csv: Path, tmp_path: Path
) -> None:
    store = ModelStore(tmp_path / "models")
    result = train(
        TrainSettings(
            data=(small_csv,),
            store=store.root,
            architecture=architecture,
            epochs=1,
            max_len=128,  # the reference's fixed width, shortened: the export path is the same
            augment=0,
            verbose=0,
            threshold_rule="fixed:0.5",
        )
    )
    assert store.current() == result.version and store.held() == []
    onnx = store.manifest().onnx
    assert onnx is not None and onnx["status"] == "checked" and onnx["file"] == ONNX_FILE
    assert onnx["rows"] > 50 and onnx["verdict_flips"] == 0 and onnx["max_logit_diff"] <= onnx["logit_tolerance"]
    # the default family's graph is written from its weights; the reference models are converted
    assert onnx["converter"].startswith("logsentry-graph" if architecture == "conv-lstm" else "tf2onnx")
    detector = load_detector(store)
    assert detector.runtime == "onnx" and detector.score_events([{"method": "get", "path": "/"}]).shape == (1,)


class Drifting(OnnxInference):
    """An export that scores a little off: the refusal path, provoked."""

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return np.clip(super().__call__(ids) + np.float32(1e-2), 0, 1)


def test_a_refused_export_holds_the_version_and_the_user_can_finish_it(
    small_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from logsentry.trainer import onnx_export

    store = ModelStore(tmp_path / "models")
    settings = TrainSettings(data=(small_csv,), store=store.root, epochs=1, verbose=0, augment=0)
    with monkeypatch.context() as patched:
        patched.setattr(onnx_export, "OnnxInference", Drifting)
        with pytest.raises(ExportMismatch) as refused:
            train(settings)
    (held,) = store.held()
    message = str(refused.value)
    assert "largest logit difference" in message and f"version {held} is held" in message
    assert f"logsentry models publish {held} --keras-only" in message and f"logsentry models export {held}" in message
    assert store.versions() == [] and store.current() is None
    assert (store.verify_held(held) / CHECK_SAMPLE_FILE).is_file()
    assert not (store.verify_held(held) / ONNX_FILE).exists()
    assert main(["models", "list", "--store", str(store.root)]) == 0
    assert f"H {held}" in capsys.readouterr().out

    # one way out: re-run only the export (here with the converter working again)
    second = ModelStore(tmp_path / "second")
    shutil.copytree(store.root, second.root)
    assert main(["models", "export", held, "--store", str(second.root)]) == 0
    assert second.versions() == [held] and second.held() == []
    onnx = second.manifest(held).onnx
    assert onnx is not None and onnx["status"] == "checked" and onnx["verdict_flips"] == 0
    assert not (second.verify(held) / CHECK_SAMPLE_FILE).exists()
    second.promote(held)
    assert load_detector(second).runtime == "onnx"

    # the other: publish it served by Keras, recorded in the manifest and shown by `models list`
    assert main(["models", "publish", held, "--store", str(store.root)]) == 2  # says which flag it needs
    assert "--keras-only" in capsys.readouterr().err
    assert main(["models", "publish", held, "--keras-only", "--store", str(store.root)]) == 0
    manifest = store.manifest(held)
    assert manifest.keras_only and manifest.onnx is not None and manifest.onnx["max_logit_diff"] > 1e-3
    assert store.held() == [] and not (store.verify(held) / ONNX_FILE).exists()
    store.promote(held)
    capsys.readouterr()
    assert main(["models", "list", "--store", str(store.root)]) == 0
    assert "runtime=keras (ONNX export refused)" in capsys.readouterr().out
    with caplog.at_level(logging.WARNING):
        detector = load_detector(store)
    assert detector.runtime == "keras" and any("served by Keras only" in r.message for r in caplog.records)
    assert json.loads(json.dumps(manifest.to_dict()))["onnx"]["serving"] == "keras"


def test_the_fallback_flag_publishes_on_keras_at_once(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logsentry.trainer import onnx_export

    monkeypatch.setattr(onnx_export, "OnnxInference", Drifting)
    store = ModelStore(tmp_path / "models")
    result = train(
        TrainSettings(data=(small_csv,), store=store.root, epochs=1, verbose=0, augment=0, export_fallback="keras")
    )
    assert store.current() == result.version and store.held() == []
    assert store.manifest().keras_only
