"""Explanations with a scorer whose reasons are known: spans, offsets, fields, the alert and the CLI's view."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import numpy as np

from logsentry.model_store.ingest.fields import field_name, field_path, value_at
from logsentry.model_store.judge.explain import MAX_SPANS, explain, string_fields
from logsentry.model_store.judge.verdict import judge
from logsentry.model_store.model.preprocessing import CharTokenizer, CleanupSpec, Preprocessing
from logsentry.model_store.model.scoring import Detector
from logsentry.stream.processor import process_batch
from logsentry.stream.records import Message
from logsentry.stream.tools.follow import describe, highlight

SCHEMA = json.loads((Path(__file__).parents[2] / "stream" / "alert.schema.json").read_text())


class TokenScorer:
    """Flags a request whose cleaned text holds a token; each token found adds evidence."""

    version = "v-test"
    threshold = 0.5
    preprocessing = Preprocessing(CharTokenizer("ab"), CleanupSpec())

    def __init__(self, *tokens: str) -> None:
        self.tokens = tokens or ("attack",)
        self.calls = 0

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        hits = np.array([sum(t.count(token) for token in self.tokens) for t in texts], dtype=np.float64)
        return (1 / (1 + np.exp(-(6 * hits - 3)))).astype(np.float32)  # 0 hits: 0.05, 1: 0.95, 2: 0.9997


def scored(scorer: TokenScorer, records: list[dict]) -> list[float]:
    return [float(s) for s in scorer.score_texts([json.dumps(r) for r in records])]


def test_the_top_span_covers_the_token_with_offsets_in_the_original_value() -> None:
    value = "café ünïcödé €€ then some filler words attack and more filler after it"
    record = {"method": "get", "path": "/search", "query": {"page": "2", "q": value}, "headers": {"x": "attack"}}
    scorer = TokenScorer()
    score = float(scorer.score_texts([json.dumps({k: v for k, v in record.items() if k != "headers"})])[0])
    (spans,) = explain(scorer, [record], [score])
    top = spans[0]
    token = value.index("attack")
    assert top.field == "query.q"
    assert top.start <= token and top.end >= token + len("attack") and top.end - top.start <= 6 + 2 * 8
    assert value[top.start : top.end] == top.text, "offsets count characters of the original value"
    assert top.weight == 1.0, "removing the token alone clears the alert"
    assert all(s.field != "headers.x" for s in spans), "a dropped field is never probed"
    assert scorer.calls == 1 + 3, "one batched model call per round"


def test_every_field_that_carries_evidence_is_named_strongest_first() -> None:
    record = {"method": "post", "path": "/a/attack", "requestPayload": {"items": [{"n": "ok"}, {"n": "attack!"}]}}
    scorer = TokenScorer()
    (spans,) = explain(scorer, [record], scored(scorer, [record]))
    assert {s.field for s in spans} == {"path", "requestPayload.items[1].n"}
    assert [s.weight for s in spans] == sorted((s.weight for s in spans), reverse=True)
    assert len(spans) <= MAX_SPANS


def test_records_without_string_fields_or_evidence_have_empty_explanations() -> None:
    class Constant(TokenScorer):  # flags everything: no part of a request makes a difference
        def score_texts(self, texts: Sequence[str]) -> np.ndarray:
            return np.full(len(texts), 0.9, dtype=np.float32)

    scorer = Constant()
    records = [{"method": "get", "path": "/x", "n": 3}, {"statusCode": 200}]
    assert explain(scorer, records, [0.9, 0.9]) == [(), ()]
    assert explain(scorer, [], []) == []


def test_a_variant_is_the_cleaned_record_without_the_span() -> None:
    """Variants are built from the record cleaned once around a marker: the same text as cleaning each."""
    from logsentry.model_store.judge.explain import _Explainer, _Probe, _replaced
    from logsentry.model_store.model.preprocessing import clean

    record = {
        "method": "get",
        "path": "/a/é€",
        "query": {"q": 'x"y\\z 😀 attack', "n": 3},
        "requestPayload": {"items": [{"n": "attack"}, "<b>\u2028"]},
        "headers": {"h": "attack"},
    }
    scorer = TokenScorer()
    explainer = _Explainer(scorer, [record], [0.99], [0.5])
    for j, (path, value) in enumerate(explainer.fields[0]):
        for start, end in ((0, len(value)), (1, 3), (0, 1), (len(value) - 1, len(value))):
            expected = clean(_replaced(record, path, value[:start] + value[end:]), scorer.preprocessing.cleanup)
            assert explainer._text(_Probe(0, j, start, end)) == expected


def test_paths_and_string_fields_follow_the_cleanup() -> None:
    assert field_name(("requestPayload", "items", 0, "name")) == "requestPayload.items[0].name"
    odd = {"query": {"__proto__.admin": "1", "a[0]": ["x", {"": "y", 'q"uote': "z"}]}}
    cases = {
        ("query", "__proto__.admin"): "1",
        ("query", "a[0]", 0): "x",
        ("query", "a[0]", 1, ""): "y",
        ("query", "a[0]", 1, 'q"uote'): "z",
    }
    for path, value in cases.items():
        assert field_path(field_name(path)) == path and value_at(odd, field_name(path)) == value
    assert field_name(("query", "__proto__.admin")) == 'query["__proto__.admin"]'
    assert value_at(odd, 'query["__proto__.admin"]') == "1" and value_at(odd, 'query["a[0]"][1][""]') == "y"
    assert field_path(".x") is None and field_path("a[") is None
    nested = {"requestPayload": {"items": [{"name": "x"}]}}
    assert value_at(nested, "requestPayload.items[0].name") == "x" and value_at(nested, "requestPayload.nope") is None
    spec = CleanupSpec(keep_fields=("path", "query"))
    record = {"path": "/p", "query": {"q": "", "r": ["x", {"s": "y"}]}, "method": "get", "source": {"a": "b"}}
    assert [(field_name(p), v) for p, v in string_fields(record, spec)] == [
        ("path", "/p"),
        ("query.r[0]", "x"),
        ("query.r[1].s", "y"),
    ]


def test_flagged_alerts_carry_their_explanation_and_the_schema_accepts_it() -> None:
    values = [json.dumps({"method": "get", "path": "/s", "query": {"q": q}}).encode() for q in ("fine", "x attack y")]
    messages = [Message("logs", 0, i, 1_700_000_000_000, None, v) for i, v in enumerate(values)]
    out = process_batch(messages, TokenScorer(), alert_topic="a", dead_letter_topic="d")
    (alert,) = [json.loads(a.value) for a in out.alerts]
    jsonschema.validate(alert, SCHEMA)
    assert alert["explanation"][0]["field"] == "query.q" and "attack" in alert["explanation"][0]["text"]
    assert alert["explanation_skipped"] is None
    quiet = process_batch(messages, TokenScorer(), alert_topic="a", dead_letter_topic="d", explained=False)
    unexplained = json.loads(quiet.alerts[0].value)
    assert unexplained["explanation"] == [] and unexplained["explanation_skipped"] == "disabled"
    jsonschema.validate(unexplained, SCHEMA)
    verdicts = judge(values, TokenScorer(), explained=True).verdicts
    assert verdicts[0].records[0].explanation == () and verdicts[1].records[0].explanation


def test_the_alerts_view_marks_the_span_in_its_context() -> None:
    event = {"method": "get", "path": "/s", "query": {"q": "x" * 40 + "attack" + "y" * 40}}
    span = {"field": "query.q", "start": 40, "end": 46, "text": "attack", "weight": 0.9}
    line = highlight(event, span)
    assert "query.q[40:46]" in line and "weight=0.90" in line and "…" + "x" * 30 + "«attack»" + "y" * 30 + "…" in line
    assert "\x1b[1;31mattack\x1b[0m" in highlight(event, span, color=True)
    alert = {"event": event, "score": 0.99, "explanation": [span], "source": {}}
    assert describe(alert).splitlines()[1] == line
    stale = {**span, "field": "query.gone"}  # an event that no longer holds the field: the text alone
    assert "«attack»" in highlight(event, stale)


def test_alerts_beyond_the_explain_limit_go_out_unexplained_and_counted() -> None:
    values = [json.dumps({"method": "get", "path": "/s", "query": {"q": f"x attack {i}"}}).encode() for i in range(5)]
    values.insert(2, json.dumps({"method": "get", "path": "/s", "query": {"q": "fine"}}).encode())
    messages = [Message("logs", 0, i, 1_700_000_000_000, None, v) for i, v in enumerate(values)]
    out = process_batch(messages, TokenScorer(), alert_topic="a", dead_letter_topic="d", explain_limit=2)
    alerts = [json.loads(a.value) for a in out.alerts]
    assert len(alerts) == 5 and out.explained == 2 and out.explanations_skipped == 3
    assert [a["explanation_skipped"] for a in alerts] == [None, None, "budget", "budget", "budget"], "first come first"
    assert all(a["explanation"] for a in alerts[:2]) and all(a["explanation"] == [] for a in alerts[2:])
    for alert in alerts:
        jsonschema.validate(alert, SCHEMA)
    none = process_batch(messages, TokenScorer(), alert_topic="a", dead_letter_topic="d", explain_limit=0)
    assert none.explained == 0 and none.explanations_skipped == 5 and none.explain_seconds < 1
    assert [a.value for a in none.alerts] != [a.value for a in out.alerts]
    every = process_batch(messages, TokenScorer(), alert_topic="a", dead_letter_topic="d", explain_limit=None)
    assert every.explained == 5 and every.explanations_skipped == 0


class _Marked:
    """A network over values: a row holding the id of ``z`` scores 0.99, others by their length."""

    runtime = "onnx"
    chunk = 512
    parallel_buckets = False

    def __init__(self, z: int) -> None:
        self.z = z
        self.rows = 0

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        self.rows += len(ids)
        return np.where((ids == self.z).any(axis=1), 0.99, 0.01 + (ids != 0).sum(axis=1) / 1000).astype(np.float32)


class _TextsOnly:
    """The same detector seen only through ``score_texts`` (no unit scores to reuse)."""

    def __init__(self, detector: Detector) -> None:
        self.preprocessing, self.threshold, self.detector = detector.preprocessing, detector.threshold, detector

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.detector.score_texts(texts)


def test_value_units_are_scored_once_per_explanation_with_the_same_spans() -> None:
    tokenizer = CharTokenizer.fit(['abcdefghijklmnopqrstuvwxyz"?=/ '], max_len=64, buckets=(16, 64))
    network = _Marked(int(next(iter(tokenizer.encode_buckets(["z"]))).ids.max()))
    # no unit-score cache: the rows counted are the explainer's own reuse, not the detector's cache
    detector = Detector(network, Preprocessing(tokenizer, CleanupSpec(units="values")), threshold=0.5, cache_size=0)
    records = [
        {"method": "get", "path": "/shop", "query": {"b": "xyzzy here", **{f"q{i}": "plain" * i for i in range(9)}}},
        {"method": "post", "path": "/z/login", "requestPayload": {"user": "bob", "note": "fine words"}},
    ]
    scores = detector.score_events(records).tolist()
    assert all(s >= 0.5 for s in scores)
    network.rows = 0
    reused = explain(detector, records, scores)
    rows_reused = network.rows
    network.rows = 0
    plain = explain(_TextsOnly(detector), records, scores)
    assert reused == plain, "reusing unit scores changes no span"
    assert reused[0][0].field == "query.b" and "z" in reused[0][0].text and reused[1][0].field == "path"
    # round 1 scores every value and every value emptied; the later rounds re-score none of them
    assert rows_reused <= network.rows - (len(records[0]["query"]) - 1), (rows_reused, network.rows)


def test_an_alert_on_a_1_mb_request_fits_a_kafka_record_and_says_what_was_cut() -> None:
    from logsentry.stream.records import KEPT_CHARS, MAX_ALERT_BYTES

    value = "filler " * 140_000 + "attack" + " more" * 1_000
    event = {"method": "get", "path": "/s", "query": {"q": value, "page": "2"}}
    raw = json.dumps(event).encode()
    assert len(raw) > 980_000
    out = process_batch(
        [Message("logs", 0, 7, 1_700_000_000_000, None, raw)], TokenScorer(), alert_topic="a", dead_letter_topic="d"
    )
    (alert,) = out.alerts
    assert len(alert.value) <= MAX_ALERT_BYTES  # the event and the message: twice that, uncut
    body = json.loads(alert.value)
    jsonschema.validate(body, SCHEMA)
    assert body["truncated"] == [
        {"field": "message", "length": len(raw)},
        {"field": "query.q", "length": len(value)},
    ]
    assert body["event"]["query"] == {"q": value[:KEPT_CHARS], "page": "2"} and len(body["message"]) == KEPT_CHARS
    assert "attack" in body["explanation"][0]["text"]  # the span's text is whole, wherever it was
    small = process_batch(
        [Message("logs", 0, 8, 1, None, b'{"method": "get", "path": "/attack"}')],
        TokenScorer(),
        alert_topic="a",
        dead_letter_topic="d",
    ).alerts[0]
    assert "truncated" not in json.loads(small.value)


class WindowScorer(TokenScorer):
    """TokenScorer reading a long text in 256-character windows every 128, as the models do:
    a text's score is its best window's, so a deletion shifts where the windows fall."""

    preprocessing = Preprocessing(CharTokenizer("ab", max_len=256, long_requests="windows"), CleanupSpec())

    def __init__(self, *tokens: str) -> None:
        super().__init__(*tokens)
        self.variants = 0

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.variants += len(texts)
        windows = [[t[i : i + 256] for i in range(0, max(1, len(t) - 128), 128)] or [t] for t in texts]
        return np.asarray([max(super(WindowScorer, self).score_texts(w)) for w in windows], dtype=np.float32)


def test_a_payload_in_a_long_value_is_found_by_zooming_in_a_few_variants() -> None:
    value = "".join(f"w{i % 97} " for i in range(40_000))
    at = len(value) * 3 // 5
    value = value[:at] + "attack" + value[at:]
    record = {"method": "get", "path": "/s", "query": {"q": value}}
    scorer = WindowScorer()
    score = float(scorer.score_texts([json.dumps(record)])[0])
    scorer.variants = 0
    ((span, *_),) = explain(scorer, [record], [score])
    assert span.field == "query.q" and "attack" in span.text and len(span.text) <= 32
    assert value[span.start : span.end] == span.text
    # a few rounds of eight parts, then the 8-character windows of one part: not one variant per 4 characters
    assert scorer.variants < 150, scorer.variants
