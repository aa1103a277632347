"""Screening a site's own logs: flags trusted where they are rare, disputed on busy routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.trainer.site_data import route_of, site_training_data


class FlagsMarked:
    """A stand-in screening model: flags a request whose query holds ``"x": "bad"``."""

    version = "fake"
    threshold = 0.5

    def score_events(self, events: list[dict[str, Any]]) -> np.ndarray:
        return np.asarray([1.0 if (e.get("query") or {}).get("x") == "bad" else 0.0 for e in events])


def test_routes_fold_numbers_and_hashes() -> None:
    assert route_of({"method": "get", "path": "/orders/123/items/9f86d081884c"}) == "GET /orders/{n}/items/{n}"
    assert route_of({"method": "post", "path": "/wiki/FAQ/edit"}) == "POST /wiki/FAQ/edit"


def test_flags_are_trusted_where_rare_and_disputed_on_busy_routes(tmp_path: Path) -> None:
    events = [{"method": "get", "path": "/search", "query": {"x": "bad" if i < 2 else "ok"}} for i in range(100)]
    events += [{"method": "post", "path": "/edit", "query": {"x": "bad" if i < 30 else "ok"}} for i in range(40)]
    events += [{"method": "get", "path": "/../../etc/passwd", "query": {"x": "bad"}}]  # a probe: one request
    logs = tmp_path / "site.jsonl"
    logs.write_text("".join(json.dumps(e) + "\n" for e in events))
    site = site_training_data([logs], screen=FlagsMarked(), seed=1)  # type: ignore[arg-type]
    assert [row["route"] for row in site.screened] == ["GET /search", "GET /search", "GET /../../etc/passwd"]
    assert site.disputed_routes == [{"route": "POST /edit", "requests": 40, "flagged_share": 0.75}]
    assert site.kept == len(events) - 3
    assert int(site.logs.labels.sum()) == site.kept, "one grafted attack per kept request"
    assert site.logs.families is not None and set(site.logs.families[site.logs.labels == 1]) != {""}
