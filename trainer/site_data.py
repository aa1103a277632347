"""A site's own traffic as training data: screened by a model, attacks grafted into its requests.

``logsentry train --benign FILE…`` reads a site's recent access logs (any input format, one
message per line), which are mostly but not surely benign. The serving model (the store's
current version, or the bundled one) scores them first. Attacks are rare in a site's own
traffic, so a flag is trusted where it is rare: on a route (method and path, numbers and
hashes folded) where the model flags at most :data:`SCREEN_SHARE` of the requests, and on
any route with fewer than :data:`DISPUTE_MIN_REQUESTS` requests (a scanner's probe of a
path nobody else visits), the flagged ones are left out of the benign set and listed in the
model report (``report/screened.jsonl``) for an analyst to review. Where it flags more on a
busy route, the route's ordinary traffic is what the generic model gets wrong (a wiki whose
edits carry HTML): those requests are kept, and the route is named in the report.

Into the requests that remain, attacks of every family of :mod:`trainer.attacks` are
grafted, one per kept request, into the site's *own* routes and parameters, so the model
learns what an attack looks like on this site and what this site's ordinary values look
like. The split that follows puts part of the site's traffic in validation, so the alert
threshold is chosen on held-out site traffic.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.model_store.ingest.formats import InputFormat
from logsentry.model_store.model.scoring import Detector
from logsentry.trainer.attacks import ATTACK_FAMILIES, graft
from logsentry.trainer.data import LabelledLogs, read_training_data

log = logging.getLogger(__name__)


SCREEN_SHARE = 0.05  # a route whose requests the model flags more often than this: its flags are not trusted
DISPUTE_MIN_REQUESTS = (
    20  # ...if it has this many requests: on a rarely visited route (a scanner's probe) a flag stands
)
_VARIABLE_SEGMENT = re.compile(r"/(?:\d+|[0-9a-fA-F-]{8,})(?=/|$)")


@dataclass(frozen=True)
class SiteData:
    logs: LabelledLogs  # the kept requests (label 0) and the attacks grafted into them (label 1)
    screened: list[dict[str, Any]]  # requests left out: line, score, route, request
    kept: int
    disputed_routes: list[dict[str, Any]]  # routes whose flags were not trusted: route, requests, flagged share


def route_of(event: dict[str, Any]) -> str:
    """``GET /orders/{n}``: a request's method and path with numbers and hashes folded."""
    path = str(event.get("path") or "/")
    return f"{str(event.get('method') or '-').upper()} {_VARIABLE_SEGMENT.sub('/{n}', path)}"


def site_training_data(
    paths: Sequence[Path],
    *,
    screen: Detector,
    seed: int,
    fmt: InputFormat = InputFormat(),
    strict: bool = False,
) -> SiteData:
    site = read_training_data(paths, strict=strict, fmt=fmt, label=0)
    scores = screen.score_events(site.events)
    routes = [route_of(e) for e in site.events]
    flagged_by_model = scores >= screen.threshold
    requests, flags = Counter(routes), Counter(r for r, f in zip(routes, flagged_by_model, strict=True) if f)
    disputed = {r for r in flags if requests[r] >= DISPUTE_MIN_REQUESTS and flags[r] / requests[r] > SCREEN_SHARE}
    flagged = flagged_by_model & np.asarray([r not in disputed for r in routes], dtype=bool)
    screened = [
        {"line": int(site.lines[i]), "score": round(float(scores[i]), 6), "route": routes[i], "request": site.events[i]}
        for i in np.flatnonzero(flagged)
    ]
    disputed_routes = [
        {"route": r, "requests": requests[r], "flagged_share": round(flags[r] / requests[r], 4)}
        for r in sorted(disputed)
    ]
    kept = [site.events[i] for i in np.flatnonzero(~flagged)]
    log.info(
        "site traffic: %d requests; %d flagged by %s and left out for review; %d routes whose flags were not "
        "trusted (flagged more than %.0f%% of their requests); %d kept",
        len(site.events),
        len(screened),
        screen.version,
        len(disputed_routes),
        SCREEN_SHARE * 100,
        len(kept),
    )
    r = random.Random(seed)
    families = [r.choice(ATTACK_FAMILIES) for _ in kept]
    attacks = [graft(r.choice(kept), family, r) for family in families]
    logs = LabelledLogs(
        events=[*kept, *attacks],
        labels=np.r_[np.zeros(len(kept), dtype=np.int8), np.ones(len(attacks), dtype=np.int8)],
        lines=np.r_[site.lines[~flagged], np.zeros(len(attacks), dtype=np.int64)],
        rows_read=site.rows_read,
        rejected=site.rejected,
        sha256=site.sha256,
        families=np.asarray([""] * len(kept) + families, dtype=object),
    )
    return SiteData(logs=logs, screened=screened, kept=len(kept), disputed_routes=disputed_routes)
