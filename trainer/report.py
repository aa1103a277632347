"""A model version's evaluation report: ``metrics.json``, PNG plots and ``summary.md``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.trainer.evaluation import Evaluation


def write_report(
    directory: Path,
    *,
    version: str,
    architecture: str,
    evaluations: Mapping[str, Evaluation],
    test_labels: np.ndarray,
    test_scores: np.ndarray,
    training: Mapping[str, Any],
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    metrics = {
        "version": version,
        "architecture": architecture,
        "training": dict(training),
        **{name: ev.to_dict() for name, ev in evaluations.items()},
    }
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_nan_safe))
    _plots(directory, test_labels, test_scores, evaluations["test"].threshold)
    (directory / "summary.md").write_text(_summary(version, architecture, evaluations, training))


def _nan_safe(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _plots(directory: Path, labels: np.ndarray, scores: np.ndarray, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    both = 0 < labels.sum() < len(labels)
    if both:
        fpr, tpr, _ = roc_curve(labels, scores)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(fpr, tpr)
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC (test split)")
        fig.tight_layout()
        fig.savefig(directory / "roc.png", dpi=100)
        plt.close(fig)

        precision, recall, _ = precision_recall_curve(labels, scores)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(recall, precision)
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)")
        fig.tight_layout()
        fig.savefig(directory / "precision_recall.png", dpi=100)
        plt.close(fig)

    from logsentry.trainer.evaluation import reliability

    table = [b for b in reliability(labels, scores) if b["n"]]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    ax.plot([b["mean_score"] for b in table], [b["attack_share"] for b in table], marker="o", label="model")
    ax.set(xlabel="mean score in bin", ylabel="share of attacks", title="Reliability (test split)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(directory / "calibration.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    bins = [i / 50 for i in range(51)]
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, label="normal", log=True)
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, label="attack", log=True)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="score", ylabel="requests (log)", title="Score distribution (test split)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(directory / "scores.png", dpi=100)
    plt.close(fig)


def _summary(
    version: str,
    architecture: str,
    evaluations: Mapping[str, Evaluation],
    training: Mapping[str, Any],
) -> str:
    rows = "\n".join(
        f"| {name} | {ev.n} | {ev.accuracy:.4f} | {ev.precision:.4f} | {ev.recall:.4f} | "
        f"{ev.f1:.4f} | {ev.roc_auc:.4f} | {ev.pr_auc:.4f} | {ev.tp} | {ev.fp} | {ev.tn} | {ev.fn} |"
        for name, ev in evaluations.items()
    )
    threshold = evaluations["test"].threshold
    budget = "\n".join(
        f"| {name} | {ev.fp + ev.tn} | {ev.fp} | {ev.false_alerts_per_million:,.0f} | "
        f"{ev.false_alerts_per_million_ci95[0]:,.0f} – {ev.false_alerts_per_million_ci95[1]:,.0f} | "
        + " | ".join(f"{ev.tpr_at_fpr.get(k, float('nan')):.4f}" for k in ("0.0001", "0.001", "0.01"))
        + " |"
        for name, ev in evaluations.items()
    )
    families = sorted({f for ev in evaluations.values() for f in ev.recall_by_family})
    per_family = ""
    if families:
        names = list(evaluations)
        table = "\n".join(
            f"| {family} | "
            + " | ".join(_family_cell(evaluations[name].recall_by_family.get(family)) for name in names)
            + " |"
            for family in families
        )
        per_family = (
            "\n## Recall per attack family\n\nShare of each family's attacks flagged at this threshold "
            "(the data's family column).\n\n"
            f"| family | {' | '.join(names)} |\n|---|{'---|' * len(names)}\n{table}\n"
        )
    return f"""# Model {version}

Architecture `{architecture}`; alert threshold {threshold:.4f} (rule `{training.get("threshold_rule")}`,
chosen on the validation split). Trained {training.get("epochs")} epochs, batch
{training.get("batch_size")}, in {training.get("train_seconds", 0):.1f} s.

{_data_line(training)}
{_pipeline_line(training.get("pipeline") or {})}
| split | n | accuracy | precision | recall | F1 | ROC AUC | PR AUC | TP | FP | TN | FN |
|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

## Alert budget

False alerts per million benign requests at this threshold, with a 95 % Clopper-Pearson
interval: its width comes from how many benign requests each split holds (the threshold was
chosen on validation, so the test split is the fair estimate). TPR at a fixed false-positive
rate is the best detection rate any threshold reaches within that budget.

| split | benign | false alerts | per million | 95 % interval | TPR at FPR 0.01 % | at 0.1 % | at 1 % |
|---|---|---|---|---|---|---|---|
{budget}

{per_family}
Plots: `roc.png`, `precision_recall.png`, `scores.png`, `calibration.png` (reliability; test split).
"""


def _data_line(training: Mapping[str, Any]) -> str:
    """What went into training, in words."""
    parts = [f"Data: {training.get('data') or 'no labelled file'}"]
    if training.get("benign_files"):
        parts.append(
            f"a site's own logs ({', '.join(training['benign_files'])}; {training.get('benign_screened_out', 0)} "
            "requests the screening model flagged left out, listed in `screened.jsonl`; attacks grafted into the rest"
            + "".join(
                f"; kept despite flags on {d['route']} ({d['flagged_share']:.0%} of {d['requests']} flagged)"
                for d in training.get("benign_disputed_routes", [])[:10]
            )
            + ")"
        )
    fb = training.get("feedback") or {}
    if fb.get("benign") or fb.get("attack"):
        parts.append(
            f"analysts' verdicts on alerts: {fb.get('benign', 0)} benign (cleared false positives) and "
            f"{fb.get('attack', 0)} attack, each {fb.get('weight', 0)} times in training (not in validation or test)"
        )
    if training.get("augment"):
        sites = training.get("augment_sites") or []
        parts.append(
            f"{training['augment']:,} generated requests of {len(sites)} other sites (training and validation only)"
        )
    return "; ".join(parts) + "."


def _pipeline_line(pipeline: Mapping[str, Any]) -> str:
    """How the data was read: rows, refusals and why, time per pass, peak memory, workers."""
    if not pipeline:
        return ""
    refused = pipeline.get("refused_by_reason") or {}
    reasons = "; ".join(f"{n} {reason}" for reason, n in list(refused.items())[:5])
    seconds = pipeline.get("seconds") or {}
    epochs = ", ".join(f"{s:.1f}" for s in seconds.get("epochs", []))
    return (
        f"\nRead {pipeline.get('rows_read', 0):,} rows ({pipeline.get('records', 0):,} request records kept, "
        f"{pipeline.get('rows_refused', 0):,} rows refused{': ' + reasons if reasons else ''}). Seconds: count "
        f"{seconds.get('count', 0):.1f}, scan {seconds.get('scan', 0):.1f}, epochs {epochs}, evaluation "
        f"{seconds.get('evaluate', 0):.1f}; {pipeline.get('workers', 1)} worker(s), "
        f"{pipeline.get('steps_per_epoch', 0)} steps per epoch; "
        f"peak memory {pipeline.get('peak_rss_mb', 0):,.0f} MiB (resident).\n"
    )


def _family_cell(figures: Mapping[str, float] | None) -> str:
    return "—" if figures is None else f"{figures['recall']:.3f} ({int(figures['detected'])}/{int(figures['n'])})"
