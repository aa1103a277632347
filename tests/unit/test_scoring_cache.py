"""The unit-score cache: real traffic's repeated values are read from it, and no score changes."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import InvalidMessage
from logsentry.model_store.bundled import load_serving_detector
from logsentry.model_store.ingest.formats.access_log import parse_line
from logsentry.model_store.model.runtimes import CountingInference
from logsentry.model_store.model.scoring import UNIT_CACHE_MAX_CHARS, Detector
from logsentry.model_store.store import ModelStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site_units() -> list[str]:
    """The value units of 4,000 requests of a real site's access log (bench/data), in log order."""
    bundled = load_serving_detector(ModelStore(ROOT / "model_store" / "pretrained"))
    with gzip.open(ROOT / "bench" / "data" / "sites" / "hurence.log.gz", "rt", encoding="utf-8") as handle:
        events = []
        for line in handle:
            try:
                events.append(parse_line(line))
            except InvalidMessage:  # a scanner's TLS hello on the plain port: not a request
                continue
            if len(events) == 4000:
                break
    units, _ = bundled.preprocessing.units(bundled.preprocessing.texts(events))
    return units


def _detector(cache_size: int) -> tuple[Detector, CountingInference]:
    bundled = load_serving_detector(ModelStore(ROOT / "model_store" / "pretrained"))
    counting = CountingInference(bundled.inference)
    return Detector(counting, bundled.preprocessing, threshold=bundled.threshold, cache_size=cache_size), counting


def _in_batches(detector: Detector, units: list[str], seed: int) -> np.ndarray:
    r, out, at = random.Random(seed), [], 0
    while at < len(units):
        size = r.choice([1, 7, 64, 300])
        out.append(detector.score_units(units[at : at + size]))
        at += size
    return np.concatenate(out)


def test_cached_scores_are_the_networks_own_to_the_last_bit(site_units: list[str]) -> None:
    uncached, _ = _detector(0)
    reference = uncached.score_units(site_units)
    cached, counting = _detector(4096)
    for seed in range(3):  # batches of any size, the cache filled in any order
        assert np.array_equal(_in_batches(cached, site_units, seed), reference)
    short = {u for u in site_units if len(u) <= UNIT_CACHE_MAX_CHARS}
    long_rows = counting.rows - len(short)
    assert len(set(site_units)) < len(site_units) / 5, "a real site repeats its values"
    again = cached.score_units(sorted(short))
    assert counting.rows == len(short) + long_rows, "each distinct short unit went through the network once"
    assert np.array_equal(again, uncached.score_units(sorted(short)))


def test_the_cache_is_bounded_keeps_what_is_used_and_skips_long_units(site_units: list[str]) -> None:
    detector, counting = _detector(8)
    fresh = [f'?"q"="value {k}"' for k in range(20)]
    detector.score_units(fresh[:8])
    for k in range(8, 20):  # the first unit is used between arrivals: it stays; the others leave
        detector.score_units([fresh[0], fresh[k]])
    rows = counting.rows
    detector.score_units([fresh[0], *fresh[-7:]])
    assert counting.rows == rows, "the most recently used eight are held"
    detector.score_units([fresh[1]])
    assert counting.rows == rows + 1, "an old one left the cache"
    long = '?"q"="' + "a" * UNIT_CACHE_MAX_CHARS + '"'
    detector.score_units([long])
    detector.score_units([long])
    assert counting.rows > rows + 2 and len(detector._cache) == 8


def test_the_deciding_unit_is_the_value_of_highest_score() -> None:
    detector, _ = _detector(4096)
    event = {"method": "get", "path": "/search", "query": {"q": "' OR 1=1 --", "lang": "en"}}
    texts = detector.preprocessing.texts([event, {"method": "get", "path": "/"}])
    units, owners = detector.preprocessing.units(texts)
    scores = detector.score_units(units)
    deciding = detector.deciding_units(texts)
    for k, text in enumerate(texts):
        own = [u for u, o in zip(units, owners.tolist(), strict=True) if o == k]
        assert deciding[k] in own
        assert scores[units.index(deciding[k])] == detector.score_texts([text])[0]
    assert "OR 1=1" in deciding[0].upper()
