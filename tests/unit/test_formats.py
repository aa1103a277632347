"""Input formats: each shipper's shape maps onto the one request-log definition, and hostile input is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logsentry.errors import ConfigError, InvalidMessage
from logsentry.model_store.ingest.decode import DecodeLimits
from logsentry.model_store.ingest.formats import InputFormat, decode_message, input_format
from logsentry.model_store.ingest.request_log import MODEL_FIELDS, parse_query, split_target
from logsentry.model_store.model.preprocessing import CleanupSpec, clean
from logsentry.trainer.render import FORMATS, otlp, render

MODEL_VIEW = CleanupSpec(keep_fields=("method", "query", "path", "statusCode", "requestPayload"))


def one(value: str | bytes, fmt: str = "auto") -> dict:
    decoded = decode_message(value.encode() if isinstance(value, str) else value, input_format(fmt))
    (record,) = decoded.records
    assert isinstance(record, dict)
    return record


def refused(value: str | bytes, fmt: str = "auto", limits: DecodeLimits = DecodeLimits()) -> str:
    with pytest.raises(InvalidMessage) as caught:
        decode_message(value.encode() if isinstance(value, str) else value, input_format(fmt), limits)
    return caught.value.reason


# -- access-log lines ----------------------------------------------------------------------
COMBINED = (
    '203.0.113.9 - alice [10/Oct/2025:13:55:36 -0700] "GET /search?q=red+shoes&page=2 HTTP/1.1" 200 2326 '
    '"https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"'
)


def test_combined_line_maps_to_a_request_log_without_body() -> None:
    record = one(COMBINED, "combined")
    assert record == {
        "timestamp": 1760129736000,
        "method": "get",
        "query": {"q": "red shoes", "page": "2"},
        "path": "/search",
        "statusCode": 200,
        "source": {"remoteAddress": "203.0.113.9"},
    }
    assert "requestPayload" not in record, "an access log carries no request body"


def test_common_format_and_extra_trailing_fields() -> None:
    common = '10.1.2.3 - - [01/Jan/2026:00:00:00 +0000] "POST /api/login HTTP/1.0" 401 -'
    assert one(common, "common")["path"] == "/api/login"
    main = COMBINED + ' "198.51.100.1"'  # nginx `main` adds $http_x_forwarded_for
    assert one(main)["query"] == {"q": "red shoes", "page": "2"}


def test_escaped_quotes_and_bytes_inside_the_request_line_are_undone() -> None:
    apache = '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /a\\"b?x=\\"1\\" HTTP/1.1" 404 12 "-" "curl"'
    assert one(apache)["path"] == '/a"b' and one(apache)["query"] == {"x": '"1"'}
    nginx = '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /a\\x22b?q=caf\\xC3\\xA9 HTTP/1.1" 200 1 "-" "-"'
    assert one(nginx)["path"] == '/a"b' and one(nginx)["query"] == {"q": "café"}


def test_spaces_and_absolute_targets_in_the_request_line() -> None:
    spaced = '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /files/my report.pdf HTTP/1.1" 200 1'
    assert one(spaced)["path"] == "/files/my report.pdf"
    absolute = '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET http://evil.example:8080/x?a=1 HTTP/1.1" 200 1'
    assert one(absolute)["path"] == "/x" and one(absolute)["query"] == {"a": "1"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /a', "unrecognized_format"),  # truncated
        ("1.2.3.4 - - [01/Jan/2026", "unrecognized_format"),
        ('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 150 "-" "-"', "invalid_event"),  # TLS junk
        ('1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "-" 400 0 "-" "-"', "invalid_event"),
        ("just some words", "unrecognized_format"),
        (b"1.2.3.4 - - \xff\xfe", "not_utf8"),
        ("   ", "unrecognized_format"),
    ],
)
def test_hostile_access_log_lines(line: str | bytes, reason: str) -> None:
    assert refused(line) == reason
    assert refused(line, "combined") == reason


def test_a_one_megabyte_line_is_refused_by_size_and_a_large_one_parses() -> None:
    huge = '1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /?q=' + "a" * 1_000_000 + ' HTTP/1.1" 200 1'
    assert refused(huge) == "too_large"
    limits = DecodeLimits(max_bytes=2_000_000)
    (record,) = decode_message(huge.encode(), InputFormat("combined"), limits).records
    assert isinstance(record, dict) and len(record["query"]["q"]) == 1_000_000


def test_line_in_a_json_envelope() -> None:
    filebeat = json.dumps({"@timestamp": "2026-01-01T00:00:00Z", "message": COMBINED, "log": {"offset": 7}})
    assert decode_message(filebeat.encode()).format == "combined"
    assert one(filebeat)["query"] == {"q": "red shoes", "page": "2"}
    assert one(json.dumps({"msg": COMBINED}), "combined")["path"] == "/search"
    assert refused(json.dumps({"message": "kernel: oops"})) == "unrecognized_format"


# -- JSON shapes ---------------------------------------------------------------------------
ECS_NESTED = {
    "@timestamp": "2026-01-01T00:00:00.000Z",
    "http": {
        "request": {"method": "POST", "body": {"content": '{"user":"x","pw":"\' or 1=1--"}'}},
        "response": {"status_code": 401},
        "version": "1.1",
    },
    "url": {"original": "/api/login?next=%2Fhome", "path": "/api/login", "query": "next=%2Fhome"},
    "source": {"ip": "198.51.100.4"},
    "user_agent": {"original": "curl/8"},
}


def test_ecs_nested_and_dotted_keys_read_alike() -> None:
    nested = one(json.dumps(ECS_NESTED), "ecs")
    dotted = one(
        json.dumps(
            {
                "@timestamp": "2026-01-01T00:00:00.000Z",
                "http.request.method": "POST",
                "http.request.body.content": '{"user":"x","pw":"\' or 1=1--"}',
                "http.response.status_code": 401,
                "url.original": "/api/login?next=%2Fhome",
                "url.path": "/api/login",
                "url.query": "next=%2Fhome",
                "source.ip": "198.51.100.4",
            }
        ),
        "ecs",
    )
    assert nested == dotted
    assert nested["requestPayload"] == {"user": "x", "pw": "' or 1=1--"}
    assert nested["query"] == {"next": "/home"} and nested["statusCode"] == 401
    assert decode_message(json.dumps(ECS_NESTED).encode()).format == "ecs"


def test_ecs_with_only_url_original() -> None:
    record = one(json.dumps({"http": {"request": {"method": "GET"}}, "url": {"original": "/p?a=1&a=2"}}))
    assert record["path"] == "/p" and record["query"] == {"a": ["1", "2"]} and record["requestPayload"] is None


@pytest.mark.parametrize(
    "doc",
    [
        # Vector parse_nginx_log
        {
            "client": "203.0.113.9",
            "method": "GET",
            "path": "/search?q=red+shoes",
            "protocol": "HTTP/1.1",
            "status": 200,
            "size": 512,
            "referer": "-",
            "agent": "curl",
            "timestamp": "2026-01-01T00:00:00Z",
        },
        # Fluent Bit's stock nginx parser
        {
            "remote": "203.0.113.9",
            "host": "-",
            "user": "-",
            "method": "GET",
            "path": "/search?q=red+shoes",
            "code": "200",
            "size": "512",
            "referer": "-",
            "agent": "curl",
        },
        # nginx log_format escape=json with variable names
        {
            "time_iso8601": "2026-01-01T00:00:00+00:00",
            "remote_addr": "203.0.113.9",
            "request": "GET /search?q=red+shoes HTTP/1.1",
            "status": "200",
            "request_body": "",
        },
    ],
)
def test_flat_collector_json(doc: dict) -> None:
    record = one(json.dumps(doc))
    assert decode_message(json.dumps(doc).encode()).format == "flat"
    assert record["method"] == "get" and record["path"] == "/search" and record["query"] == {"q": "red shoes"}
    assert record["statusCode"] == 200 and record["source"] == {"remoteAddress": "203.0.113.9"}


def test_reference_logs_are_kept_as_they_are() -> None:
    event = {
        "timestamp": 1,
        "method": "get",
        "query": {"q": "x"},
        "path": "/a",
        "statusCode": 200,
        "headers": {"h": "v"},
        "requestPayload": None,
    }
    assert one(json.dumps(event)) == event
    assert decode_message(json.dumps(event).encode()).format == "reference"


# -- OTLP ----------------------------------------------------------------------------------
def _events(n: int) -> list[dict]:
    return [
        {
            "timestamp": 1_700_000_000_000 + i,
            "method": "get",
            "path": f"/p/{i}",
            "query": {"q": f"v{i}"},
            "statusCode": 200,
            "source": {"remoteAddress": "10.0.0.1"},
            "requestPayload": None,
        }
        for i in range(n)
    ]


def test_otlp_message_holds_many_records_in_order() -> None:
    decoded = decode_message(otlp(_events(5)).encode())
    assert decoded.format == "otlp-json" and len(decoded.records) == 5
    assert [r["path"] for r in decoded.records] == [f"/p/{i}" for i in range(5)]  # type: ignore[index]
    assert decoded.records[3]["timestamp"] == 1_700_000_000_003  # type: ignore[index]


def test_otlp_record_without_http_attributes_reads_its_body_as_a_line() -> None:
    message = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"body": {"stringValue": COMBINED}},
                            {"body": {"stringValue": "not a request"}},
                            {
                                "attributes": [
                                    {"key": "http.request.method", "value": {"stringValue": "GET"}},
                                    {"key": "url.path", "value": {"stringValue": "/x"}},
                                ]
                            },
                        ]
                    }
                ]
            }
        ]
    }
    records = decode_message(json.dumps(message).encode(), InputFormat("otlp-json")).records
    assert isinstance(records[0], dict) and records[0]["path"] == "/search"
    assert isinstance(records[1], InvalidMessage) and records[1].reason == "unrecognized_format"
    assert isinstance(records[2], dict) and records[2]["path"] == "/x"


def test_otlp_hostile_messages() -> None:
    many = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "x"}}] * 100_000}]}]}
    limits = DecodeLimits(max_bytes=10_000_000)
    assert refused(json.dumps(many), "otlp-json", limits) == "too_many_records"
    deep: dict = {"stringValue": "x"}
    for _ in range(200):
        deep = {"kvlistValue": {"values": [{"key": "k", "value": deep}]}}
    nested = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"key": "a", "value": deep}]}]}]}]}
    assert refused(json.dumps(nested), "otlp-json") == "too_deep"
    assert refused(json.dumps({"resourceLogs": []}), "otlp-json") == "invalid_event"
    assert refused(json.dumps({"a": 1}), "otlp-json") == "unrecognized_format"


# -- mapping files -------------------------------------------------------------------------
def test_mapping_file_with_fallbacks_and_label(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        "method: [req.verb, verb]\ntarget: req.uri\nstatus: res.code\nbody: req.body\nclient: peer\nlabel: is_attack\n"
    )
    fmt = input_format(f"mapping:{path}")
    doc = {
        "verb": "POST",
        "req": {"uri": "/c?x=1", "body": "a=1&b=2"},
        "res": {"code": 201},
        "peer": "1.1.1.1",
        "is_attack": 1,
    }
    decoded = decode_message(json.dumps(doc).encode(), fmt)
    assert decoded.label == 1 and decoded.format == "mapping"
    assert decoded.records[0] == {
        "method": "post",
        "query": {"x": "1"},
        "path": "/c",
        "statusCode": 201,
        "source": {"remoteAddress": "1.1.1.1"},
        "requestPayload": {"a": "1", "b": "2"},
    }
    with pytest.raises(InvalidMessage, match=r"none of req\.verb, verb, req\.uri is present"):
        decode_message(b'{"other": 1}', fmt)


def test_mapping_line_field(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"line": "payload.raw"}))
    record = one(json.dumps({"payload": {"raw": COMBINED}}), f"mapping:{path}")
    assert record["path"] == "/search"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("method: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("methd: verb\n", r"unknown field\(s\) methd"),
        ("status: code\n", "name at least one of"),
        ("method: 5\n", "must be a dotted path"),
    ],
)
def test_bad_mapping_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        input_format(f"mapping:{path}")


def test_unknown_format_and_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown input format 'xml'"):
        input_format("xml")
    with pytest.raises(ConfigError, match="does not exist"):
        input_format(f"mapping:{tmp_path / 'none.yaml'}")


# -- auto detection ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (COMBINED, "combined"),
        (json.dumps({"message": COMBINED}), "combined"),
        (json.dumps(ECS_NESTED), "ecs"),
        (json.dumps({"method": "GET", "path": "/a?b=1", "status": 200}), "flat"),
        (json.dumps({"method": "get", "path": "/a", "query": {}}), "reference"),
        (otlp(_events(2)), "otlp-json"),
        ('{"a": 1}', "invalid_event"),
        ("[1]", "not_object"),
        ("42", "not_object"),
        ("{oops", "not_json"),
        ("oops", "unrecognized_format"),
        ("", "empty"),
    ],
)
def test_auto_detection(value: str, expected: str) -> None:
    try:
        got = decode_message(value.encode()).format
    except InvalidMessage as exc:
        got = exc.reason
    assert got == expected


# -- the one request-log definition --------------------------------------------------------
def test_query_strings_decode_as_the_reference_data_does() -> None:
    assert parse_query("q=red+shoes&a=%27%20or%201%3D1&empty=&flag") == {
        "q": "red shoes",
        "a": "' or 1=1",
        "empty": "",
        "flag": "",
    }
    assert parse_query("a=1&a=2&a=3") == {"a": ["1", "2", "3"]}
    assert parse_query("bad=%zz&half=%4") == {"bad": "%zz", "half": "%4"}
    assert parse_query("x=%ff") == {"x": "\ufffd"}
    assert split_target("/p?a=1#frag") == ("/p", "a=1")
    assert split_target("https://h.example/x/y?z=1") == ("/x/y", "z=1")
    assert split_target("/only") == ("/only", None)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_paths = st.lists(st.text("abcxyz019-_.~%'\"<>;(){}$:@!*", min_size=1, max_size=12), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
_requests = st.fixed_dictionaries(
    {
        "timestamp": st.integers(1_600_000_000_000, 1_900_000_000_000),
        "method": st.sampled_from(["get", "post", "put", "delete"]),
        "query": st.dictionaries(st.text("abcdefghij_[]", min_size=1, max_size=8), _text, max_size=4),
        "path": _paths,
        "statusCode": st.sampled_from([200, 201, 301, 400, 401, 403, 404, 500]),
        "source": st.fixed_dictionaries({"remoteAddress": st.ip_addresses(v=4).map(str)}),
        "requestPayload": st.one_of(
            st.none(), st.dictionaries(st.text("abc", min_size=1, max_size=5), _text, max_size=3)
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(_requests, st.sampled_from([f for f in FORMATS if f != "reference"]))
def test_a_request_rendered_in_any_format_reads_back_the_same(event: dict, fmt: str) -> None:
    """For the fields the format carries, the model sees exactly what it sees in the reference format."""
    expected = {k: event[k] for k in MODEL_FIELDS}  # the reference data's field order
    if fmt in ("combined", "common"):
        expected.pop("requestPayload")  # an access log has no body
    for mode in (fmt, "auto"):
        record = one(render(event, fmt), mode)
        assert clean(record, MODEL_VIEW) == clean(expected, MODEL_VIEW)
        assert record["source"] == event["source"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["auto", "combined", "ecs", "flat", "otlp-json", "reference"]))
def test_arbitrary_bytes_are_a_record_or_a_reason(value: bytes, fmt: str) -> None:
    try:
        decoded = decode_message(value, input_format(fmt))
    except InvalidMessage as exc:
        assert exc.reason
        return
    assert all(isinstance(r, (dict, InvalidMessage)) for r in decoded.records)
