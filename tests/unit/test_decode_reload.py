"""Hostile message bytes, and the model watcher's swap/refuse logic, without Kafka."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from logsentry.errors import CorruptArtifact, InvalidMessage
from logsentry.model_store.ingest.decode import REASONS, DecodeLimits
from logsentry.model_store.ingest.formats import decode_event
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.reload import ModelWatcher


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"\xc3\x28", "not_utf8"),
        (b"{nope", "not_json"),
        (b'{"a": NaN}', "not_json"),
        (b'{"a": Infinity}', "not_json"),
        (b'{"a": ' + b"1" * 4400 + b"}", "not_json"),
        (b"[]", "not_object"),
        (b"42", "not_object"),
        (b"null", "not_object"),
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate_key"),
        (b"[" * 10000 + b"]" * 10000, "too_deep"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "too_deep"),
        (b'{"a": "' + b"x" * 60_000 + b'"}', "too_large"),
        (b'{"a": 1}', "invalid_event"),
        (b'{"method": 5, "path": "/"}', "invalid_event"),
        (b'{"method": "get", "query": "q=1"}', "invalid_event"),
        (b'{"path": "/", "statusCode": true}', "invalid_event"),
    ],
)
def test_hostile_values_are_refused_with_a_reason(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_event(value, DecodeLimits(max_bytes=50_000, max_depth=32))
    assert caught.value.reason == reason and reason in REASONS


def test_a_lone_surrogate_escape_is_valid_json_and_kept() -> None:
    assert decode_event(b'{"path": "/", "q": "\\ud800"}') == {"path": "/", "q": "\ud800"}


def test_missing_and_extra_fields_are_fine() -> None:
    assert decode_event(b'{"path": "/x", "requestId": "r1"}') == {"path": "/x", "requestId": "r1"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_another_error(value: bytes) -> None:
    try:
        assert isinstance(decode_event(value), dict)
    except InvalidMessage as exc:
        assert exc.reason in REASONS


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=5),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
            max_leaves=10,
        ),
    )
)
def test_any_json_object_round_trips(obj: dict) -> None:
    # typed fields (query, statusCode) are checked elsewhere; here every other key is free
    obj = {k: v for k, v in obj.items() if k not in ("query", "statusCode")} | {"method": "get", "path": "/"}
    assert decode_event(json.dumps(obj).encode()) == obj


class FakeDetector:
    def __init__(self, version: str) -> None:
        self.version = version
        self.threshold = 0.5
        self.architecture = "fake"
        self.runtime = "onnx"


class FakeStore:
    def __init__(self) -> None:
        self.current_version = "v1"
        self.shadow_version: str | None = None

    def current(self) -> str:
        return self.current_version

    def shadow(self) -> str | None:
        return self.shadow_version


def recording_loader(store: FakeStore, loads: list[str]) -> Callable[[object, str], FakeDetector]:
    """Loads fake versions, noting each; ``bad`` fails verification."""

    def loader(_store: object, ref: str) -> FakeDetector:
        version = store.current_version if ref == "current" else ref
        loads.append(version)
        if version == "bad":
            raise CorruptArtifact("bad: model.keras does not match its checksum")
        return FakeDetector(version)

    return loader


def test_watcher_swaps_between_batches_and_refuses_a_bad_version_once() -> None:
    store, loads, registry = FakeStore(), [], CollectorRegistry()
    watcher = ModelWatcher(store, "current", StreamMetrics(registry), loader=recording_loader(store, loads))  # type: ignore[arg-type]
    assert watcher.swap().version == "v1"
    store.current_version = "v2"
    watcher.check_once()
    assert watcher.detector.version == "v1", "loaded in the background, not yet swapped"
    assert watcher.swap().version == "v2"
    store.current_version = "bad"
    watcher.check_once()
    watcher.check_once()
    assert watcher.swap().version == "v2"
    assert loads == ["v1", "v2", "bad"], "a refused version is not retried"
    assert registry.get_sample_value("logsentry_model_reloads_total", {"result": "failure"}) == 1
    assert registry.get_sample_value("logsentry_model_reloads_total", {"result": "success"}) == 1
    info = {"version": "v2", "architecture": "fake", "runtime": "onnx"}
    assert registry.get_sample_value("logsentry_model_info", info) == 1


def test_the_watcher_follows_the_shadow_candidate_and_refuses_a_bad_one() -> None:
    store, loads, registry = FakeStore(), [], CollectorRegistry()
    watcher = ModelWatcher(store, "current", StreamMetrics(registry), loader=recording_loader(store, loads))  # type: ignore[arg-type]
    store.shadow_version = "v9"
    watcher.check_once()
    assert watcher.shadow is None, "loaded in the background, swapped between batches"
    watcher.swap()
    assert watcher.shadow is not None and watcher.shadow.version == "v9" and watcher.detector.version == "v1"
    assert registry.get_sample_value("logsentry_shadow_model", {"version": "v9"}) == 1
    store.shadow_version = "bad"
    watcher.check_once()
    watcher.check_once()
    watcher.swap()
    assert watcher.shadow.version == "v9", "a candidate that fails verification leaves the old shadow"
    assert registry.get_sample_value("logsentry_model_reloads_total", {"result": "failure"}) == 1
    store.shadow_version = None
    watcher.check_once()
    watcher.swap()
    assert watcher.shadow is None and registry.get_sample_value("logsentry_shadow_model", {"version": "v9"}) is None
    assert loads == ["v1", "v9", "bad"]


def _reference_parse(text: str, max_depth: int) -> object:
    """The strict reading written independently of the decoder: ``json.loads`` with hooks of its
    own (duplicate keys and NaN/Infinity refused), then a walk over the parsed value for depth."""

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    def constant(name: str) -> object:
        raise ValueError(name)

    def depth(value: object) -> int:
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        return 0 if children is None else 1 + max((depth(c) for c in children), default=0)

    value = json.loads(text, object_pairs_hook=unique, parse_constant=constant)
    if depth(value) > max_depth:
        raise ValueError("too deep")
    return value


_json_text = st.recursive(
    st.sampled_from(
        ["1", "-2.5e3", "true", "null", "NaN", "Infinity", '"a"', '"{["', '"\\u00e9"', '"q\\"[{"', '"\\\\"']
    ),
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(st.tuples(st.sampled_from(['"a"', '"b"', '"{"', '"["']), inner), max_size=4).map(
            lambda kv: "{" + ",".join(f"{k}: {v}" for k, v in kv) + "}"
        )
    ),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(_json_text, st.integers(min_value=1, max_value=6))
def test_the_fast_strict_reading_refuses_and_accepts_exactly_what_the_reference_does(text: str, depth: int) -> None:
    # duplicate keys, NaN/Infinity, brackets inside strings and nesting around the limit
    from logsentry.model_store.ingest.decode import parse_json

    try:
        expected: object = ("ok", _reference_parse(text, depth))
    except ValueError as exc:
        expected = ("refused", "too deep" if str(exc) == "too deep" else type(exc).__name__)
    try:
        got: object = ("ok", parse_json(text, DecodeLimits(max_depth=depth)))
    except InvalidMessage as exc:
        got = ("refused", "too deep" if exc.reason == "too_deep" else "ValueError")
    if expected[0] == "refused" and expected[1] != "too deep":
        expected = ("refused", "ValueError")  # duplicate keys and NaN are ValueErrors in the reference
    assert got == expected
