"""Follow the model store's ``current`` version without stopping the stream.

A background thread (:class:`~logsentry.stream.watch.Watcher`) notices a promotion, loads and
verifies the new version off the hot path, and hands it over; the stream swaps it in between
two batches. The shadow candidate of ``logsentry models shadow`` is followed the same way. A
version that fails to load (checksum, preprocessing version, safe mode) is refused once, logged
and counted (``logsentry_model_reloads_total{result="failure"}``), and the serving version
carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from logsentry.errors import StoreError
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.stream.metrics import StreamMetrics
from logsentry.stream.watch import Watcher

log = logging.getLogger(__name__)

Loader = Callable[[ModelStore, str], Detector]
_UNCHANGED = object()  # no shadow candidate (nor its clearing) waiting


class ModelWatcher(Watcher[Detector]):
    """The served model (``.detector``) and the shadow candidate (``.shadow``): slots ``model`` and ``shadow``."""

    def __init__(
        self,
        store: ModelStore,
        ref: str,
        metrics: StreamMetrics,
        *,
        interval_s: float = 5.0,
        loader: Loader = load_detector,
        first: ModelStore | None = None,
    ) -> None:
        """Serve ``ref`` of ``first`` (default ``store``; the bundled store while it has none), follow ``store``."""
        super().__init__("model", metrics.model_reloads, interval_s)
        self.store = store
        self.ref = ref
        self.metrics = metrics
        self.loader = loader
        self.detector = loader(first or store, ref)  # nothing to serve without a model: let it raise
        self._announce()
        self.shadow: Detector | None = None  # the candidate of `logsentry models shadow`
        self._refused: set[str] = set()

    def _announce(self) -> None:
        d = self.detector
        runtime = str(getattr(d, "runtime", "unknown"))
        self.metrics.model.info({"version": d.version, "architecture": _architecture(d), "runtime": runtime})
        self.metrics.threshold.set(d.threshold)
        log.info("serving model version=%s threshold=%.4f runtime=%s", d.version, d.threshold, runtime)

    def follows(self) -> bool:
        return self.ref == "current"  # a pinned version never changes

    def current(self) -> Detector:
        return self.detector

    def check_once(self) -> None:
        self._check_shadow()
        try:
            wanted = self.store.current()
        except OSError as exc:
            log.warning("cannot read the current model version error=%s", exc)
            return
        waiting = self.pending("model")
        pending = waiting.version if waiting is not None else None
        if wanted is None or wanted in (self.detector.version, pending) or wanted in self._refused:
            return
        log.info("loading promoted model version=%s", wanted)
        try:
            detector = self.loader(self.store, wanted)
        except (StoreError, OSError) as exc:
            self._refused.add(wanted)
            self.refused()
            log.error("refused model version=%s error=%s (still serving %s)", wanted, exc, self.detector.version)
            return
        self.offer("model", detector)

    def _check_shadow(self) -> None:
        try:
            wanted = self.store.shadow()
        except OSError as exc:
            log.warning("cannot read the shadow model version error=%s", exc)
            return
        pending = self.pending("shadow", _UNCHANGED)
        if pending is _UNCHANGED:  # what scores in shadow now
            shown = self.shadow.version if self.shadow is not None else None
        else:
            shown = pending.version if pending is not None else None
        if wanted == shown or (wanted is not None and wanted in self._refused):
            return
        if wanted is None:
            self.offer("shadow", None)  # cleared
            return
        log.info("loading shadow model version=%s", wanted)
        try:
            candidate = self.loader(self.store, wanted)
        except (StoreError, OSError) as exc:
            self._refused.add(wanted)
            self.refused()
            log.error("refused shadow model version=%s error=%s (no shadow scoring)", wanted, exc)
            return
        self.offer("shadow", candidate)

    def apply(self, loaded: dict[str, Any]) -> None:
        """Swap in a newly loaded model and shadow candidate (or a cleared one), between two batches."""
        if "shadow" in loaded:
            shadow = loaded["shadow"]
            if self.shadow is not None:
                self.metrics.shadow_model.remove(self.shadow.version)
            self.shadow = shadow
            if shadow is not None:
                self.metrics.shadow_model.labels(shadow.version).set(1)
            log.info("shadow model version=%s", shadow.version if shadow is not None else None)
        nxt = loaded.get("model")
        if nxt is not None:
            previous = self.detector.version
            self.detector = nxt
            self.swapped()
            self._announce()
            log.info("switched model version=%s previous=%s", nxt.version, previous)


def _architecture(detector: Any) -> str:
    return str(getattr(detector, "architecture", "unknown"))
