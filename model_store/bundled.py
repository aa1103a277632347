"""The pretrained model that ships with the package, served when a store has none.

``model_store/pretrained/`` is a model store of one version (same layout, checksums and
manifest as any other; ``make pretrained`` builds it reproducibly from the shared reference
data plus generated traffic, and its manifest records the data hashes and figures). A user
who installs logsentry and runs ``logsentry score`` or ``logsentry stream`` before training
anything gets a working detector, and one log line saying which model that is.

Only the ``current`` reference falls back: asking for a version by name never silently
serves another model. The stream keeps watching the user's store, so the first version
promoted there replaces the bundled one without a restart (:mod:`stream.reload`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from logsentry.errors import StoreError
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME
from logsentry.model_store.model.scoring import Detector
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore

log = logging.getLogger(__name__)

BUNDLED_ROOT = Path(__file__).resolve().parent / "pretrained"


def bundled_store() -> ModelStore:
    return ModelStore(BUNDLED_ROOT)


def serving_store(store: ModelStore, ref: str = "current") -> ModelStore:
    """``store``, or the bundled store when ``ref`` is ``current`` and ``store`` has no current version."""
    if store.root.exists() and not store.root.is_dir():
        store.check()  # a file where a store should be is a mistake, not an empty store
    if ref != "current" or store.current() is not None:
        return store
    bundled = bundled_store()
    if bundled.current() is None:
        raise StoreError(
            f"{store.root} holds no current model and this installation carries no pretrained model: "
            f"train one with `logsentry train --store {store.root}`"
        )
    manifest = bundled.manifest(verify=False)
    log.warning(
        "no current model in %s: serving the bundled pretrained model version=%s (trained on %s); "
        "train a model of your own with `logsentry train --store %s`",
        store.root,
        manifest.version,
        manifest.training_data.name,
        store.root,
    )
    return bundled


def load_serving_detector(store: ModelStore, ref: str = "current", runtime: str = DEFAULT_RUNTIME) -> Detector:
    """The detector ``ref`` names in ``store``, or the bundled one (see :func:`serving_store`)."""
    return load_detector(serving_store(store, ref), ref, runtime)
