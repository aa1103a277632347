"""Threshold choice and evaluation figures: pure functions of labels and scores.

Threshold rules (chosen on validation data, never on the test split):

* ``f1`` (default): the threshold that maximises F1 on validation; among equal F1 the
  midpoint of the widest plateau is taken, so the threshold does not sit on a single
  validation score and shifts little under retraining noise.
* ``fpr:<x>``: the lowest threshold whose validation false-positive rate is at most ``x``
  (e.g. ``fpr:0.001``), for operators who budget alerts rather than errors.
* ``fixed:<x>``: a threshold set by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from model_store.errors import ConfigError, DataError


@dataclass(frozen=True)
class Evaluation:
    n: int
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    pr_auc: float
    false_positive_rate: float
    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _counts(labels: np.ndarray, flagged: np.ndarray) -> tuple[int, int, int, int]:
    positive = labels == 1
    tp = int(np.sum(flagged & positive))
    fp = int(np.sum(flagged & ~positive))
    fn = int(np.sum(~flagged & positive))
    tn = int(np.sum(~flagged & ~positive))
    return tp, fp, tn, fn


def evaluate(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Evaluation:
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    if len(labels) == 0:
        raise DataError("nothing to evaluate")
    tp, fp, tn, fn = _counts(labels, scores >= threshold)
    both_classes = 0 < labels.sum() < len(labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return Evaluation(
        n=len(labels),
        threshold=float(threshold),
        accuracy=(tp + tn) / len(labels),
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        roc_auc=float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        pr_auc=float(average_precision_score(labels, scores)) if both_classes else float("nan"),
        false_positive_rate=fp / (fp + tn) if fp + tn else 0.0,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )


def _sweep(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct candidate thresholds (ascending) with TP and FP counts when flagging >= each."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    y = labels[order] == 1
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[s[1:] != s[:-1], True]  # last index of each distinct score
    return s[last][::-1], tp[last][::-1], fp[last][::-1]


def check_threshold_rule(rule: str) -> tuple[str, float | None]:
    """(kind, number) of a threshold rule, or :class:`ConfigError` saying what is wrong."""
    kind, _, arg = rule.partition(":")
    if kind == "f1" and not arg:
        return kind, None
    if kind in ("fixed", "fpr"):
        return kind, _parse_fraction(rule, arg)
    raise ConfigError(f"unknown threshold rule {rule!r}: use f1, fpr:<rate> or fixed:<threshold>")


def choose_threshold(labels: np.ndarray, scores: np.ndarray, rule: str = "f1") -> float:
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    kind, number = check_threshold_rule(rule)
    if kind == "fixed" and number is not None:
        return number
    if len(scores) == 0 or labels.sum() in (0, len(labels)):
        raise DataError("choosing a threshold needs validation data with both classes")
    thresholds, tp, fp = _sweep(labels, scores)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if kind == "f1":
        f1 = 2 * tp / (tp + fp + positives)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        # thresholds[i] flags scores >= thresholds[i]; the same counts hold on the whole
        # interval (thresholds[i-1], thresholds[i]]. Take the middle of the widest such run.
        lows = np.r_[0.0, thresholds[:-1]]
        widths = thresholds[best] - lows[best]
        i = best[int(np.argmax(widths))]
        return float((lows[i] + thresholds[i]) / 2) if widths.max() > 0 else float(thresholds[i])
    if kind == "fpr" and number is not None:
        target = number
        ok = np.flatnonzero(fp / max(negatives, 1) <= target)
        if len(ok) == 0:
            return float(np.nextafter(thresholds[-1], np.inf))
        return float(thresholds[ok[0]])
    raise ConfigError(f"unknown threshold rule {rule!r}: use f1, fpr:<rate> or fixed:<threshold>")


def _parse_fraction(rule: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"threshold rule {rule!r} needs a number after the colon") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"threshold rule {rule!r}: the number must lie in [0, 1]")
    return value
