"""No blind spot for long requests: a payload followed by kilobytes of ordinary text is still seen.

The default model reads each value on its own, so the filler goes where it could hide a
payload: after it, in the same value, where it shares the payload's window. The bundled model
is the one judged (it learnt from payloads buried in long ordinary text); the small test
model checks that short texts score the same either way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from logsentry.model_store.bundled import bundled_store
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.generate import generate_events

# ordinary prose, as in a comment or a description field
PROSE = (
    "Thanks for the quick reply. We tried the new release on our staging servers last week and the "
    "upgrade went well, but the nightly report still shows the old totals for March and April. Could "
    "you check whether the export job picks up the corrected invoices? Our accountant needs the "
    "figures before Friday. Best regards from the whole team, and have a nice weekend. "
)
FILLER = (PROSE * 20)[:4096]


def _with_truncation(detector: Detector) -> Detector:
    """The same model read the way artifacts were before windows: the last max_len characters of each text only."""
    tokenizer = dataclasses.replace(detector.preprocessing.tokenizer, long_requests="truncate")
    preprocessing = dataclasses.replace(detector.preprocessing, tokenizer=tokenizer)
    return Detector(detector.inference, preprocessing, threshold=detector.threshold)


def _followed_by_filler(event: dict[str, Any]) -> dict[str, Any]:
    """Every query value followed by 4 KB of filler (the one that carries the payload among them)."""
    return {**event, "query": {k: f"{v} {FILLER}" if isinstance(v, str) else v for k, v in event["query"].items()}}


def test_a_payload_before_four_kilobytes_of_filler_is_still_flagged() -> None:
    detector = load_detector(bundled_store())
    assert detector.preprocessing.tokenizer.long_requests == "windows", "new models read long requests in windows"
    attacks = [e for e, _ in generate_events(600, seed=51, attack_share=1.0) if e["query"] and e["method"] == "get"]
    alone = detector.score_events(attacks)
    seen = [e for e, s in zip(attacks, alone, strict=True) if s >= detector.threshold]
    assert len(seen) >= 50, "the model flags the attacks on their own"
    padded = [_followed_by_filler(e) for e in seen]
    longest = max(len(u) for u in detector.preprocessing.units(detector.preprocessing.texts(padded))[0])
    assert longest > 4 * detector.preprocessing.tokenizer.max_len

    benign = [e for e, _ in generate_events(300, seed=53, attack_share=0.0) if e["query"] and e["method"] == "get"]
    benign_padded = [_followed_by_filler(e) for e in benign]
    assert float(np.mean(detector.score_events(benign_padded) >= detector.threshold)) <= 0.05, "filler reads benign"

    windows = detector.score_events(padded)
    truncated = _with_truncation(detector).score_events(padded)
    still = float(np.mean(windows >= detector.threshold))
    blind = float(np.mean(truncated >= detector.threshold))
    # measured: the bundled model keeps ~58 % of them flagged (the one before buried payloads: 5 %);
    # a payload at the start of a long value shares its window with 200 characters of prose
    assert still >= 0.45, f"windows flag {still:.0%} of the padded attacks"
    assert blind < 0.5, f"the last characters alone flag {blind:.0%}: the filler should hide the payload"
    assert np.all(windows >= truncated - 1e-6), "the highest window is at least the last window"


def test_short_requests_score_the_same_with_or_without_windows(trained_store: ModelStore) -> None:
    detector = load_detector(trained_store)
    events = [e for e, _ in generate_events(300, seed=52)]
    units, _ = detector.preprocessing.units(detector.preprocessing.texts(events))
    assert max(len(u) for u in units) <= detector.preprocessing.tokenizer.max_len
    assert np.array_equal(detector.score_events(events), _with_truncation(detector).score_events(events))
