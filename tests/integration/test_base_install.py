"""The base install, as a user gets it: a fresh venv, ``pip install .``, no TensorFlow (from the
wheels ``make setup`` keeps in ``.cache/wheelhouse``, with no package index: nothing here
depends on the network).

Built once per session from a copy of the sources the Dockerfile's detector stage copies, so
nothing lands in the working tree. It scores and streams with an exported model against the
real broker; commands that need the training extra say so in one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.generate import labelled_events
from tests.integration.conftest import ROOT, StartStream, Topics, produce, read_all, wait_until

SOURCES = ("pyproject.toml", "README.md", "logsentry", "model_store", "trainer", "stream")
WHEELHOUSE = ROOT / ".cache" / "wheelhouse"  # built by `make setup`: the test installs with no index
HEAVY = ("tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "pandas", "scikit-learn", "matplotlib")


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("base-install")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, src / name)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not any(WHEELHOUSE.glob("onnxruntime-*.whl")):
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: `make setup` builds it (the base install's wheels)")
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE), str(src)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return venv


def _run(venv: Path, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "logsentry"), *args], capture_output=True, text=True, cwd=cwd, input=stdin, timeout=300
    )


def test_the_base_install_has_no_training_stack_and_one_import_name(base_venv: Path) -> None:
    listed = subprocess.run(
        [str(base_venv / "bin" / "pip"), "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"logsentry", "onnxruntime", "kafka-python", "numpy", "prometheus-client"} <= installed
    assert not installed & set(HEAVY), f"the base install pulled in {installed & set(HEAVY)}"
    top_level = subprocess.run(
        [
            str(base_venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.distribution('logsentry').read_text('top_level.txt') or '')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert top_level == ["logsentry"], "stream, trainer and model_store are installed under logsentry only"


def test_it_scores_like_the_full_install_and_says_what_needs_the_extra(
    base_venv: Path, trained_store: ModelStore, tmp_path: Path
) -> None:
    events = [e for e, _, _ in labelled_events(300, seed=21, attack_share=0.3)]
    lines = tmp_path / "requests.jsonl"
    lines.write_text("".join(json.dumps(e) + "\n" for e in events))
    done = _run(base_venv, "score", "--store", str(trained_store.root), str(lines), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = load_detector(trained_store, runtime="keras").score_events(events)
    assert np.abs(np.array([r["score"] for r in rows]) - expected).max() <= 1e-5
    assert sum(r["flagged"] for r in rows) > 0

    for args in (["train", "--data", str(lines)], ["score", "--runtime", "keras", "--store", str(trained_store.root)]):
        refused = _run(base_venv, *args, cwd=tmp_path, stdin="")
        assert refused.returncode == 2, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert "pip install 'logsentry[train]'" in line, line


def test_it_streams_with_the_exported_model(
    base_venv: Path, trained_store: ModelStore, bootstrap: str, topics: Topics, streams: StartStream, tmp_path: Path
) -> None:
    events = [e for e, _, _ in labelled_events(1000, seed=22, attack_share=0.2)]
    produced = produce(bootstrap, topics.logs, [json.dumps(e).encode() for e in events])
    detector = load_detector(trained_store)
    flagged = detector.flags(detector.score_events(events))
    expected = {(p.partition, p.offset) for p, f in zip(produced, flagged, strict=True) if f}
    assert expected

    stream = streams(
        bootstrap, topics, trained_store.root, command=(str(base_venv / "bin" / "logsentry"),), cwd=tmp_path
    )
    wait_until(lambda: stream.metric("logsentry_events_scored_total") >= len(events), timeout=120, what="all scored")
    wait_until(lambda: len(read_all(bootstrap, topics.alerts, timeout=5)) >= len(expected), timeout=60, what="alerts")
    alerts = {
        (a["source"]["partition"], a["source"]["offset"])
        for a in (json.loads(r.value) for r in read_all(bootstrap, topics.alerts))
    }
    assert alerts == expected
    assert stream.metric("logsentry_model_info", runtime="onnx", version=trained_store.current() or "") == 1
    assert stream.terminate() == 0
