"""Shadow scoring without a broker: who flags what, what is published, what promote adds up."""

from __future__ import annotations

import json
from collections import Counter

from logsentry.stream.processor import process_batch
from logsentry.stream.records import Message
from logsentry.stream.shadow import describe, disagreement, summed
from tests.unit.test_explain import TokenScorer


class Candidate(TokenScorer):
    version = "v-candidate"


def test_the_candidate_scores_the_same_batch_and_only_disagreements_are_published() -> None:
    values = [
        json.dumps({"method": "get", "path": "/s", "query": {"q": q}}).encode()
        for q in ("attack", "fine", "evil", "attack evil")
    ]
    messages = [Message("logs", 1, i, 0, b"k", v) for i, v in enumerate(values)]
    current, candidate = TokenScorer("attack"), Candidate("evil")
    out = process_batch(
        messages, current, alert_topic="a", dead_letter_topic="d", shadow=candidate, shadow_topic="shadow"
    )
    assert out.shadow == {"current_only": 1, "neither": 1, "candidate_only": 1, "both": 1}
    assert len(out.alerts) == 2, "the candidate alerts nothing"
    records = [json.loads(r.value) for r in out.shadow_records]
    disagreements = [r for r in records if r["schema"] == "logsentry.shadow/1"]
    assert [(r["source"]["offset"], r["current"]["flagged"], r["candidate"]["flagged"]) for r in disagreements] == [
        (0, True, False),
        (2, False, True),
    ]
    assert (
        disagreements[0]["candidate"]["version"] == "v-candidate"
        and disagreements[0]["event"]["query"]["q"] == "attack"
    )
    (summary,) = [r for r in records if r["schema"] == "logsentry.shadow-summary/1"]
    assert summary["counts"] == dict(out.shadow) and summary["candidate"] == "v-candidate"
    assert {o.topic for o in out.outgoing} == {"a", "shadow"}
    assert process_batch(messages, current, alert_topic="a", dead_letter_topic="d").shadow_records == []


def test_promote_adds_up_the_candidate_s_summaries() -> None:
    def summary(candidate: str, **counts: int) -> tuple[bytes, bytes]:
        body = {"schema": "logsentry.shadow-summary/1", "current": "v1", "candidate": candidate, "counts": counts}
        return candidate.encode(), json.dumps(body).encode()

    pairs = [
        summary("v2", both=2, neither=90, current_only=1),
        summary("v3", neither=5),
        (b"v2", b"{oops"),
        summary("v2", both=1, neither=5, candidate_only=1),
        (None, b'{"schema": "logsentry.shadow/1"}'),
    ]
    counts = summed(pairs, "v2")
    assert counts == Counter(both=3, neither=95, current_only=1, candidate_only=1)
    assert disagreement(counts) == 0.02 and disagreement(Counter()) == 0.0
    assert "disagreement 2.00%" in describe(counts, "v2")
