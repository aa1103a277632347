"""``logsentry evaluate``: a model version's figures on labelled logs (a table, or one JSON object)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import input_file, input_format_arg, runtime_arg, store_arg, version_arg
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME, require_training_extra


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model version on labelled logs", parents=parents)
    store_arg(p)
    version_arg(p)
    p.add_argument("--data", type=Path, required=True, nargs="+", action="extend")
    input_format_arg(p)
    p.add_argument("--label", type=int, choices=[0, 1], help="the label of every row of the (non-CSV) log files")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true")
    runtime_arg(p, default=DEFAULT_RUNTIME)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    require_training_extra("logsentry evaluate", ("sklearn",))
    from logsentry.model_store.serving import load_detector
    from logsentry.model_store.store import ModelStore
    from logsentry.trainer.data import read_training_data
    from logsentry.trainer.evaluation import evaluate

    data = tuple(input_file(p, "--data file") for p in args.data)
    detector = load_detector(ModelStore(args.store), args.version, args.runtime)  # a bad store before the data
    logs = read_training_data(data, strict=args.strict, fmt=args.input_format, label=args.label)
    scores = detector.score_events(logs.events)
    result: dict[str, object] = {**evaluate(logs.labels, scores, detector.threshold, logs.families).to_dict()}
    result |= {"version": detector.version, "rows_read": logs.rows_read, "rows_rejected": len(logs.rejected)}
    if args.json:
        print(json.dumps(_json_safe(result), allow_nan=False))
    else:
        _print_table(result)
    return 0


def _json_safe(value: Any) -> Any:
    """NaN (an undefined figure, e.g. ROC AUC of one class) as null: strict JSON for other programs."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _print_table(result: dict[str, Any]) -> None:
    """One figure a line, names right-aligned; recall per attack family and TPR per alert budget spelled out."""
    for key, value in result.items():
        if key == "calibration" or (key == "recall_by_family" and not value):
            continue
        if key == "recall_by_family":
            for family, figures in dict(value).items():
                line = f"{figures['recall']:.4f}  ({figures['detected']} of {figures['n']})"
                print(f"{'recall ' + family:>28}  {line}")
            continue
        if key == "tpr_at_fpr":
            for budget, tpr in dict(value).items():
                print(f"{'TPR at FPR ' + format(float(budget), '.2%'):>28}  {tpr:.4f}")
        elif key == "false_alerts_per_million_ci95":
            interval: list[float] = list(value)
            print(f"{'95% interval':>28}  {interval[0]:,.0f} - {interval[1]:,.0f}")
        else:
            print(f"{key:>28}  {value:.4f}" if isinstance(value, float) else f"{key:>28}  {value}")
