"""Attack generators: every family, composed (not one list), seeded; the family column end to end."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from logsentry.trainer.attacks import ATTACK_FAMILIES, payload
from logsentry.trainer.data import format_row, read_labelled_text
from logsentry.trainer.evaluation import evaluate


def test_the_issue_s_families_are_all_generated() -> None:
    wanted = {
        "sqli",
        "xss",
        "cmdi",
        "ssrf",
        "traversal",
        "ssti",
        "xxe",
        "ldap",
        "xpath",
        "nosql",
        "crlf",
        "prototype",
        "log4shell",
        "webshell",
    }
    assert set(ATTACK_FAMILIES) == wanted


@pytest.mark.parametrize("family", ATTACK_FAMILIES)
def test_each_family_is_composed_from_parts_and_seeded(family: str) -> None:
    made = [payload(random.Random(i), family) for i in range(300)]
    assert made == [payload(random.Random(i), family) for i in range(300)], "seeded"
    distinct = {json.dumps([p.value, p.key], sort_keys=True) for p in made}
    assert len(distinct) > 40, f"{family}: only {len(distinct)} distinct payloads in 300"
    assert all(p.value is not None for p in made)


def test_encodings_and_structured_payloads_appear() -> None:
    r = random.Random(5)
    sqli = [payload(r, "sqli").value for _ in range(400)]
    assert any("%27" in s or "%20" in s for s in sqli), "URL-encoded"
    assert any(s != s.lower() and s != s.upper() and "select" in s.lower() for s in sqli), "mixed case"
    nosql = [payload(r, "nosql") for _ in range(200)]
    assert any(isinstance(p.value, dict) for p in nosql) and any(p.key and "[$" in p.key for p in nosql)
    pollution = [payload(r, "prototype") for _ in range(200)]
    assert any(p.key and "__proto__" in p.key for p in pollution)
    assert any(isinstance(p.value, dict) and "__proto__" in p.value for p in pollution)
    with pytest.raises(ValueError, match="unknown attack family"):
        payload(r, "sqlinjection")


def test_the_family_column_reaches_per_family_recall() -> None:
    from logsentry.trainer.generate import labelled_events

    rows = list(labelled_events(300, seed=3, attack_share=0.5))
    text = "".join(format_row(e, y, f) for e, y, f in rows)
    logs = read_labelled_text(text)
    assert logs.families is not None
    assert logs.families.tolist() == [f for _, _, f in rows]
    scores = np.where(logs.families == "sqli", 0.1, np.where(logs.labels == 1, 0.9, 0.05))
    recall = evaluate(logs.labels, scores, 0.5, logs.families).recall_by_family
    assert recall["sqli"]["recall"] == 0.0 and recall["xss"]["recall"] == 1.0
    assert sum(int(v["n"]) for v in recall.values()) == int(logs.labels.sum())
    assert read_labelled_text(format_row(rows[0][0], 0)).families is None, "no column, no family figures"
