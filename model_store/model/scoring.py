"""The one scoring function: request logs in, attack probabilities out.

``logsentry score`` (offline), the stream and the trainer's evaluation all call
:meth:`Detector.score_texts` through :meth:`Detector.score_events`, so a request scores the
same on every path. Each event is padded to its own length bucket (a function of the event
alone), and buckets are run through the version's network in fixed-size chunks; the only thing
batch composition can change is float rounding.

Real traffic repeats itself: a site's paths, its parameter values, its form fields come back
request after request (a real access log of 20,000 requests held 362 distinct values in
31,893). So each detector keeps the scores of the short units it has scored, most recently
used first (:data:`UNIT_CACHE_SIZE` of at most :data:`UNIT_CACHE_MAX_CHARS` characters: at
most ~10 MB), and the network reads only units it has not seen. A unit scores the same
whichever batch it is in (each is padded to its own bucket; checked exact in
``tests/unit/test_scoring_cache.py``), so the cache changes no score; a new model version is
a new detector with an empty cache.

The network runs on ONNX Runtime by default (:mod:`model_store.model.onnx_runtime`), or on Keras
(:mod:`model_store.model.tensorflow_runtime`) for a version published before the ONNX export, for one
published served by Keras after its export was refused, and when asked for (``--runtime keras``);
both score alike within the export check's float-noise tolerance (``trainer.onnx_export``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from logsentry.model_store.model.preprocessing import Preprocessing
from logsentry.model_store.model.runtimes import INFERENCE_THREADS, Inference, Runtime

log = logging.getLogger(__name__)

UNIT_CACHE_SIZE = 32_768  # unit scores a detector keeps
UNIT_CACHE_MAX_CHARS = 256  # longer units (rare, and windows of long values) are always scored

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _inference_pool() -> ThreadPoolExecutor:
    """One process-wide pool, shared by every loaded version (hot reload creates detectors)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(INFERENCE_THREADS, thread_name_prefix="inference")
        return _pool


class Detector:
    """A loaded model version with the preprocessing and threshold it was trained with."""

    def __init__(
        self,
        inference: Inference,
        preprocessing: Preprocessing,
        *,
        threshold: float = 0.5,
        version: str = "",
        architecture: str = "",
        cache_size: int = UNIT_CACHE_SIZE,
    ) -> None:
        self.inference = inference
        self.preprocessing = preprocessing
        self.threshold = threshold
        self.version = version
        self.architecture = architecture
        self.cache_size = cache_size  # 0: every unit goes through the network
        self._cache: OrderedDict[str, float] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0  # units answered from the cache
        self.cache_lookups = 0  # distinct units of each call that could have been

    @property
    def runtime(self) -> Runtime:
        return self.inference.runtime

    def score_ids(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        chunk = self.inference.chunk
        parts = [self.inference(ids[i : i + chunk]) for i in range(0, len(ids), chunk)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of already-cleaned texts, in input order: each text's highest unit (the text
        itself, or each of its values in value mode), each unit its highest window."""
        units, owners = self.preprocessing.units(texts)
        scores = np.zeros(len(texts), dtype=np.float32)
        np.maximum.at(scores, owners, self.score_units(units))
        return scores

    def deciding_units(self, texts: Sequence[str]) -> list[str]:
        """Each text's unit of highest score: the value that decides its verdict (the text itself
        when the model reads whole requests); short units come from the cache."""
        units, owners = self.preprocessing.units(texts)
        scores = self.score_units(units)
        best = np.full(len(texts), -1.0)
        chosen = [""] * len(texts)
        for unit, owner, score in zip(units, owners.tolist(), scores.tolist(), strict=True):
            if score > best[owner]:
                best[owner], chosen[owner] = score, unit
        return chosen

    def score_units(self, units: Sequence[str]) -> np.ndarray:
        """One score per unit text, in input order; a unit repeated in ``units`` is scored once,
        and a short one scored before is read from the cache (see the module docstring)."""
        index: dict[str, int] = {}
        where = np.fromiter((index.setdefault(u, len(index)) for u in units), dtype=np.int64, count=len(units))
        distinct = list(index)
        scores = np.zeros(len(distinct), dtype=np.float32)
        todo = distinct
        if self.cache_size > 0:
            todo, known = [], 0
            with self._cache_lock:
                cache = self._cache
                for k, unit in enumerate(distinct):
                    hit = cache.get(unit)
                    if hit is None:
                        todo.append(unit)
                        continue
                    cache.move_to_end(unit)
                    scores[k] = hit
                    known += 1
                self.cache_lookups += len(distinct)
                self.cache_hits += known
        fresh = self._score_distinct(todo)
        if todo is not distinct:
            positions = np.fromiter((index[u] for u in todo), dtype=np.int64, count=len(todo))
            scores[positions] = fresh
            self._remember(todo, fresh)
        else:
            scores = fresh
        return scores[where]

    def _score_distinct(self, distinct: list[str]) -> np.ndarray:
        scores = np.zeros(len(distinct), dtype=np.float32)
        if not distinct:
            return scores
        buckets = sorted(self.preprocessing.tokenizer.encode_buckets(distinct), key=lambda b: -b.ids.size)
        if len(buckets) > 1 and self.inference.parallel_buckets:
            results: Any = _inference_pool().map(self.score_ids, [b.ids for b in buckets])
        else:
            results = [self.score_ids(b.ids) for b in buckets]
        for bucket, result in zip(buckets, results, strict=True):
            # a long unit is several windows (rows naming the same unit): it scores its highest
            np.maximum.at(scores, bucket.rows, result)
        return scores

    def _remember(self, units: list[str], scores: np.ndarray) -> None:
        with self._cache_lock:
            cache = self._cache
            for unit, score in zip(units, scores.tolist(), strict=True):
                if len(unit) <= UNIT_CACHE_MAX_CHARS:
                    cache[unit] = score
            while len(cache) > self.cache_size:
                cache.popitem(last=False)

    def score_events(self, events: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Scores of request logs, in input order (``InvalidEvent`` for a non-object)."""
        return self.score_texts(self.preprocessing.texts(events))

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.threshold
