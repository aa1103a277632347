"""A site's own traffic as training data: screened by a model, attacks grafted into its requests.

``logsentry train --benign FILE…`` reads a site's recent access logs (any input format, one
message per line), which are mostly but not surely benign. The serving model (the store's
current version, or the bundled one) scores them first: requests it flags are left out of
the benign set and listed in the model report (``report/screened.jsonl``) for an analyst
to review. Into the requests that remain, attacks of every family of
:mod:`trainer.attacks` are grafted, one per kept request, into the site's *own* routes and
parameters, so the model learns what an attack looks like on this site and what this
site's ordinary values look like. The split that follows puts part of the site's traffic
in validation, so the alert threshold is chosen on held-out site traffic.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model_store.formats import InputFormat
from model_store.scoring import Detector
from trainer.attacks import ATTACK_FAMILIES, graft
from trainer.data import LabelledLogs, read_training_data

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteData:
    logs: LabelledLogs  # the kept requests (label 0) and the attacks grafted into them (label 1)
    screened: list[dict[str, Any]]  # requests the screening model flagged: line, score, request
    kept: int


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
    flagged = scores >= screen.threshold
    screened = [
        {"line": int(site.lines[i]), "score": round(float(scores[i]), 6), "request": site.events[i]}
        for i in np.flatnonzero(flagged)
    ]
    kept = [site.events[i] for i in np.flatnonzero(~flagged)]
    log.info(
        "site traffic: %d requests, %d flagged by %s and left out for review, %d kept",
        len(site.events), len(screened), screen.version, len(kept),
    )  # fmt: skip
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
    return SiteData(logs=logs, screened=screened, kept=len(kept))
