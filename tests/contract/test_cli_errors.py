"""Every subcommand's first mistakes, run through the real CLI: one line on stderr, exit 2, the real cause.

The broker cases here need no broker: a closed port, a name that does not resolve and a plain
HTTP server. The cases against the real broker (TLS and SASL failures) are in
``tests/integration/test_security.py`` and ``tests/integration/test_cli_errors.py``.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from logsentry.model_store.store import ModelStore
from tests.conftest import publish
from tests.contract.cli_errors import ROOT_ENV, Case, assert_one_clear_line, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory, http_port: int) -> dict[str, str]:
    """Files, stores and addresses the cases name, as ``{placeholder: value}``."""
    root = tmp_path_factory.mktemp("cli-errors")
    good = ModelStore(root / "good")
    good.promote(publish(good))
    empty = root / "empty"
    empty.mkdir()
    tampered = ModelStore(root / "tampered")
    tampered.promote(publish(tampered))
    manifest = tampered.path() / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"threshold": 0.5', '"threshold": 0.0'))
    corrupt = ModelStore(root / "corrupt")
    corrupt.promote(publish(corrupt))
    (corrupt.path() / "manifest.json").write_text("{}")
    sums = corrupt.path() / "checksums.json"
    import hashlib

    digests = json.loads(sums.read_text())
    digests["manifest.json"] = hashlib.sha256(b"{}").hexdigest()
    sums.write_text(json.dumps(digests))
    data = root / "train.csv"
    data.write_text('|{"method":"get","path":"/a"}|,0\n|{"method":"get","path":"/b?x=<script>"}|,1\n')
    log = root / "access.log"
    log.write_text('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n')
    return {
        "{store}": str(good.root),
        "{empty}": str(empty),
        "{nostore}": str(root / "nowhere"),
        "{tampered}": str(tampered.root),
        "{corrupt}": str(corrupt.root),
        "{data}": str(data),
        "{log}": str(log),
        "{dir}": str(root),
        "{missing}": str(root / "missing.csv"),
        "{nodir}": str(root / "no" / "such" / "out.csv"),
        "{closed}": f"127.0.0.1:{_free_port()}",
        "{http}": f"127.0.0.1:{http_port}",
        "{unresolved}": "no-such-host.invalid:9092",
        "{mapping_missing}": f"mapping:{root / 'none.yaml'}",
        "{bad_rules}": str(_write(root / "bad-rules.yml", "suppressions:\n  - {name: x, route: /, reason: r}\n")),
        "{backref_rules}": str(
            _write(
                root / "backref-rules.yml",
                "suppressions:\n  - {name: x, route: /, field: q, regex: '(a)\\1', reason: r, author: a}\n",
            )
        ),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BROKERS = ("stream", "replay", "alerts", "feedback")
CASES = [
    # generate
    Case("generate-rows-zero", ("generate", "--rows", "0", "--out", "{dir}/x.csv"), "--rows: must be at least 1"),
    Case(
        "generate-share", ("generate", "--rows", "5", "--out", "{dir}/x.csv", "--attack-share", "2"), "between 0 and 1"
    ),
    Case("generate-out-dir", ("generate", "--rows", "5", "--out", "{dir}"), "is a directory"),
    Case("generate-out-nodir", ("generate", "--rows", "5", "--out", "{nodir}"), "does not exist"),
    # train
    Case("train-missing", ("train", "--data", "{missing}", "--store", "{empty}"), "missing.csv does not exist"),
    Case("train-dir", ("train", "--data", "{dir}", "--store", "{empty}"), "is a directory, not a file"),
    Case("train-no-data", ("train", "--store", "{empty}"), "give training data: --data FILE"),
    Case(
        "train-benign-missing", ("train", "--benign", "{missing}", "--store", "{empty}"), "missing.csv does not exist"
    ),
    Case("train-epochs", ("train", "--data", "{data}", "--epochs", "0"), "--epochs: must be at least 1"),
    Case("train-batch", ("train", "--data", "{data}", "--batch-size", "-3"), "--batch-size: must be at least 1"),
    Case("train-format", ("train", "--data", "{data}", "--input-format", "xml"), "unknown input format 'xml'"),
    Case("train-mapping", ("train", "--data", "{data}", "--input-format", "{mapping_missing}"), "does not exist"),
    Case(
        "train-rule",
        ("train", "--data", "{data}", "--store", "{empty}", "--threshold-rule", "best"),
        "unknown threshold rule",
    ),
    Case("train-store-file", ("train", "--data", "{data}", "--store", "{data}"), "is a file, not a model store"),
    Case("train-log-no-label", ("train", "--data", "{log}", "--store", "{empty}"), "needs --label"),
    # evaluate
    Case("evaluate-missing", ("evaluate", "--store", "{store}", "--data", "{missing}"), "does not exist"),
    Case("evaluate-no-store", ("evaluate", "--store", "{nostore}", "--data", "{data}"), "no model store at"),
    Case("evaluate-empty-store", ("evaluate", "--store", "{empty}", "--data", "{data}"), "holds no model yet"),
    Case("evaluate-version", ("evaluate", "--store", "{store}", "--version", "v99", "--data", "{data}"), "no version"),
    Case("evaluate-tampered", ("evaluate", "--store", "{tampered}", "--data", "{data}"), "does not match its checksum"),
    # score
    Case("score-missing", ("score", "--store", "{store}", "{missing}"), "missing.csv does not exist"),
    Case("score-dir", ("score", "--store", "{store}", "{dir}"), "is a directory, not a file"),
    Case("score-store-file", ("score", "--store", "{data}", "{log}"), "is a file, not a model store"),
    Case("score-corrupt", ("score", "--store", "{corrupt}", "{log}"), "manifest format"),
    Case("score-format", ("score", "--store", "{store}", "--input-format", "yaml", "{log}"), "unknown input format"),
    # models
    Case("models-list-no-store", ("models", "list", "--store", "{nostore}"), "no model store at"),
    Case("models-show-version", ("models", "show", "v99", "--store", "{store}"), "no version"),
    Case("models-verify-tampered", ("models", "verify", "--store", "{tampered}"), "does not match its checksum"),
    Case("models-rollback", ("models", "rollback", "--store", "{store}"), "no earlier current version"),
    # stream
    Case("stream-refused", ("stream", "--store", "{store}", "--bootstrap-servers", "{closed}"), "connection refused"),
    Case(
        "stream-unresolved", ("stream", "--store", "{store}", "--bootstrap-servers", "{unresolved}"), "does not resolve"
    ),
    Case(
        "stream-not-kafka",
        ("stream", "--store", "{store}", "--bootstrap-servers", "{http}"),
        "not as a Kafka broker speaking PLAINTEXT",
    ),
    Case(
        "stream-store-first", ("stream", "--store", "{corrupt}", "--bootstrap-servers", "{closed}"), "manifest format"
    ),
    Case("stream-batch", ("stream", "--store", "{store}", "--batch-size", "0"), "--batch-size: must be at least 1"),
    Case("stream-port", ("stream", "--store", "{store}", "--metrics-port", "70000"), "between 0 and 65535"),
    Case(
        "stream-env",
        ("stream", "--store", "{store}"),
        "LOGSENTRY_BATCH_SIZE must be a whole number",
        env={"LOGSENTRY_BATCH_SIZE": "lots"},
    ),
    Case(
        "stream-env-format",
        ("stream", "--store", "{store}"),
        "unknown input format 'json'",
        env={"LOGSENTRY_INPUT_FORMAT": "json"},
    ),
    Case("stream-bootstrap", ("stream", "--store", "{store}", "--bootstrap-servers", "localhost"), "must be host:port"),
    # replay
    Case("replay-missing-first", ("replay", "{missing}", "--bootstrap-servers", "{closed}"), "does not exist"),
    Case("replay-refused", ("replay", "{log}", "--bootstrap-servers", "{closed}"), "connection refused"),
    Case(
        "replay-not-kafka",
        ("replay", "{log}", "--bootstrap-servers", "{http}"),
        "not as a Kafka broker speaking PLAINTEXT",
    ),
    Case("replay-rate", ("replay", "{log}", "--rate", "-1"), "--rate: must be a number of 0 or more"),
    Case("replay-partitions", ("replay", "{log}", "--partitions", "0"), "--partitions: must be at least 1"),
    # alerts
    Case("alerts-refused", ("alerts", "--bootstrap-servers", "{closed}", "--max", "1"), "connection refused"),
    Case("alerts-unresolved", ("alerts", "--bootstrap-servers", "{unresolved}"), "does not resolve"),
    Case("alerts-not-kafka", ("alerts", "--bootstrap-servers", "{http}"), "not as a Kafka broker speaking PLAINTEXT"),
    Case("alerts-max", ("alerts", "--max", "0"), "--max: must be at least 1"),
    # rules
    Case("rules-missing", ("rules", "check", "{missing}"), "missing.csv does not exist"),
    Case("rules-yaml", ("rules", "check", "{bad_rules}"), "suppressions[0] (x): author is required"),
    Case("rules-redos-engine", ("rules", "check", "{backref_rules}"), "is not valid RE2 syntax"),
    Case("score-rules", ("score", "--store", "{store}", "--rules", "{bad_rules}", "{log}"), "author is required"),
    Case(
        "stream-rules-first",
        ("stream", "--store", "{store}", "--rules", "{bad_rules}", "--bootstrap-servers", "{closed}"),
        "author is required",
    ),
    # feedback
    Case("feedback-ref", ("feedback", "benign", "--alert", "alerts-3-7"), "an alert is named TOPIC/PARTITION/OFFSET"),
    Case(
        "feedback-refused",
        ("feedback", "benign", "--alert", "a/0/1", "--bootstrap-servers", "{closed}"),
        "connection refused",
    ),
    Case("feedback-file", ("feedback", "attack", "--file", "{missing}"), "missing.csv does not exist"),
    Case("feedback-label", ("feedback", "fine", "--alert", "a/0/1"), "invalid choice: 'fine'"),
    # the parser itself
    Case("unknown-command", ("frobnicate",), "invalid choice"),
    Case("unknown-flag", ("score", "--bogus-flag", "x"), "unrecognized arguments"),
]


def _fill(case: Case, places: dict[str, str]) -> list[str]:
    out = []
    for arg in case.args:
        for key, value in places.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_expected_failures_are_one_clear_line_and_exit_2(case: Case, places: dict[str, str]) -> None:
    done = run_cli(_fill(case, places), env=case.env, stdin=case.stdin)
    assert_one_clear_line(case, done)


def test_every_subcommand_is_covered() -> None:
    from logsentry.cli import build_parser

    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert commands == {c.args[0] for c in CASES if c.name not in ("unknown-command", "unknown-flag")}


def test_a_bad_training_row_is_reported_with_its_line_and_evaluation_goes_on(places: dict[str, str]) -> None:
    data = Path(places["{dir}"]) / "nan.csv"
    data.write_text(
        '|{"method":"get","path":"/a"}|,0\n|{"method":"get","path":"/b","q":NaN}|,1\n'
        '|{"method":"get","path":"/c?x=1"}|,1\n'
    )
    done = run_cli(["evaluate", "--store", places["{store}"], "--data", str(data), "--json"])
    assert done.returncode == 0, done.stderr
    assert "line 2: not_json: NaN is not valid JSON (row skipped)" in done.stderr
    result = json.loads(done.stdout)
    assert result["n"] == 2 and result["rows_rejected"] == 1


def test_tensorflow_start_up_noise_stays_off_stderr_unless_asked(places: dict[str, str]) -> None:
    keras = ["score", "--runtime", "keras", "--store", places["{store}"], places["{log}"]]
    done = run_cli(keras, env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("scored 1 records of 1 lines"), done.stderr
    verbose = run_cli([*keras, "--verbose"])
    assert verbose.returncode == 0 and len(verbose.stderr.splitlines()) > 1, verbose.stderr


def _crashing_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, with one handler replaced by a bug (a ZeroDivisionError)."""
    code = (
        "import sys, logsentry.cli as cli, logsentry.commands.models as models\n"
        "models.run = lambda args: 1 / 0\n"
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=ROOT_ENV
    )


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(places: dict[str, str]) -> None:
    crash = _crashing_cli("models", "list", "--store", places["{store}"])
    assert crash.returncode == 2, crash.stderr
    lines = crash.stderr.splitlines()
    assert len(lines) == 1 and "ZeroDivisionError" in lines[0] and "run with --debug for the traceback" in lines[0]
    debug = _crashing_cli("models", "list", "--debug", "--store", places["{store}"])
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr


@pytest.mark.parametrize("command", ["score", "train", "replay"])
def test_an_unreadable_input_file_is_named(command: str) -> None:
    """Permission denied, as a user other than the file's owner meets it (root reads everything: nobody then)."""
    import os
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(dir="/tmp", prefix="logsentry-unreadable-"))
    try:
        directory.chmod(0o755)
        secret = directory / "secret.log"
        secret.write_text('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n')
        secret.chmod(0)
        args = {
            "score": ["score", str(secret)],
            "train": ["train", "--data", str(secret), "--label", "0"],
            "replay": ["replay", str(secret), "--bootstrap-servers", "127.0.0.1:1"],
        }[command]
        command_line = [sys.executable, "-m", "logsentry", *args]
        if os.geteuid() == 0:  # root reads everything: run as nobody, or as root without that power
            nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
            # root without CAP_DAC_OVERRIDE/READ_SEARCH meets file modes like any user (a checkout
            # under /root, which nobody cannot enter, still runs)
            powerless = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
            for prefix in (nobody, powerless):
                probe = subprocess.run(
                    [
                        *prefix,
                        sys.executable,
                        "-c",
                        "import logsentry.cli; open(__import__('sys').argv[1])",
                        str(secret),
                    ],
                    capture_output=True,
                    env=ROOT_ENV,
                    cwd=directory,
                )
                if b"ModuleNotFoundError" not in probe.stderr and b"PermissionError" in probe.stderr:
                    command_line = [*prefix, *command_line]
                    break
            else:
                pytest.fail(f"no way to meet a real permission denial here (setpriv): {probe.stderr.decode()[-300:]}")
        done = subprocess.run(command_line, capture_output=True, text=True, timeout=120, env=ROOT_ENV, cwd=directory)
        assert_one_clear_line(Case(command, tuple(args), "is not readable (permission denied)"), done)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
