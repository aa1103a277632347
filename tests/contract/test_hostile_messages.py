"""Hostile but valid messages cost a bounded number of model rows, and what is refused is
refused before it is held or parsed whole (issue: bounded cost per message).

Each test runs the bundled model through the paths users run: :func:`judge` (the stream's
and ``score``'s core) and ``score_lines``, with the network wrapped to count the rows it is
given.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import tracemalloc
from typing import Any

import numpy as np
import pytest

from logsentry.commands.score import score_lines
from logsentry.model_store.bundled import bundled_store
from logsentry.model_store.ingest.decode import MAX_NUMBER_CHARS, DecodeLimits
from logsentry.model_store.ingest.formats import decode_message
from logsentry.model_store.ingest.lines import read_lines
from logsentry.model_store.judge.verdict import judge
from logsentry.model_store.model.preprocessing import MAX_WINDOWS
from logsentry.model_store.model.runtimes import CountingInference
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.serving import load_detector

MB = 1_000_000


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector(bundled_store())


def counted(detector: Detector) -> tuple[Detector, CountingInference]:
    inference = CountingInference(detector.inference, parallel_buckets=False)
    return Detector(inference, detector.preprocessing, threshold=detector.threshold), inference  # type: ignore[arg-type]


def words(r: random.Random, n: int) -> str:
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def test_a_request_of_5000_parameters_costs_at_most_one_row_per_value_and_max_windows_for_the_rest(
    detector: Detector,
) -> None:
    r = random.Random(1)
    event = {"method": "get", "path": "/search", "query": {f"p{i}": words(r, 50) for i in range(5_000)}}
    value = json.dumps(event).encode()
    assert 300_000 < len(value) < MB
    scorer, inference = counted(detector)
    (verdict,) = judge([value], scorer).verdicts
    assert len(verdict.records) == 1
    max_units = detector.preprocessing.cleanup.max_units
    # every value but the last read alone (one row each), the rest together: at most MAX_WINDOWS rows
    assert inference.rows <= (max_units - 1) + MAX_WINDOWS, inference.rows


def test_a_1_mb_value_costs_max_windows_rows_and_a_payload_anywhere_in_it_is_still_read(detector: Detector) -> None:
    r = random.Random(2)
    filler = " ".join(words(r, r.randint(3, 9)) for _ in range(120_000))[: MB - 2_000]
    every = Detector(
        detector.inference,
        dataclasses.replace(
            detector.preprocessing, tokenizer=dataclasses.replace(detector.preprocessing.tokenizer, max_windows=10**9)
        ),
        threshold=detector.threshold,
    )
    alone = float(detector.score_events([{"method": "get", "path": "/s", "query": {"q": filler}}])[0])
    for payload in ("' union select password from users--", "<script>alert(1)</script>", "../../../../etc/passwd"):
        for where in (0.0, 0.37, 0.81, 1.0):
            at = int(where * len(filler))
            event = {"method": "get", "path": "/s", "query": {"q": filler[:at] + payload + filler[at:]}}
            value = json.dumps(event).encode()
            assert len(value) < MB
            scorer, inference = counted(detector)
            (verdict,) = judge([value], scorer).verdicts
            assert inference.rows <= 1 + MAX_WINDOWS  # the path, and the bounded windows of the value
            # the 16 windows read include the one that every 7,800 windows would score highest
            assert verdict.records[0].score == pytest.approx(float(every.score_events([event])[0]), abs=1e-4)
            assert verdict.records[0].score > 0.9 and alone < 0.2, (payload, where, alone)  # the payload is what scores


def test_batches_of_large_messages_are_cut_by_bytes(detector: Detector) -> None:
    r = random.Random(3)
    lines = [json.dumps({"method": "get", "path": "/s", "query": {"q": words(r, 300_000)}}).encode() for _ in range(12)]
    text = b"\n".join(lines) + b"\n"
    limits = DecodeLimits(batch_bytes=1_000_000)
    sizes: list[int] = []
    scorer, _ = counted(detector)
    original = scorer.score_texts

    def spy(texts: Any) -> np.ndarray:
        sizes.append(sum(len(t) for t in texts))
        return original(texts)

    scorer.score_texts = spy  # type: ignore[method-assign]
    out = io.StringIO()
    count, scored, errors = score_lines(scorer, read_lines(io.BytesIO(text), limits.max_bytes), out, limits=limits)
    assert (count, scored, errors) == (12, 12, 0)
    assert len(sizes) == 4 and max(sizes) <= limits.batch_bytes  # three 300 KB messages a batch, not twelve


def test_a_line_over_the_limit_is_refused_unread_and_the_next_lines_keep_their_numbers(detector: Detector) -> None:
    ordinary = json.dumps({"method": "get", "path": "/a"}).encode()
    text = ordinary + b"\n" + b"x" * (50 * MB) + b"\n" + ordinary + b"\n"
    tracemalloc.start()
    try:
        lines = list(read_lines(io.BytesIO(text), MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(line.number, line.value is None, line.size) for line in lines] == [
        (1, False, len(ordinary)),
        (2, True, 50 * MB),
        (3, False, len(ordinary)),
    ]
    assert peak < 4 * MB, peak  # the 50 MB line was read past in pieces, never held
    out = io.StringIO()
    assert score_lines(detector, iter(lines), out) == (3, 2, 1)
    rows = [json.loads(row) for row in out.getvalue().splitlines()]
    assert [row["line"] for row in rows] == [1, 2, 3]
    assert rows[1]["reason"] == "too_large" and str(50 * MB) in rows[1]["error"]


def test_a_line_ends_at_a_newline_only_so_numbers_match_the_file(detector: Detector) -> None:
    ordinary = json.dumps({"method": "get", "path": "/a"})
    raw = f'{ordinary}\r\n{{"method":"get",\r"path":"/b"}}\n\n{ordinary}'.encode()
    lines = list(read_lines(io.BytesIO(raw), MB))
    assert [line.number for line in lines] == [1, 2, 3, 4] and len(raw.split(b"\n")) == 4
    assert lines[1].value == b'{"method":"get",\r"path":"/b"}'  # a bare \r is inside its line
    out = io.StringIO()
    score_lines(detector, iter(lines), out)
    assert [json.loads(row)["line"] for row in out.getvalue().splitlines()] == [1, 2, 4]  # the blank line 3 skipped


def test_an_otlp_message_over_the_record_limit_is_refused_while_it_is_parsed() -> None:
    record = {"attributes": [{"key": "url.path", "value": {"stringValue": "/a"}}]}
    head = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record] * 101}]}]})[:-1]
    # the list of records is followed by text that is not JSON at all: the count stops parsing first
    value = (head + ', "tail": ' + "[" * 10 + "}").encode()
    refused = _refusal(value, DecodeLimits(max_records=100))
    assert refused.startswith("too_many_records"), refused
    within = (head + "}").encode()
    assert len(decode_message(within, limits=DecodeLimits(max_records=101)).records) == 101


@pytest.mark.parametrize(
    "number",
    ["1" * (MAX_NUMBER_CHARS + 1), "0." + "5" * MAX_NUMBER_CHARS, "1e999", "-1e400"],
    ids=["long-int", "long-float", "overflow", "negative-overflow"],
)
def test_numbers_of_absurd_size_are_refused_by_the_decoder(number: str) -> None:
    value = f'{{"method": "get", "path": "/a", "statusCode": {number}}}'.encode()
    assert _refusal(value).startswith("not_json"), number
    ordinary = b'{"method": "get", "path": "/a", "statusCode": 200, "size": 1.5e3}'
    assert decode_message(ordinary).records[0]["statusCode"] == 200


def _refusal(value: bytes, limits: DecodeLimits = DecodeLimits()) -> str:
    from logsentry.errors import InvalidMessage

    try:
        decode_message(value, limits=limits)
    except InvalidMessage as exc:
        return str(exc)
    raise AssertionError("accepted")
