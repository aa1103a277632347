"""How many of a batch's alerts the stream explains: explanations take a bounded share of its time.

An explanation costs extra model rows per alert (:mod:`model_store.judge.explain`); unbounded, a
flood of attacks makes every alert wait behind the explanations of the alerts before it, and
lag grows exactly when alerts matter. So explaining runs on credit: the loop earns ``share``
seconds of explaining per second of wall time, holds at most ``burst_s`` of it (what a quiet
spell saves for the next burst of alerts), and each batch explains as many alerts, in order,
as the credit pays for at the measured cost per alert. The rest are published on time, with
``explanation_skipped: "budget"`` (``docs/alerts.md``). Over any long stretch, explaining
takes at most ``share`` of the loop's time, whatever the share of attacks.

Pure: the caller passes the clock's readings, so the arithmetic is tested without waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from logsentry.stream.settings import StreamSettings

DEFAULT_SHARE = StreamSettings.explain_budget  # the settings hold every default (measured: see there)
BURST_S = 0.25  # the most credit a quiet loop saves up (at ~2 ms an alert, ~100 alerts)
_SMOOTHING = 0.2  # weight of the newest batch in the cost per alert


@dataclass
class ExplainBudget:
    share: float = DEFAULT_SHARE  # 1.0: every alert is explained, whatever it costs
    burst_s: float = BURST_S
    credit_s: float = field(default=BURST_S)
    cost_s: float | None = None  # seconds per explained alert, smoothed; None before the first
    _last: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(f"the explanation budget is a share of the loop's time in (0, 1], not {self.share}")
        self.credit_s = min(self.credit_s, self.burst_s)

    @property
    def unlimited(self) -> bool:
        return self.share >= 1

    def allowance(self, now: float) -> int | None:
        """How many alerts a batch scored at ``now`` (seconds, monotonic) may explain; None: all."""
        if self._last is not None:
            self.credit_s = min(self.burst_s, self.credit_s + self.share * max(0.0, now - self._last))
        self._last = now
        if self.unlimited:
            return None
        if self.credit_s <= 0:
            return 0
        if self.cost_s is None:  # nothing measured yet: one alert, to learn the cost
            return 1
        return math.floor(self.credit_s / max(self.cost_s, 1e-6))

    def spent(self, explained: int, seconds: float) -> None:
        """``explained`` alerts took ``seconds``; the credit may go below zero (paid back first)."""
        if explained <= 0:
            return
        self.credit_s -= seconds
        each = seconds / explained
        self.cost_s = each if self.cost_s is None else (1 - _SMOOTHING) * self.cost_s + _SMOOTHING * each
