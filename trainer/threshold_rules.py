"""Threshold rules as users write them (``fpr:0.002``, ``distinct:0.002``, ``f1``, ``fixed:0.5``), parsed
without heavy imports.

What each rule means is in :mod:`trainer.evaluation`, which applies them.
"""

from __future__ import annotations

from logsentry.errors import ConfigError

DEFAULT_THRESHOLD_RULE = "fpr:0.002"


def check_threshold_rule(rule: str) -> tuple[str, float | None]:
    """(kind, number) of a threshold rule, or :class:`ConfigError` saying what is wrong."""
    kind, _, arg = rule.partition(":")
    if kind == "f1" and not arg:
        return kind, None
    if kind in ("fixed", "fpr", "distinct"):
        return kind, _parse_fraction(rule, arg)
    raise ConfigError(f"unknown threshold rule {rule!r}: use fpr:<rate>, distinct:<rate>, f1 or fixed:<threshold>")


def _parse_fraction(rule: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"threshold rule {rule!r} needs a number after the colon") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"threshold rule {rule!r}: the number must lie in [0, 1]")
    return value
