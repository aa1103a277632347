"""The long-request blind spot and what closing it costs: windows versus truncation, side by side.

    python bench/long_requests.py [--data ../shared/data/fwaf-access.csv] [--events ../shared/data/fwaf-holdout.csv]
                                  [--store DIR] [--filler-bytes 4096] [--json bench/results/long_requests.json]

With one model (trained here with the default recipe, or ``--store``'s current version),
on the holdout:

1. attacks the model flags on their own, each followed by a parameter of ``--filler-bytes``
   of ordinary text (words of benign requests): the share still flagged when long requests
   are read in windows (today's default) and when only their last 1,024 characters are read
   (the artifacts before);
2. the same with the filler in the same value: every query value of the attacks that have
   one followed by the filler (a model that reads values reads the filler in the payload's
   own windows);
3. benign requests with the same filler, both ways: the share flagged (what windows cost in
   false alerts);
4. scoring throughput of the unchanged holdout and of the padded requests, both ways;
5. real payloads of the public corpus (``bench/data``) buried in a long value: each put in a
   query parameter of an ordinary request of a real site, followed in the same value by
   ``--filler-bytes`` of ordinary text of that site's role (its own requests' values); the
   share flagged, beside the same payloads alone in that parameter. Done for the corpus's
   *validation* part (its payloads and sites: where a recipe is chosen) and its *benchmark*
   part (what is reported);
6. the same with ``--huge-filler-bytes`` (900 KB) after the payload, on ``--huge-sample``
   payloads: both with the bounded windows of today (``max_windows``, at most 16 a value) and
   with every window read (before the bound), with the model rows each request cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import machine, train_default, write_results  # noqa: E402
from logsentry.model_store.model.scoring import Detector  # noqa: E402
from logsentry.model_store.serving import load_detector  # noqa: E402
from logsentry.model_store.store import ModelStore  # noqa: E402
from logsentry.trainer.corpus import Corpus, Role, default_corpus  # noqa: E402
from logsentry.trainer.data import read_labelled_csv  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def truncating(detector: Detector) -> Detector:
    tokenizer = dataclasses.replace(detector.preprocessing.tokenizer, long_requests="truncate")
    preprocessing = dataclasses.replace(detector.preprocessing, tokenizer=tokenizer)
    return Detector(detector.inference, preprocessing, threshold=detector.threshold)


def filler_text(events: list[dict[str, Any]], size: int, seed: int) -> str:
    """Ordinary text: words taken from benign requests' query values, shuffled."""
    words = [w for e in events for v in (e.get("query") or {}).values() if isinstance(v, str) for w in v.split()]
    words = [w for w in words if w.isalnum()] or ["blue", "shoes"]
    r = random.Random(seed)
    out: list[str] = []
    while sum(len(w) + 1 for w in out) < size:
        out.append(r.choice(words))
    return " ".join(out)[:size]


def padded(event: dict[str, Any], filler: str) -> dict[str, Any]:
    return {**event, "query": {**(event.get("query") or {}), "notes": filler}}


def filled_values(event: dict[str, Any], filler: str) -> dict[str, Any]:
    """Every query value followed by the filler (the payload's value among them)."""
    query = {k: f"{v} {filler}" if isinstance(v, str) else v for k, v in (event.get("query") or {}).items()}
    return {**event, "query": query}


def every_window(detector: Detector) -> Detector:
    """``detector`` reading every window of a long text (no ``max_windows`` bound): the cost before the bound."""
    tokenizer = dataclasses.replace(detector.preprocessing.tokenizer, max_windows=10**9)
    preprocessing = dataclasses.replace(detector.preprocessing, tokenizer=tokenizer)
    return Detector(detector.inference, preprocessing, threshold=detector.threshold)


def buried_payloads(
    detectors: dict[str, Detector], corpus: Corpus, role: Role, filler_bytes: int, sample: int = 1500
) -> dict[str, Any]:
    """Real payloads of ``role`` in a new ``q`` parameter of that role's ordinary site requests,
    alone and followed by ordinary text in the same value: the share of each flagged by each
    of ``detectors`` (the first also scores them alone), and what scoring them cost."""
    r = random.Random(7)
    sites = corpus.benign(role)
    requests = [e for events in sites.values() for e in events if 200 <= (e.get("statusCode") or 0) < 400]
    texts = [v for e in requests for v in (e.get("query") or {}).values() if isinstance(v, str) and " " in v]
    words = [w for v in texts for w in v.split() if w.isalnum()] or ["blue", "shoes"]
    payloads = corpus.payloads_of(role)
    payloads = r.sample(payloads, min(len(payloads), sample))
    alone, buried = [], []
    for payload in payloads:
        base = r.choice(requests)
        filler: list[str] = []
        length = 0
        while length < filler_bytes:
            filler.append(r.choice(words))
            length += len(filler[-1]) + 1
        query = dict(base.get("query") or {})
        alone.append({**base, "query": {**query, "q": payload.text}})
        buried.append({**base, "query": {**query, "q": payload.text + " " + " ".join(filler)[:filler_bytes]}})
    first = next(iter(detectors.values()))
    out: dict[str, Any] = {
        "payloads": len(payloads),
        "filler_bytes": filler_bytes,
        "alone_flagged": float(np.mean(first.score_events(alone) >= first.threshold)),
    }
    for name, detector in detectors.items():
        pre = detector.preprocessing
        units, _ = pre.units(pre.texts(buried[:20]))  # what the network reads: each value, in windows
        rows = sum(len(b.rows) for b in pre.tokenizer.encode_buckets(units)) / min(20, len(buried))
        scores, rate = timed(detector, buried)
        out[name] = {
            "buried_flagged": float(np.mean(scores >= detector.threshold)),
            "rows_per_request": rows,
            "requests_per_s": rate,
        }
    return out


def timed(detector: Detector, events: list[dict[str, Any]]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    scores = detector.score_events(events)
    return scores, len(events) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fwaf-access.csv")
    parser.add_argument("--events", type=Path, default=SHARED / "fwaf-holdout.csv")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--filler-bytes", type=int, default=4096)
    parser.add_argument("--huge-filler-bytes", type=int, default=900_000, help="the bound's worst case, on a sample")
    parser.add_argument("--huge-sample", type=int, default=200)
    parser.add_argument("--json", type=Path, default=Path("bench/results/long_requests.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or train_default(args.data, Path(tmp) / "models")
        windows = load_detector(ModelStore(store))
        truncate = truncating(windows)
        logs = read_labelled_csv(args.events)
        events, labels = logs.events, logs.labels
        benign = [e for e, y in zip(events, labels, strict=True) if y == 0]
        filler = filler_text(benign, args.filler_bytes, seed=1)
        timed(windows, events[:2048])  # warm up
        alone, plain_rate_w = timed(windows, events)
        _, plain_rate_t = timed(truncate, events)
        attacks = [e for e, y, s in zip(events, labels, alone, strict=True) if y == 1 and s >= windows.threshold]
        long_attacks = [padded(e, filler) for e in attacks]
        long_benign = [padded(e, filler) for e in benign]
        aw, long_rate_w = timed(windows, long_attacks)
        at, long_rate_t = timed(truncate, long_attacks)
        bw = windows.score_events(long_benign)
        bt = truncate.score_events(long_benign)
        with_values = [e for e in attacks if e.get("query")]
        iw = windows.score_events([filled_values(e, filler) for e in with_values])
        it = truncate.score_events([filled_values(e, filler) for e in with_values])
        benign_values = [filled_values(e, filler) for e in benign if e.get("query")]
        ib = windows.score_events(benign_values)
        corpus = default_corpus()
        assert corpus is not None, "run from a checkout: its bench/data holds the public corpus"
        both = {"bounded": windows, "every_window": every_window(windows)}
        real = {
            role: buried_payloads(both, Corpus(corpus), role, args.filler_bytes) for role in ("validation", "benchmark")
        }
        huge = {
            role: buried_payloads(both, Corpus(corpus), role, args.huge_filler_bytes, args.huge_sample)
            for role in ("validation", "benchmark")
        }
        t = windows.threshold
        results = {
            "machine": machine(),
            "model_version": ModelStore(store).current(),
            "threshold": t,
            "filler_bytes": args.filler_bytes,
            "attacks_flagged_alone": len(attacks),
            "padded_attacks_flagged": {"windows": float(np.mean(aw >= t)), "truncate": float(np.mean(at >= t))},
            "padded_benign_flagged": {"windows": float(np.mean(bw >= t)), "truncate": float(np.mean(bt >= t))},
            "attacks_with_query_values": len(with_values),
            "filled_value_attacks_flagged": {"windows": float(np.mean(iw >= t)), "truncate": float(np.mean(it >= t))},
            "filled_value_benign_flagged": {"windows": float(np.mean(ib >= t))},
            "benign_flagged_alone": float(np.mean(alone[labels == 0] >= t)),
            "events_per_s_holdout": {"windows": plain_rate_w, "truncate": plain_rate_t},
            "events_per_s_padded": {"windows": long_rate_w, "truncate": long_rate_t},
            "max_windows": windows.preprocessing.tokenizer.max_windows,
            "real_payloads_buried": real,
            "real_payloads_buried_huge": huge,
        }
    lines = [
        f"machine: {results['machine']}; {len(attacks)} holdout attacks flagged alone; filler {args.filler_bytes} B",
        "| | windows (default) | last 1,024 characters (before) |",
        "|---|---|---|",
        f"| padded attacks still flagged | {results['padded_attacks_flagged']['windows']:.4f} | "
        f"{results['padded_attacks_flagged']['truncate']:.4f} |",
        f"| attacks with the filler in the same value ({len(with_values)}) still flagged | "
        f"{float(np.mean(iw >= t)):.4f} | {float(np.mean(it >= t)):.4f} |",
        f"| benign with the filler in each query value flagged | {float(np.mean(ib >= t)):.4f} | |",
        f"| padded benign flagged (alone: {results['benign_flagged_alone']:.4f}) | "
        f"{results['padded_benign_flagged']['windows']:.4f} | {results['padded_benign_flagged']['truncate']:.4f} |",
        f"| scoring the holdout, events/s | {plain_rate_w:,.0f} | {plain_rate_t:,.0f} |",
        f"| scoring padded requests, events/s | {long_rate_w:,.0f} | {long_rate_t:,.0f} |",
        "",
        "| real payloads (public corpus) in a site request's value, ordinary text after them | payloads | "
        "flagged alone | flagged, bounded windows (default) | rows a request | flagged, every window | "
        "rows a request |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {role} part, {x['filler_bytes']:,} B after | {x['payloads']:,} | {x['alone_flagged']:.4f} | "
            f"{x['bounded']['buried_flagged']:.4f} | {x['bounded']['rows_per_request']:,.0f} | "
            f"{x['every_window']['buried_flagged']:.4f} | {x['every_window']['rows_per_request']:,.0f} |"
            for part in (real, huge)
            for role, x in part.items()
        ),
    ]
    write_results(args.json, results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
