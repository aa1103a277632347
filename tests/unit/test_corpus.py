"""The public corpus: one role for every site and payload, grafts that change one value, values alone."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from logsentry.errors import ConfigError
from logsentry.model_store.model.preprocessing import CleanupSpec, value_units
from logsentry.trainer.corpus import (
    BENCHMARK_SITES,
    SITE_ROLES,
    Corpus,
    capture_role,
    default_corpus,
    graft,
    grafted_value,
    payload_role,
    value_alone,
    value_shape,
)

VALUES = CleanupSpec(units="values")
CHECKOUT = default_corpus()


def test_roles_are_fixed_by_name_and_the_benchmark_holds_real_sites() -> None:
    assert set(BENCHMARK_SITES) >= {"semicomplete", "erddap", "myopera"}
    assert {role for role in SITE_ROLES.values()} == {"train", "validation", "benchmark"}
    sites = [f"site{i}" for i in range(400)]
    shares = {role: sum(capture_role(s) == role for s in sites) / len(sites) for role in ("train", "validation")}
    assert 0.5 < shares["train"] < 0.7 and 0.12 < shares["validation"] < 0.28
    assert [capture_role(s) for s in sites] == [capture_role(s) for s in sites]


def test_a_payload_has_one_role_whatever_its_case_or_spacing() -> None:
    assert payload_role("' OR 1=1 --") == payload_role("'  or 1=1 --")
    roles = [payload_role(f"<script>alert({i})</script>") for i in range(1000)]
    assert 0.25 < roles.count("benchmark") / 1000 < 0.35 and 0.05 < roles.count("validation") / 1000 < 0.15


def test_a_graft_changes_exactly_one_value_and_it_holds_the_payload() -> None:
    r = random.Random(1)
    base = {"method": "post", "path": "/shop/item", "query": {"id": "42", "lang": "en"}, "requestPayload": {"n": "x"}}
    for _ in range(200):
        grafted = graft(base, "' or '1'='1", r)
        before = {t for _, t in value_units(base, VALUES)}
        changed = [t for _, t in value_units(grafted, VALUES) if t not in before]
        assert len(changed) == 1 and ("or '1'='1" in changed[0] or "or%20'1'='1" in changed[0]), changed
        alone = grafted_value(base, "<svg onload=alert(1)>", r)
        assert alone is not None and len([t for _, t in value_units(alone, VALUES) if "onload" in t]) == 1


def test_a_value_alone_is_a_request_holding_that_value_only() -> None:
    event = {"method": "get", "path": "/a", "query": {"q": "x" * 1000}, "requestPayload": {"a": [{"b": "c"}]}}
    assert value_alone(event, ("path",)) == {"method": "get", "path": "/a"}
    assert value_alone(event, ("requestPayload", "a", 0, "b")) == {"requestPayload": {"a": [{"b": "c"}]}}
    sliced = value_alone(event, ("query", "q"), random.Random(0))
    assert sliced == {"query": {"q": "x" * 240}}


def test_values_of_one_form_share_a_shape() -> None:
    assert value_shape('?"id"="1234"') == value_shape('?"id"="98"')
    assert value_shape('?"t"="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"') == value_shape('?"t"="' + "a" * 30 + '"')
    assert value_shape('?"q"="shoes"') != value_shape('?"q"="boots"')


def test_a_directory_that_is_not_a_corpus_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a logsentry corpus"):
        Corpus(tmp_path)


def test_the_committed_corpus_reads_and_every_site_has_its_role() -> None:
    assert CHECKOUT is not None, "the tests run from a checkout, which holds bench/data"
    corpus = Corpus(CHECKOUT)
    assert {f["name"] for f in corpus.files()} >= {"payloads.jsonl.gz", "captures.jsonl.gz", "crs.jsonl.gz"}
    for site in SITE_ROLES:
        assert len(corpus.site_events(site)) >= 900, site
    assert len(corpus.captures) > 250
    train, bench = corpus.payloads_of("train"), corpus.payloads_of("benchmark")
    assert len(train) > 5000 and len(bench) > 3000
    assert not {p.text for p in train} & {p.text for p in bench}


def test_payloads_made_from_one_base_share_its_role() -> None:
    """fuzzdb's command template filled with one command: all of it in one part, never split."""
    assert CHECKOUT is not None
    corpus = Corpus(CHECKOUT)
    grouped: dict[str, set[str]] = {}
    for p in corpus.payloads:
        if p.group:
            grouped.setdefault(p.group, set()).add(p.role)
    assert len(grouped) >= 10, "the filled template's commands"
    assert all(len(roles) == 1 for roles in grouped.values()), grouped
    assert {r for roles in grouped.values() for r in roles} == {"train", "validation", "benchmark"}
    benchmark_commands = {g for g, roles in grouped.items() if roles == {"benchmark"}}
    trained = " ".join(p.text for p in corpus.payloads_of("train") if p.group)
    assert not any(f";{command}" in trained for command in benchmark_commands)


def test_list_lines_that_are_no_attack_by_their_content_are_left_out() -> None:
    from bench.build_data import is_payload, without_description

    for line in ("%7C", "\\21", "&lt;", "%0a", "Comments:", "Time-Based:", "[B]", "ls", "3.10E+17"):
        assert not is_payload(line), line
    for line in ("'--", "' OR 1=1 --", ";id", "<svg onload=alert(1)>", "%27%20OR%201=1"):
        assert is_payload(line), line
    assert without_description("'OR '' = '\tAllows authentication without a valid username.") == "'OR '' = '"
    assert without_description("-- -\tSQL comment") == "-- -"
    tab_inside = "<IMG SRC=\"jav\tascript:alert('XSS');\">"
    assert without_description(tab_inside) == tab_inside, "a tab inside a payload is part of it"
