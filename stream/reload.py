"""Follow the model store's ``current`` version without stopping the stream.

A background thread notices a promotion, loads and verifies the new version off the hot
path, and hands it over; the stream swaps it in between two batches. A version that fails
to load (checksum, preprocessing version, safe mode) is refused once, logged and counted,
and the serving version carries on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from logsentry.errors import StoreError
from logsentry.model_store.model.scoring import Detector, load_detector
from logsentry.model_store.store import ModelStore
from logsentry.stream.metrics import StreamMetrics

log = logging.getLogger(__name__)

Loader = Callable[[ModelStore, str], Detector]
_UNCHANGED = object()  # no new shadow candidate waiting


class ModelWatcher:
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
        self.store = store
        self.ref = ref
        self.metrics = metrics
        self.interval_s = interval_s
        self.loader = loader
        self.detector = loader(first or store, ref)  # nothing to serve without a model: let it raise
        self._announce()
        self._next: Detector | None = None
        self.shadow: Detector | None = None  # the candidate of `logsentry models shadow`
        self._next_shadow: Any = _UNCHANGED  # or the candidate to swap in, or None: cleared
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _announce(self) -> None:
        d = self.detector
        runtime = str(getattr(d, "runtime", "unknown"))
        self.metrics.model.info({"version": d.version, "architecture": _architecture(d), "runtime": runtime})
        self.metrics.threshold.set(d.threshold)
        log.info("serving model version=%s threshold=%.4f runtime=%s", d.version, d.threshold, runtime)

    def start(self) -> None:
        if self.ref != "current":
            return  # a pinned version never changes
        self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def check_once(self) -> None:
        self._check_shadow()
        try:
            wanted = self.store.current()
        except OSError as exc:
            log.warning("cannot read the current model version error=%s", exc)
            return
        with self._lock:
            pending = self._next.version if self._next is not None else None
        if wanted is None or wanted in (self.detector.version, pending) or wanted in self._refused:
            return
        log.info("loading promoted model version=%s", wanted)
        try:
            detector = self.loader(self.store, wanted)
        except (StoreError, OSError) as exc:
            self._refused.add(wanted)
            self.metrics.reloads.labels("failure").inc()
            log.error("refused model version=%s error=%s (still serving %s)", wanted, exc, self.detector.version)
            return
        with self._lock:
            self._next = detector

    def _check_shadow(self) -> None:
        try:
            wanted = self.store.shadow()
        except OSError as exc:
            log.warning("cannot read the shadow model version error=%s", exc)
            return
        with self._lock:
            pending = self._next_shadow
        if pending is _UNCHANGED:  # what scores in shadow now
            shown = self.shadow.version if self.shadow is not None else None
        else:
            shown = pending.version if pending is not None else None
        if wanted == shown or (wanted is not None and wanted in self._refused):
            return
        if wanted is None:
            with self._lock:
                self._next_shadow = None
            return
        log.info("loading shadow model version=%s", wanted)
        try:
            candidate = self.loader(self.store, wanted)
        except (StoreError, OSError) as exc:
            self._refused.add(wanted)
            self.metrics.reloads.labels("failure").inc()
            log.error("refused shadow model version=%s error=%s (no shadow scoring)", wanted, exc)
            return
        with self._lock:
            self._next_shadow = candidate

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check_once()

    def swap(self) -> Detector:
        """The detector to use for the next batch (a newly loaded one, if ready); ``shadow`` follows too."""
        with self._lock:
            nxt, self._next = self._next, None
            shadow, self._next_shadow = self._next_shadow, _UNCHANGED
        if shadow is not _UNCHANGED:
            if self.shadow is not None:
                self.metrics.shadow_model.remove(self.shadow.version)
            self.shadow = shadow
            if shadow is not None:
                self.metrics.shadow_model.labels(shadow.version).set(1)
            log.info("shadow model version=%s", shadow.version if shadow is not None else None)
        if nxt is not None:
            previous = self.detector.version
            self.detector = nxt
            self.metrics.reloads.labels("success").inc()
            self._announce()
            log.info("switched model version=%s previous=%s", nxt.version, previous)
        return self.detector


def _architecture(detector: Any) -> str:
    return str(getattr(detector, "architecture", "unknown"))
