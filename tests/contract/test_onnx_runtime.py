"""The ONNX export at publish, and serving on ONNX Runtime without TensorFlow."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from logsentry.errors import CorruptArtifact
from logsentry.model_store.model.onnx_runtime import ONNX_FILE
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import CHECKSUMS_FILE, MODEL_FILE, ModelStore, file_sha256
from logsentry.trainer.generate import labelled_events
from logsentry.trainer.onnx_export import compare
from tests.conftest import publish

ROOT = Path(__file__).resolve().parents[2]


def test_a_published_version_carries_an_export_checked_against_keras(trained_store: ModelStore) -> None:
    path = trained_store.verify()
    onnx = trained_store.manifest().onnx
    assert onnx is not None and onnx["file"] == ONNX_FILE
    assert onnx["rows"] > 0 and onnx["status"] == "checked" and onnx["verdict_flips"] == 0
    assert onnx["max_logit_diff"] <= onnx["logit_tolerance"] and onnx["rank_agreement"] > 0.99
    sums = json.loads((path / CHECKSUMS_FILE).read_text())
    assert sums[ONNX_FILE] == onnx["sha256"] == file_sha256(path / ONNX_FILE)
    assert onnx["keras_sha256"] == file_sha256(path / MODEL_FILE)


def test_both_runtimes_give_the_same_scores_and_verdicts(trained_store: ModelStore) -> None:
    events = [e for e, _, _ in labelled_events(600, seed=3, attack_share=0.4)]
    events += [{"method": "post", "path": "/c", "requestPayload": {"t": "x" * 3000 + "' or 1=1 --"}}]  # windows
    onnx, keras = load_detector(trained_store), load_detector(trained_store, runtime="keras")
    assert (onnx.runtime, keras.runtime) == ("onnx", "keras")
    a, b = onnx.score_events(events), keras.score_events(events)
    assert compare(b, a, onnx.threshold).passed  # within float noise on the logit, no verdict flipped
    assert (onnx.flags(a) == keras.flags(b)).all()


def test_a_version_published_before_the_export_runs_on_keras(
    store: ModelStore, caplog: pytest.LogCaptureFixture
) -> None:
    version = publish(store)  # model.keras only, as versions were before the export
    store.promote(version)
    with caplog.at_level(logging.WARNING):
        detector = load_detector(store)
    assert detector.runtime == "keras"
    assert any("predates the ONNX export" in r.message for r in caplog.records)
    assert detector.score_events([{"method": "get", "path": "/"}]).shape == (1,)


def test_a_manifest_naming_an_export_that_is_gone_is_refused(trained_store: ModelStore, tmp_path: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(trained_store.root, root)
    store = ModelStore(root)
    path = store.path()
    (path / ONNX_FILE).unlink()
    sums = json.loads((path / CHECKSUMS_FILE).read_text())
    del sums[ONNX_FILE]  # a consistent checksum file: only the manifest still names the export
    (path / CHECKSUMS_FILE).write_text(json.dumps(sums))
    with pytest.raises(CorruptArtifact, match=r"model\.onnx is missing"):
        load_detector(store)


SERVING = textwrap.dedent(
    """
    import io, json, sys
    from contextlib import redirect_stdout
    from logsentry.cli import main
    from logsentry.model_store.bundled import load_serving_detector
    from logsentry.model_store.store import ModelStore
    from logsentry.stream import app  # every module the stream process loads
    from logsentry.stream.tools import follow, replay
    from logsentry.stream.processor import process_batch
    from logsentry.stream.records import Message

    store, lines = sys.argv[1], sys.argv[2]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["score", "--store", store, lines]) == 0
    detector = load_serving_detector(ModelStore(store))
    batch = [Message("logs", 0, i, 0, None, line.encode(), ()) for i, line in enumerate(open(lines))]
    result = process_batch(batch, detector, alert_topic="a", dead_letter_topic="d")
    heavy = sorted(m for m in ("tensorflow", "keras", "tf2onnx", "pandas", "sklearn", "matplotlib") if m in sys.modules)
    print(json.dumps({"scored": len(out.getvalue().splitlines()), "alerts": len(result.alerts),
                      "runtime": detector.runtime, "heavy": heavy}))
    """
)


def test_score_and_the_stream_s_batch_path_never_import_tensorflow(trained_store: ModelStore, tmp_path: Path) -> None:
    lines = tmp_path / "requests.jsonl"
    events = [e for e, _, _ in labelled_events(200, seed=11, attack_share=0.5)]
    lines.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = subprocess.run(
        [sys.executable, "-c", SERVING, str(trained_store.root), str(lines)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"serving imported {report['heavy']}"
    assert report["runtime"] == "onnx" and report["scored"] == 200 and report["alerts"] > 0
