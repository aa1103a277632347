from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import ConfigError, DataError
from logsentry.trainer.evaluation import choose_threshold, evaluate

LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SCORES = np.array([0.05, 0.1, 0.2, 0.6, 0.4, 0.7, 0.8, 0.9])


def test_evaluate_counts_and_rates() -> None:
    ev = evaluate(LABELS, SCORES, 0.5)
    assert (ev.tp, ev.fp, ev.tn, ev.fn) == (3, 1, 3, 1)
    assert ev.accuracy == 0.75 and ev.precision == 0.75 and ev.recall == 0.75
    assert ev.false_positive_rate == 0.25
    assert ev.roc_auc == pytest.approx(15 / 16)


def test_threshold_at_or_above_is_flagged() -> None:
    assert evaluate(LABELS, SCORES, 0.4).tp == 4


def test_f1_threshold_sits_inside_the_best_plateau() -> None:
    t = choose_threshold(LABELS, SCORES, "f1")
    # flagging {0.4, 0.6, 0.7, 0.8, 0.9} gives F1 = 8/9, the best; any t in (0.2, 0.4] does that
    assert 0.2 < t <= 0.4
    assert evaluate(LABELS, SCORES, t).f1 == pytest.approx(8 / 9)


def test_fpr_rule_bounds_false_positives() -> None:
    t = choose_threshold(LABELS, SCORES, "fpr:0")
    assert evaluate(LABELS, SCORES, t).fp == 0
    assert 0.6 < t < 0.7, "the middle of the interval that flags the same requests, never a score itself"


def test_fixed_rule_and_bad_rules() -> None:
    assert choose_threshold(LABELS, SCORES, "fixed:0.3") == 0.3
    with pytest.raises(ConfigError):
        choose_threshold(LABELS, SCORES, "best")
    with pytest.raises(ConfigError):
        choose_threshold(LABELS, SCORES, "fpr:2")
    with pytest.raises(DataError):
        choose_threshold(np.zeros(3), np.zeros(3), "f1")


def test_alert_budget_figures() -> None:
    from logsentry.trainer.evaluation import clopper_pearson, evaluate, reliability, tpr_at_fprs

    labels = np.array([0] * 1000 + [1] * 100)
    scores = np.r_[np.linspace(0.0, 0.5, 1000), np.linspace(0.4, 1.0, 100)]
    budget = tpr_at_fprs(labels, scores, (0.0, 0.01, 1.0))
    assert budget["0"] == pytest.approx(84 / 100, abs=0.011)  # attacks above the highest benign score
    assert budget["0.01"] >= budget["0"] and budget["1"] == 1.0
    low, high = clopper_pearson(0, 1000)
    assert low == 0.0 and high == pytest.approx(0.003682, rel=1e-3)  # the "rule of three", exactly
    low, high = clopper_pearson(5, 1000)
    assert low < 0.005 < high
    e = evaluate(labels, scores, 0.45)
    assert e.false_alerts_per_million == pytest.approx(e.fp / 1000 * 1e6)
    assert e.false_alerts_per_million_ci95[0] <= e.false_alerts_per_million <= e.false_alerts_per_million_ci95[1]
    table = reliability(labels, scores)
    assert sum(b["n"] for b in table) == 1100 and table[-1]["attack_share"] == 1.0 and table[0]["attack_share"] == 0.0


def test_the_default_threshold_rule_is_an_alert_budget() -> None:
    from logsentry.trainer.settings import TrainSettings
    from logsentry.trainer.threshold_rules import DEFAULT_THRESHOLD_RULE

    assert DEFAULT_THRESHOLD_RULE == "fpr:0.002"
    assert TrainSettings(data=(Path("x.csv"),), store=Path("m")).threshold_rule == DEFAULT_THRESHOLD_RULE
    labels = np.array([0] * 2000 + [1] * 50)
    scores = np.r_[np.linspace(0.0, 0.6, 2000), np.linspace(0.3, 1.0, 50)]
    t = choose_threshold(labels, scores)
    assert np.mean(scores[labels == 0] >= t) <= 0.002


def test_distinct_rule_counts_one_cause_once() -> None:
    from logsentry.trainer.evaluation import distinct_false_positive_rate

    # 1,000 benign requests: 990 low, ten of one odd value repeated at 0.99; 20 attacks at 0.95
    labels = np.array([0] * 1000 + [1] * 20)
    scores = np.r_[np.linspace(0.0, 0.4, 990), np.full(10, 0.99), np.full(20, 0.95)]
    causes = [""] * 990 + ['?"x"="<% odd %>"'] * 10 + [""] * 20
    # per request the ten repeats are 1 % of benign traffic: a 0.2 % budget sets the threshold above them
    per_request = choose_threshold(labels, scores, "fpr:0.002")
    assert per_request > 0.99
    # as one cause of 991 they are 0.1 %: within budget, and the attacks below them are detected
    distinct = choose_threshold(labels, scores, "distinct:0.002", causes)
    assert 0.4 < distinct < 0.95
    assert distinct_false_positive_rate(labels, scores, distinct, causes) == pytest.approx(1 / 991)
    # without causes every row is its own: the per-request rule
    assert choose_threshold(labels, scores, "distinct:0.002") == per_request
    # a cause under the floor is never folded: low scorers stay rows of their own
    low = [str(i % 3) for i in range(990)] + causes[990:]
    assert choose_threshold(labels, scores, "distinct:0.002", low) == distinct
    assert evaluate(labels, scores, distinct, None, causes).distinct_false_positive_rate == pytest.approx(1 / 991)
    with pytest.raises(ValueError):
        choose_threshold(labels, scores, "distinct:0.002", causes[:5])
