"""Threshold choice and evaluation figures: pure functions of labels and scores.

Threshold rules (chosen on validation data, never on the test split):

* ``fpr:<x>``: the lowest threshold whose validation false-positive rate, per request, is at
  most ``x``; the default is ``fpr:0.002`` (:data:`DEFAULT_THRESHOLD_RULE`), an alert budget:
  a security team sizes its triage by false alerts per million requests, not by accuracy.
* ``distinct:<x>``: the same budget counted in false-alert *causes*: the lowest threshold at
  which at most ``x`` of the distinct benign validation causes alert. A benign request that
  could alert (scoring at least :data:`CAUSE_FLOOR`) is caused by the value that decides its
  score (its form: digits and long tokens set aside); the requests of one cause count once, at
  their highest score, every other benign request is a cause of its own. Real sites repeat an
  odd value on every request of an endpoint (one validation site's ``"<% SERVER_DATA %>"``
  body field on each of its 12 requests), and an analyst meets each as one false alert and one
  suppression; but per request such a threshold alerts more than ``x`` (0.35 % of validation
  requests at ``distinct:0.002`` for the default recipe), so it is a choice, not the default.
* ``f1``: the threshold that maximises F1 on validation; among equal F1 the midpoint of the
  widest plateau is taken. On nearly separable validation data this lands in the noise
  between the classes and flags far more ordinary requests than a budget allows.
* ``fixed:<x>``: a threshold set by hand.

Every evaluation also states what a threshold costs and buys: false alerts per million
benign requests with a 95 % Clopper-Pearson interval (its width is set by how many benign
requests were evaluated), the true-positive rate at fixed false-positive rates
(:data:`FIXED_FPRS`), and a reliability table (mean score against the share of attacks in
ten score bins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from logsentry.errors import ConfigError, DataError
from logsentry.trainer.threshold_rules import DEFAULT_THRESHOLD_RULE, check_threshold_rule

FIXED_FPRS = (0.0001, 0.001, 0.01)
CAUSE_FLOOR = 0.5  # benign rows scoring below it are each a cause of their own (a budget threshold lies far above)
CALIBRATION_BINS = 10


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
    false_alerts_per_million: float = float("nan")
    false_alerts_per_million_ci95: tuple[float, float] = (float("nan"), float("nan"))
    tpr_at_fpr: dict[str, float] = field(default_factory=dict)  # "0.001" -> TPR at FPR <= 0.1 %
    calibration: list[dict[str, float]] = field(default_factory=list)
    recall_by_family: dict[str, dict[str, float]] = field(default_factory=dict)  # family -> n, detected, recall
    distinct_false_positive_rate: float | None = None  # the share of distinct benign causes alerting, if known

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["false_alerts_per_million_ci95"] = list(self.false_alerts_per_million_ci95)
        return out


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for a rate of ``k`` in ``n``."""
    from scipy.stats import beta

    if n == 0:
        return float("nan"), float("nan")
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def tpr_at_fprs(labels: np.ndarray, scores: np.ndarray, fprs: tuple[float, ...] = FIXED_FPRS) -> dict[str, float]:
    """The highest detection rate among thresholds whose false-positive rate stays within each budget."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return {}
    _, tp, fp = _sweep(labels, scores)
    out = {}
    for budget in fprs:
        ok = fp / negatives <= budget
        out[f"{budget:g}"] = float(tp[ok].max() / positives) if ok.any() else 0.0
    return out


def reliability(labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict[str, float]]:
    """Per score bin: how many requests, their mean score, and the share that were attacks."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        out.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "n": n,
                "mean_score": float(scores[inside].mean()) if n else float("nan"),
                "attack_share": float(labels[inside].mean()) if n else float("nan"),
            }
        )
    return out


def _counts(labels: np.ndarray, flagged: np.ndarray) -> tuple[int, int, int, int]:
    positive = labels == 1
    tp = int(np.sum(flagged & positive))
    fp = int(np.sum(flagged & ~positive))
    fn = int(np.sum(~flagged & positive))
    tn = int(np.sum(~flagged & ~positive))
    return tp, fp, tn, fn


def recall_by_family(
    labels: np.ndarray, flagged: np.ndarray, families: np.ndarray | None
) -> dict[str, dict[str, float]]:
    """Of each named attack family, how many there were and the share flagged (attacks with no family left out)."""
    if families is None:
        return {}
    out = {}
    attacks = labels == 1
    for family in sorted({str(f) for f in families[attacks] if f}):
        rows = attacks & (families == family)
        n, detected = int(rows.sum()), int(flagged[rows].sum())
        out[family] = {"n": n, "detected": detected, "recall": detected / n}
    return out


def evaluate(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    families: np.ndarray | None = None,
    causes: Sequence[str] | None = None,
) -> Evaluation:
    """Every figure of ``scores`` at ``threshold``; ``families`` (a name per row, "" if none) adds
    per-family recall, ``causes`` (see :func:`choose_threshold`) the distinct false-positive rate."""
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    if len(labels) == 0:
        raise DataError("nothing to evaluate")
    flagged = scores >= threshold
    tp, fp, tn, fn = _counts(labels, flagged)
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
        false_alerts_per_million=fp / (fp + tn) * 1e6 if fp + tn else float("nan"),
        false_alerts_per_million_ci95=tuple(x * 1e6 for x in clopper_pearson(fp, fp + tn)),  # type: ignore[arg-type]
        tpr_at_fpr=tpr_at_fprs(labels, scores),
        calibration=reliability(labels, scores),
        recall_by_family=recall_by_family(labels, flagged, families),
        distinct_false_positive_rate=(
            None if causes is None else distinct_false_positive_rate(labels, scores, threshold, causes)
        ),
    )


def distinct_causes(
    labels: np.ndarray, scores: np.ndarray, causes: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores with the benign rows of one cause folded into one row at their highest score."""
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    if causes is None:
        return labels, scores
    if len(causes) != len(labels):
        raise ValueError("causes and labels differ in length")
    highest: dict[str, float] = {}
    keep = np.ones(len(labels), dtype=bool)
    for i in np.flatnonzero((labels == 0) & (scores >= CAUSE_FLOOR)).tolist():
        cause = causes[i]
        if cause:
            highest[cause] = max(highest.get(cause, 0.0), float(scores[i]))
            keep[i] = False
    folded = np.fromiter(highest.values(), dtype=np.float64, count=len(highest))
    return np.r_[labels[keep], np.zeros(len(folded), dtype=np.int8)], np.r_[scores[keep], folded]


def distinct_false_positive_rate(
    labels: np.ndarray, scores: np.ndarray, threshold: float, causes: Sequence[str] | None
) -> float:
    """The share of distinct benign causes that alert at ``threshold`` (see ``distinct:`` above)."""
    labels, scores = distinct_causes(labels, scores, causes)
    benign = scores[labels == 0]
    return float((benign >= threshold).mean()) if len(benign) else 0.0


def _sweep(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct candidate thresholds (ascending) with TP and FP counts when flagging >= each."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    y = labels[order] == 1
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[s[1:] != s[:-1], True]  # last index of each distinct score
    return s[last][::-1], tp[last][::-1], fp[last][::-1]


def choose_threshold(
    labels: np.ndarray,
    scores: np.ndarray,
    rule: str = DEFAULT_THRESHOLD_RULE,
    causes: Sequence[str] | None = None,
) -> float:
    """The threshold ``rule`` picks on validation ``labels`` and ``scores``; ``causes`` (a key per
    row, "" for none) is what the ``distinct`` rule counts once (without it, every row is a cause)."""
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    kind, number = check_threshold_rule(rule)
    if kind == "fixed" and number is not None:
        return number
    if len(scores) == 0 or labels.sum() in (0, len(labels)):
        raise DataError("choosing a threshold needs validation data with both classes")
    if kind == "distinct":
        labels, scores = distinct_causes(labels, scores, causes)
        kind = "fpr"
    thresholds, tp, fp = _sweep(labels, scores)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    # thresholds[i] flags scores >= thresholds[i]; the same counts hold on the whole interval
    # (thresholds[i-1], thresholds[i]]. Both rules return the middle of their interval, never a
    # score itself: a validation request scored exactly at the threshold would flip its verdict
    # on the smallest rounding difference (another runtime, another batch).
    lows = np.r_[0.0, thresholds[:-1]]

    def middle(i: int) -> float:
        return float((lows[i] + thresholds[i]) / 2) if thresholds[i] > lows[i] else float(thresholds[i])

    if kind == "f1":
        f1 = 2 * tp / (tp + fp + positives)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        widths = thresholds[best] - lows[best]
        return middle(int(best[int(np.argmax(widths))]))  # the widest of the best intervals
    if kind == "fpr" and number is not None:
        ok = np.flatnonzero(fp / max(negatives, 1) <= number)
        if len(ok) == 0:
            return float(np.nextafter(thresholds[-1], np.inf))
        return middle(int(ok[0]))
    raise ConfigError(f"unknown threshold rule {rule!r}: use f1, fpr:<rate> or fixed:<threshold>")
