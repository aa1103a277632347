"""Why a request was flagged: the spans of its fields that drove the score (occlusion).

A part of a flagged request is deleted and the request is scored again, through the
model's own cleanup and :meth:`Detector.score_texts`; the more the score drops, the more
that part drove it. Three rounds, each one batched model call for every flagged record of
a batch:

1. every string field removed in turn (``query.q``, ``path``, ``requestPayload.comment``);
2. the strongest field cut into ``COARSE_PARTS`` windows, each removed in turn;
3. windows of ``FINE_WIDTH`` characters every ``FINE_WIDTH // 2`` across the strongest
   coarse window and ``FINE_WIDTH`` characters either side (a token may straddle two).

The strongest fine window, widened over the touching windows that weigh at least half as
much, is the first span; the other fields whose removal lowers the score follow as whole
fields. ``weight`` is the share of the score's margin above the threshold that the span
carries, on the logit scale (where a probability near 1 still has room to fall):
``(logit(score) - logit(score without the span)) / (logit(score) - logit(threshold))``,
capped at 1. A weight of 1 means removing that span alone clears the alert; an attack
repeated in several places (``../../../``) spreads its weight over them.
Offsets count characters (code points) of the field's *original* value, before cleanup's
escaping, so ``value[start:end] == text``. Keys and non-string values are not probed.

A variant differs from its record in one field; for a model that reads values, each distinct
value is scored once per explanation, so the rounds cost the record's values once plus the
new windows (``bench/explain.py`` measures the rows and the time): spent on alerts only,
never on the unflagged majority, and in the stream within its budget
(:mod:`stream.explain_budget`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from logsentry.model_store.ingest.fields import Path, field_name
from logsentry.model_store.model.preprocessing import CLIENT_FIELDS, CleanupSpec, clean, compact_json

COARSE_PARTS = 8
FINE_WIDTH = 8
ZOOM_WIDTH = 256  # a strongest coarse window wider than this is cut again (long values)
CHUNK_CHARS = 4_000_000  # variant text held at once while scoring them
CACHED_UNIT_CHARS = 4_096  # values scored once per explanation; a longer one is scored each time
MAX_FIELDS = 64  # string fields probed per record, in the record's order
MAX_SPANS = 3
MIN_WEIGHT = 0.01  # a removal that takes less of the margin than this explains nothing


class _Scorer(Protocol):
    preprocessing: Any
    threshold: float

    def score_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Span:
    """A part of one field's original value that drove the score."""

    field: str
    start: int
    end: int
    text: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text, "weight": self.weight}


def string_fields(record: Mapping[str, Any], cleanup: CleanupSpec) -> list[tuple[Path, str]]:
    """The non-empty string values the model sees, with their paths, in the record's order."""
    out: list[tuple[Path, str]] = []

    def walk(value: Any, path: Path) -> None:
        if len(out) >= MAX_FIELDS:
            return
        if isinstance(value, str):
            if value:
                out.append((path, value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    for key, value in record.items():
        if cleanup.kept(key) and (cleanup.units == "request" or key in CLIENT_FIELDS):
            walk(value, (key,))
    return out


def _replaced(value: Any, path: Path, new: str) -> Any:
    """A copy of ``value`` with the leaf at ``path`` replaced (only the containers on the path copied)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = list(value) if isinstance(value, list) else dict(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


_MARKER = "\x00logsentry-explain\x00"
_ENCODED_MARKER = compact_json(_MARKER)


@dataclass(frozen=True)
class _Probe:
    record: int
    field: int
    start: int
    end: int


_Weighed = tuple[_Probe, float]  # a probe and its weight


def _windows(start: int, end: int, width: int, stride: int) -> list[tuple[int, int]]:
    if end - start <= width:
        return [(start, end)]
    out = [(s, s + width) for s in range(start, end - width, stride)]
    return [*out, (end - width, end)]


class _Explainer:
    def __init__(
        self,
        scorer: _Scorer,
        records: Sequence[Mapping[str, Any]],
        scores: Sequence[float],
        thresholds: Sequence[float],
    ) -> None:
        self.scorer = scorer
        self.records = records
        self.base = _logit(np.asarray(scores, dtype=np.float64))
        # the margin a removal can take away: down to the threshold (at least a little, for a
        # score sitting on it)
        self.margin = np.maximum(self.base - _logit(np.asarray(thresholds, dtype=np.float64)), 1e-3)
        self.fields = [string_fields(r, scorer.preprocessing.cleanup) for r in records]
        self._frames: dict[tuple[int, int], tuple[str, str] | None] = {}
        self._known: dict[_Probe, float] = {}
        self._unit_scores: dict[str, float] = {}  # value mode: each distinct value scored once per explanation

    def _text(self, p: _Probe) -> str:
        """The cleaned text of ``p.record`` without ``p``'s characters: the record is cleaned once
        per field around a marker, and each variant only re-encodes that field's value."""
        path, value = self.fields[p.record][p.field]
        cut = value[: p.start] + value[p.end :]
        key = (p.record, p.field)
        if key not in self._frames:
            marked = clean(_replaced(self.records[p.record], path, _MARKER), self.scorer.preprocessing.cleanup)
            parts = marked.split(_ENCODED_MARKER)
            self._frames[key] = (parts[0], parts[1]) if len(parts) == 2 else None
        frame = self._frames[key]
        if frame is None or (path == ("path",) and self.scorer.preprocessing.cleanup.units == "values"):
            # the marker's text occurs in the request itself, or the path is read decoded (value
            # units): clean the whole variant
            return clean(_replaced(self.records[p.record], path, cut), self.scorer.preprocessing.cleanup)
        return frame[0] + compact_json(cut) + frame[1]

    def weights(self, probes: list[_Probe]) -> np.ndarray:
        """Score drop when each probe's characters are removed: one model call for the new ones
        (one per ``CHUNK_CHARS`` of variant text: variants of a long field are held a few at a time)."""
        new = list(dict.fromkeys(p for p in probes if p not in self._known))
        start = 0
        while start < len(new):
            texts: list[str] = []
            held = 0
            while start + len(texts) < len(new) and (not texts or held < CHUNK_CHARS):
                texts.append(self._text(new[start + len(texts)]))
                held += len(texts[-1])
            chunk = new[start : start + len(texts)]
            scores = _logit(self._scores(texts))
            owners = [p.record for p in chunk]
            # capped: past "removing it clears the alert", how far the score falls is noise
            drops = np.minimum(1.0, (self.base[owners] - scores) / self.margin[owners])
            self._known.update(zip(chunk, drops.tolist(), strict=True))
            start += len(texts)
        return np.asarray([self._known[p] for p in probes], dtype=np.float64)

    def _scores(self, texts: list[str]) -> np.ndarray:
        """``score_texts``; for a scorer that scores units (a request's values), each distinct unit once
        across the rounds: a variant differs from its record in one value, the others repeat."""
        score_units = getattr(self.scorer, "score_units", None)
        if score_units is None or self.scorer.preprocessing.cleanup.units != "values":
            return np.asarray(self.scorer.score_texts(texts), dtype=np.float64)
        units, owners = self.scorer.preprocessing.units(texts)
        new = [u for u in dict.fromkeys(units) if u not in self._unit_scores]
        scored = dict(zip(new, np.asarray(score_units(new)).tolist(), strict=True)) if new else {}
        # kept across rounds: the short values (a long one is the probed field, new in each variant)
        self._unit_scores.update((u, v) for u, v in scored.items() if len(u) <= CACHED_UNIT_CHARS)
        out = np.zeros(len(texts), dtype=np.float64)
        known = self._unit_scores | scored  # a score of 0.0 is a score: no truthiness test
        np.maximum.at(out, owners, np.fromiter((known[u] for u in units), dtype=np.float64))
        return out

    def run(self) -> list[tuple[Span, ...]]:
        whole = [_Probe(i, j, 0, len(v)) for i, fields in enumerate(self.fields) for j, (_, v) in enumerate(fields)]
        whole_w = self.weights(whole)
        best: dict[int, tuple[_Probe, float]] = {}
        for p, w in zip(whole, whole_w.tolist(), strict=True):
            if p.record not in best or w > best[p.record][1]:
                best[p.record] = (p, w)

        last_round, top_coarse = self.zoom([p for p, _ in best.values()])

        fine: list[_Probe] = []
        for p, _ in top_coarse.values():
            length = len(self.fields[p.record][p.field][1])
            if length > FINE_WIDTH:  # a token can straddle two coarse windows: look across both sides
                lo, hi = max(0, p.start - FINE_WIDTH), min(length, p.end + FINE_WIDTH)
                fine += [_Probe(p.record, p.field, s, e) for s, e in _windows(lo, hi, FINE_WIDTH, FINE_WIDTH // 2)]
        fine_w = self.weights(fine)

        finest: dict[int, list[tuple[_Probe, float]]] = {}
        fine_records = {p.record for p in fine}
        for record, windows in last_round.items():
            if record not in fine_records:
                finest[record] = list(windows)
        for p, w in zip(fine, fine_w.tolist(), strict=True):
            finest.setdefault(p.record, []).append((p, w))

        out: list[tuple[Span, ...]] = []
        by_record: dict[int, list[tuple[_Probe, float]]] = {}
        for p, w in zip(whole, whole_w.tolist(), strict=True):
            by_record.setdefault(p.record, []).append((p, w))
        for i in range(len(self.records)):
            spans: list[Span] = []
            main = _widest(finest.get(i, []))
            if main is not None:
                spans.append(self.span(*main))
            main_field = main[0].field if main is not None else -1
            others = sorted((pw for pw in by_record.get(i, []) if pw[0].field != main_field), key=lambda pw: -pw[1])
            spans += [self.span(p, w) for p, w in others if w >= MIN_WEIGHT]
            out.append(tuple(spans[:MAX_SPANS]))
        return out

    def zoom(self, regions: list[_Probe]) -> tuple[dict[int, list[_Weighed]], dict[int, _Weighed]]:
        """Each region cut into ``COARSE_PARTS`` windows, each removed in turn; while a record's
        strongest window is wider than ``ZOOM_WIDTH`` (a long value), that window is cut again,
        so a 1 MB value costs a few rounds of eight variants, not a variant per four characters
        of it. Each record's windows of its last round with their weights, and its strongest."""
        last: dict[int, list[_Weighed]] = {}
        top: dict[int, _Weighed] = {}
        tokenizer = self.scorer.preprocessing.tokenizer
        # a value read in windows (every ``stride`` characters from its start): a removed part a
        # whole number of strides long leaves the rest where it was read, so the score moves
        # because of what was removed, not because the windows fell elsewhere
        stride = max(1, tokenizer.window // 2) if tokenizer.long_requests == "windows" else 1
        while regions:
            coarse: list[_Probe] = []
            for p in regions:
                width = max(FINE_WIDTH, math.ceil((p.end - p.start) / COARSE_PARTS))
                if len(self.fields[p.record][p.field][1]) > tokenizer.max_len:
                    width = math.ceil(width / stride) * stride
                coarse += [_Probe(p.record, p.field, s, e) for s, e in _windows(p.start, p.end, width, width)]
            round_: dict[int, list[_Weighed]] = {}
            for p, w in zip(coarse, self.weights(coarse).tolist(), strict=True):
                round_.setdefault(p.record, []).append((p, w))
            last |= round_
            top |= {i: max(windows, key=lambda pw: pw[1]) for i, windows in round_.items()}
            wide = {p.record: p.end - p.start for p in regions}
            # cut again while wider than ZOOM_WIDTH and still narrowing (stride-long parts stop at a stride)
            regions = [top[i][0] for i in round_ if ZOOM_WIDTH < top[i][0].end - top[i][0].start < wide[i]]
        return last, top

    def span(self, probe: _Probe, weight: float) -> Span:
        path, value = self.fields[probe.record][probe.field]
        return Span(
            field_name(path), probe.start, probe.end, value[probe.start : probe.end], round(min(1.0, weight), 4)
        )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _widest(windows: list[tuple[_Probe, float]]) -> tuple[_Probe, float] | None:
    """The strongest window widened over the touching ones that weigh at least half as much."""
    if not windows:
        return None
    windows = sorted(windows, key=lambda pw: pw[0].start)
    top = max(range(len(windows)), key=lambda k: windows[k][1])
    probe, weight = windows[top]
    if weight < MIN_WEIGHT:
        return None
    start, end = probe.start, probe.end
    for step in (-1, 1):
        k = top + step
        while 0 <= k < len(windows) and windows[k][1] >= weight / 2:
            start, end = min(start, windows[k][0].start), max(end, windows[k][0].end)
            k += step
    return _Probe(probe.record, probe.field, start, end), weight


def explain(
    scorer: _Scorer,
    records: Sequence[Mapping[str, Any]],
    scores: Sequence[float],
    thresholds: Sequence[float] | None = None,
) -> list[tuple[Span, ...]]:
    """For each record (flagged: its ``score`` at or above its threshold, the scorer's unless
    ``thresholds`` names one per record), up to ``MAX_SPANS`` spans, strongest first.

    Empty when no single part lowers the score by ``MIN_WEIGHT`` (the score comes from the
    request as a whole) or the record has no string field.
    """
    if not records:
        return []
    limits = [scorer.threshold] * len(records) if thresholds is None else thresholds
    return _Explainer(scorer, records, scores, limits).run()
