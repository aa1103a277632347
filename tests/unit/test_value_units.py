"""Value units: what the default model reads of a request, one value at a time."""

from __future__ import annotations

import numpy as np
import pytest

from logsentry.errors import InvalidEvent
from logsentry.model_store.model.preprocessing import (
    UNIT_SEPARATOR,
    CharTokenizer,
    CleanupSpec,
    Preprocessing,
    clean,
    decoded_path,
    value_units,
)
from logsentry.model_store.model.scoring import Detector

VALUES = CleanupSpec(units="values")


def test_a_request_is_its_method_and_path_then_each_value_it_sent() -> None:
    event = {
        "method": "post",
        "path": "/cart/add",
        "query": {"q": "red shoes", "tag": ["a", "b"]},
        "requestPayload": {"item": {"id": 42, "note": "gift"}, "list": [1]},
        "statusCode": 500,
        "headers": {"cookie": "x"},
    }
    assert value_units(event, VALUES) == [
        (("path",), 'post "/cart/add"'),
        (("query", "q"), '?"q"="red shoes"'),
        (("query", "tag"), '?"tag"="a"'),
        (("query", "tag"), '?"tag"="b"'),
        (("requestPayload", "item", "id"), '@"item.id"=42'),
        (("requestPayload", "item", "note"), '@"item.note"="gift"'),
        (("requestPayload", "list", 0), '@"list[0]"=1'),
    ]  # the status (the server's answer) and the headers are not read
    assert clean(event, VALUES) == UNIT_SEPARATOR.join(text for _, text in value_units(event, VALUES))


def test_a_bare_request_still_has_one_value_and_a_text_body_is_one() -> None:
    assert value_units({"method": "get", "path": "/"}, VALUES) == [(("path",), 'get "/"')]
    assert value_units({"method": "post", "requestPayload": "a\nb"}, VALUES)[1] == (("requestPayload",), '@="a\\nb"')
    assert clean({"path": "/a\nb", "query": {"x\n": "y\n"}}, VALUES).count(UNIT_SEPARATOR) == 1  # escaped inside values


def test_values_past_the_limit_are_read_together_and_none_is_lost() -> None:
    spec = CleanupSpec(units="values", max_units=4)
    event = {"method": "get", "path": "/", "query": {f"p{i}": str(i) for i in range(6)}}
    units = value_units(event, spec)
    assert len(units) == 4 and all(f'?"p{i}"' in units[3][1] for i in range(2, 6))


def test_the_path_is_read_as_the_server_decodes_it() -> None:
    assert decoded_path("/a%20b/%3Cscript%3E") == "/a b/<script>"
    assert decoded_path("/w/%ED%94%84%EB%A0%88") == "/w/프레"
    assert decoded_path("/x%2e%2e%2fetc") == "/x../etc"
    assert decoded_path("/%252e%252e") == "/%2e%2e"  # decoded once, as the server does
    assert decoded_path("/scripts/..%c0%af../winnt") == "/scripts/..%C0%AF../winnt"  # an overlong trick stays visible
    assert decoded_path("/ok/%e9t%e9") == "/ok/%E9t%E9" and decoded_path("/%zz%4") == "/%zz%4"
    assert value_units({"method": "get", "path": "/a%20b"}, VALUES)[0][1] == 'get "/a b"'


def test_a_value_that_cannot_be_written_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent):
        value_units(["not", "a", "request"], VALUES)  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent):
        clean({"path": "/", "query": {"n": float("nan")}}, VALUES)


def test_the_units_setting_travels_with_the_artifact_and_old_ones_read_as_request() -> None:
    pre = Preprocessing(CharTokenizer.fit(["abc"], max_len=16), CleanupSpec(units="values", max_units=8))
    again = Preprocessing.from_dict(pre.to_dict())
    assert again.cleanup.units == "values" and again.cleanup.max_units == 8
    old = pre.to_dict()
    old["version"] = 1
    del old["cleanup"]["units"], old["cleanup"]["max_units"]
    assert Preprocessing.from_dict(old).cleanup.units == "request"


class _Lengths:
    """A network scoring a row by how many non-padding ids it holds (one unit per row)."""

    runtime = "onnx"
    chunk = 512
    parallel_buckets = False

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        self.rows += len(ids)
        return (ids != 0).sum(axis=1).astype(np.float32) / 1000


def test_a_request_scores_its_strongest_value_and_a_repeated_value_is_scored_once() -> None:
    pre = Preprocessing(CharTokenizer.fit(['abcdefghijklmnopqrstuvwxyz"?=/ '], max_len=64, buckets=(16, 64)), VALUES)
    network = _Lengths()
    detector = Detector(network, pre)
    short = {"method": "get", "path": "/a", "query": {"q": "b"}}
    long = {"method": "get", "path": "/a", "query": {"q": "b", "r": "x" * 30}}
    scores = detector.score_events([short, long, short])
    assert scores[0] == pytest.approx(len('get "/a"') / 1000)  # the longer of 'get "/a"' and '?"q"="b"'
    assert scores[1] == pytest.approx(len('?"r"="' + "x" * 30 + '"') / 1000)
    assert network.rows == 3, "three distinct values in the batch: each read once"
    units, owners = pre.units(pre.texts([short, long]))
    assert len(units) == 5 and owners.tolist() == [0, 0, 1, 1, 1]
