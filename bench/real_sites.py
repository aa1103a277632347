"""Detection on real traffic of sites training never saw, side by side with a rule set and TF-IDF.

    python bench/real_sites.py [--data ../shared/data/fwaf-access.csv] [--seeds 42,43,44]
                               [--store DIR] [--baselines crs,tfidf] [--json bench/results/real_sites.json]

Trains the default recipe (``logsentry train --data DATA --seed S``, the public corpus of
``bench/data`` mixed in) once per seed, or scores the current version of ``--store``, and
scores, at each model's own threshold (chosen on validation data at training time):

* **each benchmark site** of the corpus (``trainer/corpus.py``: ``SITE_ROLES``; real web
  servers' access logs that neither training nor the threshold ever read): its *ordinary*
  requests flagged (status 2xx or 3xx and no scanner or attack marker in the target:
  ``SUSPICIOUS``), and **real attack payloads grafted into that site's own requests** (the
  corpus's benchmark payloads: lists of PayloadsAllTheThings, fuzzdb and payloadbox that
  training never read, at most ``PER_FAMILY`` of a family per site, evenly spread over the
  family's lists) detected, per family;
* the benchmark share of the **browsed sites** (legitimate requests recorded on real sites);
* the **OWASP CRS regression requests** of paranoia level 1 that its rules must block,
  detected per family, and the same requests with ordinary values in place of every
  value, flagged;
* the shared data: test split (the reference's 75/25, seed 42) and holdout accuracy.

The same figures for the baselines (``bench/baselines.py``): CRS at paranoia level 1 (what
a WAF's default blocks) and TF-IDF + logistic regression trained on the same rows as the
default recipe (the data, the generated sites, the corpus's training rows) with its
threshold set by the same rule on the same validation rows. Several seeds give mean and
standard deviation; the result file keeps every run.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, write_results  # noqa: E402
from bench.common import train_default as train_cli  # noqa: E402
from logsentry.model_store.ingest.request_log import request_log  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CORPUS = ROOT / "bench" / "data"
PER_FAMILY = 300  # grafted payloads of one family per site
SUSPICIOUS = re.compile(
    r"\.\./|\.\.%2f|%2e%2e|\.\.\\|<script|%3cscript|union(\s|\+|%20)+select|/etc/passwd|wp-login|phpmyadmin|"
    r"/\.env|/\.git/|cgi-bin|\$\{|%24%7b|%00|\bselect\b.*\bfrom\b|\bexec\b|cmd\.exe|/bin/sh",
    re.IGNORECASE,
)
ORDINARY_VALUES = ("hello world", "42", "en", "2024-05-17", "blue", "john.smith@example.com", "report.pdf", "asc")

Scorer = Callable[[Sequence[Mapping[str, Any]]], np.ndarray]
OURS = "logsentry (default recipe)"
TFIDF = "TF-IDF + logistic regression (same rows)"


def target_of(event: Mapping[str, Any]) -> str:
    query = event.get("query") or {}
    return str(event.get("path") or "") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def ordinary(event: Mapping[str, Any]) -> bool:
    status = event.get("statusCode")
    return isinstance(status, int) and 200 <= status < 400 and not SUSPICIOUS.search(target_of(event))


def crs_requests(corpus: Any) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """The CRS requests its paranoia-level-1 rules must block, their families, and their ordinary twins."""
    attacks, families, twins = [], [], []
    for test in corpus.crs():
        if not (test["expect"] and test["paranoia_level"] == 1):
            continue
        try:
            event = request_log(method=test["method"], target=test["target"], body=test["body"] or None)
        except Exception:  # a request line the reader refuses is no request to score
            continue
        attacks.append(event)
        families.append(test["family"])
        twins.append(ordinary_twin(event))
    return attacks, families, twins


def ordinary_twin(event: Mapping[str, Any]) -> dict[str, Any]:
    """The same request with an ordinary value in place of each value, and its path cut to its first segment."""
    r = random.Random(json.dumps(event, sort_keys=True, default=str))
    twin = dict(event)
    twin["query"] = {k: r.choice(ORDINARY_VALUES) for k in event.get("query") or {}}
    body = event.get("requestPayload")
    if isinstance(body, dict):
        twin["requestPayload"] = {k: r.choice(ORDINARY_VALUES) for k in body}
    elif body is not None:
        twin["requestPayload"] = r.choice(ORDINARY_VALUES)
    twin["path"] = "/" + str(event.get("path") or "/").lstrip("/").split("/", 1)[0]  # the route, not what follows
    return twin


def evaluate(score: Scorer, threshold: float, corpus: Any, shared: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the module docstring for one scorer at one threshold."""
    from logsentry.trainer.corpus import BENCHMARK_SITES, capture_role, evenly, graft

    out: dict[str, Any] = {"threshold": threshold, "sites": {}}
    payloads: dict[str, list[str]] = defaultdict(list)
    for p in corpus.payloads_of("benchmark"):
        payloads[p.family].append(p.text)
    for site in BENCHMARK_SITES:
        events = corpus.site_events(site)
        usual = [e for e in events if ordinary(e)]
        flagged = score(usual) >= threshold
        r = random.Random(f"graft/{site}")
        grafted, families = [], []
        for family in sorted(payloads):
            for text in evenly(payloads[family], PER_FAMILY):
                grafted.append(graft(r.choice(usual), text, r))
                families.append(family)
        detected = score(grafted) >= threshold
        fam = np.asarray(families)
        out["sites"][site] = {
            "requests": len(events),
            "ordinary": len(usual),
            "ordinary_flagged": float(flagged.mean()),
            "ordinary_flagged_count": int(flagged.sum()),
            "grafted": len(grafted),
            "grafted_detected": float(detected.mean()),
            "detected_by_family": {f: float(detected[fam == f].mean()) for f in sorted(set(families))},
        }
    browsed = [e for site, events in corpus.captures.items() if capture_role(site) == "benchmark" for e in events]
    out["browsed_sites"] = {"requests": len(browsed), "flagged": float((score(browsed) >= threshold).mean())}
    attacks, families, twins = shared["crs"]
    detected = score(attacks) >= threshold
    fam = np.asarray(families)
    out["crs_pl1"] = {
        "requests": len(attacks),
        "detected": float(detected.mean()),
        "detected_by_family": {f: float(detected[fam == f].mean()) for f in sorted(set(families))},
        "ordinary_twins_flagged": float((score(twins) >= threshold).mean()),
    }
    for name in ("test", "holdout"):
        events, labels = shared[name]
        out[f"{name}_accuracy"] = float(((score(events) >= threshold) == (labels == 1)).mean())
    out["validation_part"] = validation_part(score, threshold, corpus)
    return out


def validation_part(score: Scorer, threshold: float, corpus: Any) -> dict[str, Any]:
    """What a recipe may be chosen on (never the figures above): the corpus's *validation* sites'
    ordinary requests flagged, and its validation payloads grafted into them detected, at the
    model's threshold and at the threshold flagging 0.2 % of those requests."""
    from logsentry.trainer.corpus import evenly, graft

    hosts = {  # an access log's ordinary requests; a browsed site's recorded requests are all legitimate
        site: events if site.startswith("browsed:") else [e for e in events if ordinary(e)]
        for site, events in corpus.benign("validation").items()
    }
    usual = [e for events in hosts.values() for e in events]
    payloads: dict[str, list[str]] = defaultdict(list)
    for p in corpus.payloads_of("validation"):
        payloads[p.family].append(p.text)
    r = random.Random("graft/validation")
    grafted, families = [], []
    for family in sorted(payloads):
        for text in evenly(payloads[family], PER_FAMILY):
            grafted.append(graft(r.choice(usual), text, r))
            families.append(family)
    benign, attacks, fam = score(usual), score(grafted), np.asarray(families)
    at_budget = float(np.quantile(benign, 0.998))
    return {
        "ordinary": len(usual),
        "ordinary_flagged": float((benign >= threshold).mean()),
        "grafted": len(grafted),
        "grafted_detected": float((attacks >= threshold).mean()),
        "detected_by_family": {f: float((attacks[fam == f] >= threshold).mean()) for f in sorted(set(families))},
        "grafted_detected_at_0_2_percent_flagged": float((attacks >= at_budget).mean()),
    }


def load_shared(data: Path, holdout: Path, corpus: Any) -> dict[str, Any]:
    from logsentry.trainer.data import read_labelled_csv
    from logsentry.trainer.pipeline import split_indices

    logs = read_labelled_csv(data)
    split = split_indices(len(logs.events), test_size=0.25, validation_split=0.25, seed=42)
    held = read_labelled_csv(holdout)
    return {
        "logs": logs,
        "split": split,
        "test": ([logs.events[i] for i in split.test], logs.labels[split.test]),
        "holdout": (held.events, held.labels),
        "crs": crs_requests(corpus),
    }


def train_default(data: Path, store: Path, seed: int, schedule: str) -> float:
    """Seconds to train the default recipe on ``data`` with ``seed`` (the real CLI)."""
    started = time.perf_counter()
    train_cli(data, store, "--seed", str(seed), "--schedule", schedule)
    return time.perf_counter() - started


def ours(store: Path) -> tuple[Scorer, float, dict[str, Any]]:
    from logsentry.model_store.serving import load_detector
    from logsentry.model_store.store import ModelStore

    detector = load_detector(ModelStore(store))
    manifest = ModelStore(store).manifest()
    about = {
        "version": manifest.version,
        "train_seconds": manifest.evaluation.get("train_seconds"),
        "validation": manifest.evaluation.get("validation", {}),
    }
    return detector.score_events, detector.threshold, about


def tfidf(shared: dict[str, Any], corpus: Any, seed: int, rule: str) -> tuple[Scorer, float]:
    """TF-IDF + LR on the default recipe's training rows, its threshold by ``rule`` on its validation rows."""
    from bench.baselines import TfidfBaseline
    from logsentry.trainer.corpus import corpus_rows, value_shape
    from logsentry.trainer.evaluation import choose_threshold
    from logsentry.trainer.settings import DEFAULT_AUGMENT_CAP, DEFAULT_CORPUS_VALUES
    from logsentry.trainer.sites import site_traffic
    from logsentry.trainer.training import TRAINING_SITES

    logs, split = shared["logs"], shared["split"]
    rows = min(len(logs.events), DEFAULT_AUGMENT_CAP)
    generated = list(site_traffic(list(TRAINING_SITES), rows, seed=seed, attack_share=0.5))
    cut = int(len(generated) * 0.75)
    read = corpus_rows(
        corpus, seed=seed, benign_values=DEFAULT_CORPUS_VALUES, hosts=[e for e, y, _ in generated if y == 0]
    )
    train = [(logs.events[i], int(logs.labels[i])) for i in split.train]
    train += [(e, y) for e, y, _ in generated[:cut]] + [(e, y) for e, y, _ in read.train]
    validation = [(logs.events[i], int(logs.labels[i])) for i in split.validation]
    validation += [(e, y) for e, y, _ in generated[cut:]] + [(e, y) for e, y, _ in read.validation]
    model = TfidfBaseline([e for e, _ in train], [y for _, y in train])
    scores = model.score_events([e for e, _ in validation])
    # it reads whole requests: a benign request's cause (for a ``distinct:`` rule) is the request's own form
    causes = [value_shape(json.dumps(e, sort_keys=True, default=str)) if not y else "" for e, y in validation]
    return model.score_events, choose_threshold(np.asarray([y for _, y in validation]), scores, rule, causes)


def spread(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def table(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    sites = list(next(iter(runs.values()))[0]["sites"])
    lines = [
        "| detector | "
        + " | ".join(f"{s}: ordinary flagged / grafted detected" for s in sites)
        + " | browsed sites flagged | CRS PL1 detected | CRS twins flagged | test acc | holdout acc |",
        "|---" * (len(sites) + 6) + "|",
    ]
    for name, results in runs.items():
        cells = [
            f"{spread([r['sites'][s]['ordinary_flagged'] for r in results])} / "
            f"{spread([r['sites'][s]['grafted_detected'] for r in results])}"
            for s in sites
        ]
        cells += [
            spread([r["browsed_sites"]["flagged"] for r in results]),
            spread([r["crs_pl1"]["detected"] for r in results]),
            spread([r["crs_pl1"]["ordinary_twins_flagged"] for r in results]),
            spread([r["test_accuracy"] for r in results]),
            spread([r["holdout_accuracy"] for r in results]),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--holdout", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--seeds", default="42,43,44", help="training seeds of the default recipe, comma-separated")
    parser.add_argument("--store", type=Path, help="score this store's current version instead of training")
    parser.add_argument("--detectors", default="logsentry,tfidf,crs", help="comma-separated: logsentry, tfidf, crs")
    parser.add_argument("--update", action="store_true", help="replace only these detectors' runs in --json")
    parser.add_argument("--schedule", default="annealed", help="train --schedule (constant: the recipe before)")
    parser.add_argument("--json", type=Path, default=Path("bench/results/real_sites.json"))
    args = parser.parse_args()
    from logsentry.trainer.corpus import Corpus
    from logsentry.trainer.threshold_rules import DEFAULT_THRESHOLD_RULE

    corpus = Corpus(CORPUS)
    shared = load_shared(args.data, args.holdout, corpus)
    detectors = args.detectors.split(",")
    runs: dict[str, list[dict[str, Any]]] = json.loads(args.json.read_text())["runs"] if args.update else {}
    seeds = [int(s) for s in args.seeds.split(",")]
    if "logsentry" in detectors:
        runs[OURS] = []
        with tempfile.TemporaryDirectory(prefix="real-sites-") as scratch:
            for seed in [0] if args.store else seeds:
                store = args.store or Path(scratch) / f"seed-{seed}"
                seconds = None if args.store else train_default(args.data, store, seed, args.schedule)
                score, threshold, about = ours(store)
                result = evaluate(score, threshold, corpus, shared) | about | {"seed": seed, "wall_seconds": seconds}
                runs[OURS].append(result)
    if "tfidf" in detectors:
        runs[TFIDF] = []
        for seed in seeds:
            score, threshold = tfidf(shared, corpus, seed, DEFAULT_THRESHOLD_RULE)
            runs[TFIDF].append(evaluate(score, threshold, corpus, shared) | {"seed": seed})
    if "crs" in detectors:
        from bench.baselines import CrsBaseline

        crs = CrsBaseline()
        runs[crs.name] = [evaluate(crs.score_events, 0.5, corpus, shared)]
    results = {
        "machine": machine(),
        "data": args.data.name,
        "schedule": args.schedule,
        "corpus": corpus.files(),
        "runs": runs,
    }
    write_results(args.json, results, table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
