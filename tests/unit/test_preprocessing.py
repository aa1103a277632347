"""Cleanup and tokenizer semantics, each stated explicitly."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logsentry.errors import IncompatibleArtifact, InvalidEvent
from logsentry.model_store.model.preprocessing import (
    PREPROCESSING_VERSION,
    REFERENCE_DROP_FIELDS,
    CharTokenizer,
    CleanupSpec,
    Preprocessing,
    clean,
    observed_fields,
)

EVENT = {
    "timestamp": 1502738558062,
    "method": "get",
    "query": {"q": "shoes"},
    "path": "/search",
    "statusCode": 200,
    "source": {"remoteAddress": "203.0.113.9"},
    "route": "/search",
    "headers": {"host": "x"},
    "requestPayload": None,
    "responsePayload": {"statusCode": 200},
}


# -- cleanup ------------------------------------------------------------------------------
def test_clean_drops_reference_fields_keeps_order_compact() -> None:
    assert (
        clean(EVENT) == '{"method":"get","query":{"q":"shoes"},"path":"/search","statusCode":200,"requestPayload":null}'
    )
    assert set(REFERENCE_DROP_FIELDS) == {"timestamp", "headers", "source", "route", "responsePayload"}


def test_clean_keeps_the_events_own_field_order() -> None:
    reordered = {"path": "/a", "method": "post", "timestamp": 1}
    assert clean(reordered) == '{"path":"/a","method":"post"}'


def test_clean_missing_fields_are_absent_not_null() -> None:
    assert clean({"method": "get", "path": "/"}) == '{"method":"get","path":"/"}'
    assert clean({}) == "{}"


def test_clean_extra_fields_kept_without_keep_list_dropped_with_it() -> None:
    event = {"method": "get", "requestId": "abc", "path": "/"}
    assert clean(event) == '{"method":"get","requestId":"abc","path":"/"}'
    spec = CleanupSpec(keep_fields=("method", "query", "path", "statusCode", "requestPayload"))
    assert clean(event, spec) == '{"method":"get","path":"/"}'


def test_clean_escapes_non_ascii_like_the_reference_json_dumps() -> None:
    assert clean({"query": {"name": "müller 😀"}}) == '{"query":{"name":"m\\u00fcller \\ud83d\\ude00"}}'
    # a lone surrogate (legal in a JSON escape) becomes an escape again, never invalid text
    assert clean({"q": "\ud800"}) == '{"q":"\\ud800"}'


@pytest.mark.parametrize("bad", [[1, 2], "text", 3, None])
def test_clean_refuses_non_objects(bad: object) -> None:
    with pytest.raises(InvalidEvent):
        clean(bad)  # type: ignore[arg-type]


def test_clean_refuses_nan() -> None:
    with pytest.raises(InvalidEvent):
        clean({"q": float("nan")})


def test_observed_fields_first_seen_order_minus_dropped() -> None:
    events = [{"timestamp": 1, "method": "get"}, {"path": "/", "method": "post", "x": 1}]
    assert observed_fields(events, CleanupSpec()) == ("method", "path", "x")


# -- tokenizer ----------------------------------------------------------------------------
def test_fit_ranks_by_frequency_ties_by_first_appearance_and_lower_cases() -> None:
    tok = CharTokenizer.fit(["bBa", "ca"])
    # b:2 (B lower-cased), a:2, c:1 -> b before a (seen first), then c
    assert tok.vocabulary == "bac"
    assert tok.encode(["abc"], width=3).tolist() == [[2, 1, 3]]


def test_index_zero_is_padding_and_never_a_character() -> None:
    tok = CharTokenizer.fit(["abc"])
    assert 0 not in tok.encode(["abc"], width=3)
    assert tok.input_dim == len(tok.vocabulary) + 2  # padding + out-of-vocabulary


def test_filters_tab_and_newline_from_fit_and_encode() -> None:
    tok = CharTokenizer.fit(["a\tb\nc"])
    assert "\t" not in tok.vocabulary and "\n" not in tok.vocabulary
    assert tok.encode(["a\t\nb"], width=4).tolist() == tok.encode(["ab"], width=4).tolist()


def test_unknown_characters_map_to_reserved_oov_index() -> None:
    tok = CharTokenizer.fit(["ab"])
    assert tok.oov_index == 3
    assert tok.encode(["a?b"], width=3).tolist() == [[1, 3, 2]]


def test_unknown_characters_dropped_under_reference_policy() -> None:
    tok = CharTokenizer.fit(["ab"], oov="drop")
    assert tok.oov_index is None
    assert tok.input_dim == 3
    assert tok.encode(["a?b"], width=3).tolist() == [[0, 1, 2]]


def test_pre_padding_and_pre_truncation() -> None:
    tok = CharTokenizer.fit(["abcdef"], max_len=4)
    a, b, c, d, e, f = range(1, 7)
    assert tok.encode(["ab"]).tolist() == [[0, 0, a, b]]  # zeros in front
    assert tok.encode(["abcdef"]).tolist() == [[c, d, e, f]]  # the start is cut, the end kept


def test_buckets_pad_each_event_to_its_own_width() -> None:
    tok = CharTokenizer.fit(["abc"], max_len=8, buckets=(2, 4, 8), long_requests="truncate")
    groups = {b.width: b for b in tok.encode_buckets(["a", "abc", "abcabcabcabc", "ab"])}
    assert sorted(groups) == [2, 4, 8]
    assert groups[2].rows.tolist() == [0, 3]
    assert groups[2].ids.tolist() == [[0, 1], [1, 2]]
    assert groups[4].ids.tolist() == [[0, 1, 2, 3]]
    assert groups[8].ids.tolist() == [[2, 3, 1, 2, 3, 1, 2, 3]]  # "bcabcabc": the start cut, the end kept


def test_bucket_encoding_does_not_depend_on_batch_companions() -> None:
    tok = CharTokenizer.fit(["abcdef"], max_len=16, buckets=(4, 8, 16))
    alone = tok.encode_buckets(["abcde"])[0].ids
    crowd = {b.width: b for b in tok.encode_buckets(["a", "abcde", "abcdefabcdefabcdef"])}
    assert crowd[8].ids.tolist() == alone.tolist()


def test_tokenizer_rejects_inconsistent_buckets() -> None:
    with pytest.raises(ValueError):
        CharTokenizer("ab", max_len=8, buckets=(4, 2, 8))
    with pytest.raises(ValueError):
        CharTokenizer("ab", max_len=8, buckets=(2, 4))


def _naive_ids(tok: CharTokenizer, text: str) -> list[int]:
    ids = []
    for ch in text.lower() if tok.lower else text:
        if ch in tok.filters:
            continue
        i = tok.vocabulary.find(ch)
        if i >= 0:
            ids.append(i + 1)
        elif tok.oov_index is not None:
            ids.append(tok.oov_index)
    return ids


def _naive(tok: CharTokenizer, text: str, width: int) -> list[int]:
    ids = _naive_ids(tok, text)
    ids = ids[-width:] if ids else []
    return [0] * (width - len(ids)) + ids


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\t\nAb{}"), max_size=30), max_size=12
    ),
    fit_texts=st.lists(st.text(max_size=20), min_size=1, max_size=5),
    oov=st.sampled_from(["index", "drop"]),
)
def test_vectorised_encoding_equals_the_naive_definition(texts: list[str], fit_texts: list[str], oov: str) -> None:
    tok = CharTokenizer.fit(fit_texts, max_len=16, oov=oov, buckets=(4, 16), long_requests="truncate")  # type: ignore[arg-type]
    assert tok.encode(texts).tolist() == [_naive(tok, t, 16) for t in texts]
    for bucket in tok.encode_buckets(texts):
        for row, ids in zip(bucket.rows, bucket.ids, strict=True):
            assert ids.tolist() == _naive(tok, texts[row], bucket.width)


def _naive_windows(tok: CharTokenizer, text: str) -> list[list[int]]:
    """The windows definition, written the slow way: above max_len, every window // 2, the last at the end."""
    ids, width = _naive_ids(tok, text), tok.window
    if len(ids) <= tok.max_len:
        return [_naive(tok, text, int(tok.bucket_width(len(ids))))]
    offsets = [*range(0, len(ids) - width, width // 2), len(ids) - width]
    return [_naive(tok, "", int(tok.bucket_width(width)) - width) + ids[o : o + width] for o in offsets]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="abcxyz", max_size=70), max_size=8),
    oov=st.sampled_from(["index", "drop"]),
)
def test_windows_cover_a_long_request_from_start_to_end(texts: list[str], oov: str) -> None:
    tok = CharTokenizer.fit(["abcdefxy"], max_len=16, oov=oov, buckets=(4, 6, 16), window=6)  # type: ignore[arg-type]
    tok = dataclasses.replace(tok, max_windows=1_000)  # every window: the cap has its own tests
    assert tok.long_requests == "windows" and tok.window == 6
    got: dict[int, list[list[int]]] = {}
    for bucket in tok.encode_buckets(texts):
        for row, ids in zip(bucket.rows.tolist(), bucket.ids.tolist(), strict=True):
            got.setdefault(row, []).append(ids)
    assert sorted(got) == list(range(len(texts)))
    for row, text in enumerate(texts):
        assert sorted(got[row]) == sorted(_naive_windows(tok, text))
    assert all(len(w) <= 16 for rows in got.values() for w in rows)


def test_a_payload_at_the_start_of_a_long_request_is_in_a_window() -> None:
    tok = CharTokenizer.fit(["payload filler"], max_len=16, buckets=(8, 16), window=8)
    text = "payload" + " filler" * 20
    windows = [ids for b in tok.encode_buckets([text]) for ids in b.ids.tolist()]
    payload = tok.encode(["payload"], width=7)[0].tolist()
    assert any(w[: len(payload)] == payload for w in windows)
    truncated = CharTokenizer.fit(["payload filler"], max_len=16, buckets=(16,), long_requests="truncate")
    assert [ids for b in truncated.encode_buckets([text]) for ids in b.ids.tolist()] == [
        truncated.encode([text])[0].tolist()
    ]


@settings(max_examples=100, deadline=None)
@given(
    filler=st.lists(st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=12), min_size=40, max_size=300).map(
        lambda words: "".join(w + " ./-"[len(w) % 4] for w in words)  # ordinary values: words and separators
    ),
    # each at most 33 characters: wholly inside one window of 64 every 32
    payload=st.sampled_from(["' or 1=1--", "<script>alert(1)</script>", ";cat /etc/passwd|", "${jndi:ldap://x}"]),
    where=st.floats(0, 1),
)
def test_a_long_text_costs_at_most_max_windows_rows_and_its_payload_is_one_of_them(
    filler: str, payload: str, where: float
) -> None:
    tok = CharTokenizer.fit(["abcdefgh0123456789 ./-' or 1=1--<script>alert(1)</script>;|${}:"], max_len=64, window=64)
    tok = dataclasses.replace(tok, max_windows=6)
    at = int(where * len(filler))
    text = filler[:at] + payload + filler[at:]
    rows = [ids for b in tok.encode_buckets([text]) for ids in b.ids.tolist()]
    assert len(rows) <= 6
    every = [ids for b in dataclasses.replace(tok, max_windows=10**6).encode_buckets([text]) for ids in b.ids.tolist()]
    assert every[0] in rows and every[-1] in rows  # head and tail always
    encoded = tok.encode([payload], width=len(payload))[0].tolist()
    assert any(_contains(row, encoded) for row in rows)


def _contains(row: list[int], part: list[int]) -> bool:
    return any(row[i : i + len(part)] == part for i in range(len(row) - len(part) + 1))


def test_a_long_text_of_one_repeated_filler_is_read_once_per_distinct_window() -> None:
    tok = dataclasses.replace(CharTokenizer.fit(["ab' "], max_len=8, window=8), max_windows=4)
    rows = [ids for b in tok.encode_buckets(["ab" * 5_000 + "'" + "ab" * 5_000]) for ids in b.ids.tolist()]
    assert len(rows) == 4 and len({tuple(r) for r in rows}) >= 3  # head = tail: the rest go to distinct windows


def test_empty_batch_and_empty_text() -> None:
    tok = CharTokenizer.fit(["ab"], max_len=4)
    assert tok.encode([]).shape == (0, 4)
    assert tok.encode([""]).tolist() == [[0, 0, 0, 0]]
    assert tok.encode_buckets([]) == []


# -- the preprocessing as a whole ---------------------------------------------------------
def test_preprocessing_round_trips_through_json() -> None:
    pre = Preprocessing(CharTokenizer.fit(["abc"], buckets=(64, 1024)), CleanupSpec(keep_fields=("method",)))
    again = Preprocessing.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert again == pre
    assert again.to_dict()["version"] == PREPROCESSING_VERSION


def test_preprocessing_refuses_another_version() -> None:
    data = Preprocessing(CharTokenizer.fit(["abc"])).to_dict() | {"version": PREPROCESSING_VERSION + 1}
    with pytest.raises(IncompatibleArtifact, match="preprocessing version"):
        Preprocessing.from_dict(data)


def test_encode_events_cleans_then_tokenizes() -> None:
    pre = Preprocessing(CharTokenizer.fit([clean(EVENT)], max_len=256))
    (bucket,) = pre.encode_events([EVENT])
    assert np.array_equal(bucket.ids, pre.tokenizer.encode([clean(EVENT)], width=256))


def test_a_body_of_many_values_reads_the_first_one_by_one_and_the_rest_as_their_json() -> None:
    from logsentry.model_store.model.preprocessing import MAX_VALUES, value_units

    items = [{"sku": f"a{i}"} for i in range(3 * MAX_VALUES)]
    items[2 * MAX_VALUES + 5] = {"sku": "' or 1=1--"}
    event = {"method": "post", "path": "/cart", "requestPayload": {"items": items, "note": "x"}}
    spec = CleanupSpec(units="values")
    units = value_units(event, dataclasses.replace(spec, max_units=10**6))
    assert units[1] == (("requestPayload", "items", 0, "sku"), '@"items[0].sku"="a0"')
    one_by_one = [u for u in units[1:] if u[1].startswith('@"items[')]
    assert len(one_by_one) == MAX_VALUES  # a leaf each, then the rest of each container at once
    assert units[-2] == (
        ("requestPayload", "items"),
        f'@"items"={json.dumps(items[MAX_VALUES:], separators=(",", ":"))}',
    )
    assert units[-1] == (("requestPayload",), '@""={"note":"x"}')
    assert "' or 1=1--" in clean(event, spec)  # every value is still read, in the last unit
