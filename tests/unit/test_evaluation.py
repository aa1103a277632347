from __future__ import annotations

import numpy as np
import pytest

from model_store.errors import ConfigError, DataError
from trainer.evaluation import choose_threshold, evaluate

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
    assert t == pytest.approx(0.7)


def test_fixed_rule_and_bad_rules() -> None:
    assert choose_threshold(LABELS, SCORES, "fixed:0.3") == 0.3
    with pytest.raises(ConfigError):
        choose_threshold(LABELS, SCORES, "best")
    with pytest.raises(ConfigError):
        choose_threshold(LABELS, SCORES, "fpr:2")
    with pytest.raises(DataError):
        choose_threshold(np.zeros(3), np.zeros(3), "f1")
