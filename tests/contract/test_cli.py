"""The ``logsentry`` command as a user runs it: generate, train, evaluate, score, models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logsentry.model_store.store import ModelStore


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logsentry", *args], input=stdin, capture_output=True, text=True, timeout=600
    )


def test_generate_is_deterministic_and_labelled(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("generate", "--rows", "300", "--out", str(a), "--seed", "3", "--attack-share", "0.3").returncode == 0
    run("generate", "--rows", "300", "--out", str(b), "--seed", "3", "--attack-share", "0.3")
    assert a.read_bytes() == b.read_bytes()
    from logsentry.trainer.data import read_labelled_csv

    logs = read_labelled_csv(a)
    assert len(logs.events) == 300 and int(logs.labels.sum()) == 90 and not logs.rejected
    fields = {
        "timestamp",
        "method",
        "query",
        "path",
        "statusCode",
        "source",
        "route",
        "headers",
        "requestPayload",
        "responsePayload",
    }
    assert all(set(e) == fields for e in logs.events)
    paths = {e["path"].split("/")[1] for e in logs.events}
    assert len(paths) >= 5  # several routes, not one


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = root / "train.csv"
    assert run("generate", "--rows", "800", "--out", str(data), "--seed", "5").returncode == 0
    # one malformed row, reported with its line number, skipped
    with data.open("a") as handle:
        handle.write("|{broken|,1\n")
    done = run("train", "--data", str(data), "--store", str(root / "models"), "--epochs", "1", "--keras-verbose", "0")
    assert done.returncode == 0, done.stderr
    assert "line 801" in done.stderr and "rejected 1" in done.stderr
    assert "published" in done.stdout
    return data, root / "models"


def test_evaluate_prints_one_json_object(cli_store: tuple[Path, Path]) -> None:
    data, models = cli_store
    done = run("evaluate", "--store", str(models), "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("n", "accuracy", "precision", "recall", "f1", "roc_auc", "threshold", "tp", "fp", "tn", "fn"):
        assert key in result
    assert result["n"] == 800 and result["tp"] + result["fp"] + result["tn"] + result["fn"] == 800
    # the alert budget: false alerts per million with an interval, TPR at fixed FPRs, reliability
    assert set(result["tpr_at_fpr"]) == {"0.0001", "0.001", "0.01"}
    low, high = result["false_alerts_per_million_ci95"]
    assert low <= result["false_alerts_per_million"] <= high
    assert sum(b["n"] for b in result["calibration"]) == 800
    # the generator's family column: recall per family, over every attack it named
    recall = result["recall_by_family"]
    assert {"sqli", "xss", "log4shell"} <= set(recall)
    assert sum(f["n"] for f in recall.values()) == result["tp"] + result["fn"]  # every attack is named
    assert all(0.0 <= f["recall"] <= 1.0 for f in recall.values())
    text = run("evaluate", "--store", str(models), "--data", str(data))
    assert "recall sqli" in text.stdout


def test_score_prints_one_line_per_input_including_bad_ones(cli_store: tuple[Path, Path]) -> None:
    _, models = cli_store
    lines = [
        '{"method":"get","path":"/search","query":{"q":"red shoes"}}',
        "not json",
        "[1]",
        '{"method":"get","path":"/search","query":{"q":"\' OR 1=1--"}}',
    ]
    done = run("score", "--store", str(models), "-", stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4]
    assert "error" in out[1] and "error" in out[2]
    assert 0.0 <= out[0]["score"] <= 1.0 and isinstance(out[3]["flagged"], bool)
    threshold = ModelStore(models).manifest().threshold
    assert out[3]["flagged"] == (out[3]["score"] >= threshold)


def test_models_list_promote_rollback(cli_store: tuple[Path, Path]) -> None:
    data, models = cli_store
    first = ModelStore(models).current()
    assert first
    done = run(
        "train", "--data", str(data), "--store", str(models), "--epochs", "1", "--keras-verbose", "0", "--no-promote"
    )
    assert done.returncode == 0, done.stderr
    second = ModelStore(models).resolve("latest")
    assert ModelStore(models).current() == first
    assert run("models", "--store", str(models), "promote", second).returncode == 0
    listing = run("models", "--store", str(models), "list").stdout
    assert f"* {second}" in listing and f"  {first}" in listing
    assert run("models", "--store", str(models), "rollback").returncode == 0
    assert ModelStore(models).current() == first
    shown = json.loads(run("models", "--store", str(models), "show", first).stdout)
    assert shown["version"] == first and shown["preprocessing"]["tokenizer"]["max_len"] == 256  # a value's, read alone
    assert shown["preprocessing"]["cleanup"]["units"] == "values"


def test_errors_are_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    not_a_store = tmp_path / "models"
    not_a_store.write_text("a file where the store should be")
    done = run("score", "--store", str(not_a_store), "-", stdin="{}\n")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()  # one line: no traceback, no log lines around it
    assert line.startswith("logsentry score: error: ") and str(not_a_store) in line, line


def test_augment_adds_other_sites_to_training_and_validation_only(cli_store: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = cli_store
    models = tmp_path / "models"
    done = run(
        "train",
        "--data",
        str(data),
        "--store",
        str(models),
        "--epochs",
        "1",
        "--keras-verbose",
        "0",
        "--augment",
        "400",
    )
    assert done.returncode == 0, done.stderr
    assert "augmented with 400 generated requests of 20 sites" in done.stderr
    manifest = ModelStore(models).manifest()
    assert manifest.hyperparameters["augment"] == 400 and len(manifest.hyperparameters["augment_sites"]) == 20
    evaluation = manifest.evaluation
    # the test split stays the user's data: 25 % of the 801 rows read (the split numbers the rows as read,
    # before decoding, so that it needs no second copy of the data; the refused row fell outside the test part)
    assert evaluation["test"]["n"] == 201
    assert evaluation["validation"]["n"] == 150 + 100, "validation gets its share of the generated requests"
