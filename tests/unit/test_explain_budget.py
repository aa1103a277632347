"""The explanation budget: explaining takes at most its share of the loop's time, whatever the alerts."""

from __future__ import annotations

import pytest

from logsentry.stream.explain_budget import BURST_S, ExplainBudget


def run(budget: ExplainBudget, *, seconds: float, batch_s: float, alerts: int, cost_s: float) -> tuple[float, int, int]:
    """A loop of batches of ``alerts`` alerts, each batch ``batch_s`` of other work plus what explaining costs;
    the time spent explaining, alerts explained and skipped."""
    now, spent, explained, skipped = 0.0, 0.0, 0, 0
    while now < seconds:
        limit = budget.allowance(now)
        n = alerts if limit is None else min(alerts, limit)
        budget.spent(n, n * cost_s)
        now += batch_s + n * cost_s
        spent += n * cost_s
        explained += n
        skipped += alerts - n
    return spent, explained, skipped


@pytest.mark.parametrize("share", [0.05, 0.15, 0.5])
def test_a_flood_spends_at_most_the_share_of_the_time(share: float) -> None:
    # every batch 1,000 alerts at 2 ms each: explaining them all would take 2 s of every 2.05 s
    spent, explained, skipped = run(ExplainBudget(share), seconds=600, batch_s=0.05, alerts=1000, cost_s=0.002)
    assert spent <= share * 600 + BURST_S + 0.002
    assert spent >= 0.8 * share * 600, "the budget is used, not hoarded"
    assert skipped > explained * (1 - share) / share * 0.5


def test_a_quiet_stream_explains_every_alert() -> None:
    # an alert every few batches: far inside the budget
    spent, explained, skipped = run(ExplainBudget(0.15), seconds=300, batch_s=0.1, alerts=1, cost_s=0.002)
    assert skipped == 0 and explained > 2000 and spent < 0.15 * 300


def test_a_burst_after_a_quiet_spell_is_explained_from_saved_credit() -> None:
    budget = ExplainBudget(0.15)
    assert budget.allowance(0.0) == 1, "the first alert measures the cost"
    budget.spent(1, 0.01)
    assert budget.allowance(100.0) == 25, "saved credit is capped at the burst: 0.25 s at 10 ms an alert"
    budget.spent(25, 0.5)  # the batch cost more than measured: credit goes negative, paid back first
    assert budget.allowance(100.1) == 0
    assert budget.credit_s < 0


def test_a_budget_of_one_explains_everything_and_nonsense_is_refused() -> None:
    budget = ExplainBudget(1.0)
    assert budget.allowance(0.0) is None
    budget.spent(1000, 50.0)
    assert budget.allowance(0.001) is None
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            ExplainBudget(bad)
