"""What a shadow candidate did, read back from the shadow topic for ``logsentry models promote``.

The running detectors score every batch with the candidate of ``logsentry models shadow``
as well (stream/processor.py), publish nothing for it but its disagreements and one
agreement summary per batch (``logsentry.shadow-summary/1``, keyed by the candidate), and
commit only after those are acknowledged, like everything else. Summaries of a batch
re-processed after a crash are counted twice: the rates stay close, the counts are upper
bounds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from logsentry.stream.kafka.topics import read_to_end
from logsentry.stream.settings import KafkaSettings

OUTCOMES = ("both", "current_only", "candidate_only", "neither")


def agreement(kafka: KafkaSettings, topic: str, candidate: str) -> Counter[str]:
    """How the current model and ``candidate`` judged the records both scored (empty: never in shadow)."""
    return summed(read_to_end(kafka, topic) or [], candidate)


def summed(pairs: Iterable[tuple[bytes | None, bytes | None]], candidate: str) -> Counter[str]:
    """The agreement summaries of ``candidate`` among the shadow topic's (key, value) pairs, added up."""
    counts: Counter[str] = Counter()
    for key, value in pairs:
        if key != candidate.encode() or not value:
            continue
        try:
            summary = json.loads(value)
        except ValueError:
            continue
        if summary.get("schema") == "logsentry.shadow-summary/1" and summary.get("candidate") == candidate:
            counts.update({k: int(v) for k, v in summary.get("counts", {}).items() if k in OUTCOMES})
    return counts


def disagreement(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return (counts["current_only"] + counts["candidate_only"]) / total if total else 0.0


def describe(counts: Counter[str], candidate: str) -> str:
    total = sum(counts.values())
    return (
        f"shadow of {candidate}: {total:,} records scored by both; both flag {counts['both']:,}, only the current "
        f"{counts['current_only']:,}, only the candidate {counts['candidate_only']:,}; disagreement "
        f"{disagreement(counts):.2%}"
    )
