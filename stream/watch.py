"""Follow a source without stopping the stream: what the model watcher (reload.py) and the rules
watcher (rules_watch.py) share.

A background thread calls :meth:`Watcher.check_once` every ``interval_s``: it looks at the
source and loads what changed, off the hot path, and offers it (:meth:`Watcher.offer`). What
was offered waits under a lock until the stream takes it between two batches
(:meth:`Watcher.swap`). A load that fails is counted as ``result="failure"`` on the watcher's
reloads counter (:meth:`Watcher.refused`), a value swapped in as ``result="success"``
(:meth:`Watcher.swapped`); what is in force carries on either way.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from prometheus_client import Counter

T = TypeVar("T")


class Watcher(Generic[T]):
    """A polling thread that loads new values, and the lock they wait behind until :meth:`swap`.

    A watcher says whether there is anything to follow (:meth:`follows`), checks its source
    (:meth:`check_once`, on the thread), makes what was loaded current (:meth:`apply`, on the
    stream's thread) and names what is current (:meth:`current`). What it loads is kept by
    slot (the model watcher has two: the served model and the shadow candidate).
    """

    def __init__(self, name: str, reloads: Counter, interval_s: float) -> None:
        self.name = name  # the thread is "<name>-watcher"
        self.reloads = reloads  # by result: success, failure
        self.interval_s = interval_s
        self._pending: dict[str, Any] = {}  # slot -> loaded, not swapped in yet
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follows(self) -> bool:
        raise NotImplementedError

    def check_once(self) -> None:
        raise NotImplementedError

    def apply(self, loaded: dict[str, Any]) -> None:
        raise NotImplementedError

    def current(self) -> T:
        raise NotImplementedError

    def start(self) -> None:
        if self.follows():
            self._thread = threading.Thread(target=self._run, name=f"{self.name}-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check_once()

    def offer(self, slot: str, value: Any) -> None:
        """Hand over what was loaded (it replaces anything in ``slot`` not swapped in yet)."""
        with self._lock:
            self._pending[slot] = value

    def pending(self, slot: str, default: Any = None) -> Any:
        """What waits in ``slot`` to be swapped in, or ``default``."""
        with self._lock:
            return self._pending.get(slot, default)

    def refused(self) -> None:
        self.reloads.labels("failure").inc()

    def swapped(self) -> None:
        self.reloads.labels("success").inc()

    def swap(self) -> T:
        """What to use for the next batch: what was loaded, if anything was, else what is current."""
        with self._lock:
            loaded, self._pending = self._pending, {}
        if loaded:
            self.apply(loaded)
        return self.current()
