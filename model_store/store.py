"""Versioned, self-describing model artifacts on a file system.

Layout under the store root::

    versions/<version>/model.keras        native Keras format, loaded in safe mode
    versions/<version>/manifest.json      what the version is (see manifest.py)
    versions/<version>/report/...         evaluation report (metrics.json, plots, summary)
    versions/<version>/checksums.json     SHA-256 of every other file of the version
    held/<version>/...                    trained but not published: its ONNX export was refused
                                          (``models publish V --keras-only`` or ``models export V``)
    CURRENT                               the version the stream serves
    SHADOW                                a candidate scored in shadow beside it (optional)
    promotions.jsonl                      every promotion, for rollback and audit

A version is written to ``.staging-*`` and renamed into ``versions/`` only when complete:
rename within one file system is atomic, so a crash mid-publish leaves nothing half
visible (``gc`` removes stale staging directories). ``CURRENT`` is replaced the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logsentry.errors import CorruptArtifact, StoreError
from logsentry.model_store.manifest import Manifest, keras_only_entry

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"
CHECKSUMS_FILE = "checksums.json"
CURRENT_FILE = "CURRENT"
SHADOW_FILE = "SHADOW"  # a candidate the detectors score beside the current one, publishing nothing for it
PROMOTIONS_FILE = "promotions.jsonl"
HELD_DIR = "held"
CHECK_SAMPLE_FILE = "export-check.txt.gz"  # a held version's export-check texts, for `models export`
_STAGING_PREFIX = ".staging-"


def new_version_id(now: datetime | None = None) -> str:
    """Sortable by time, unique across concurrent trainers: ``20261129T154700123Z-1a2b3c``."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class Draft:
    """A version being written; becomes visible only when its ``with`` block ends cleanly."""

    version: str
    path: Path
    manifest: Manifest | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    hold: bool = False  # sealed into held/ instead of versions/: trained, not published


@dataclass(frozen=True)
class VersionInfo:
    version: str
    path: Path
    manifest: Manifest
    current: bool


def seal(staging: Path, manifest: Manifest) -> None:
    """Write ``manifest`` and the checksums of every file into a version directory (what
    :meth:`ModelStore.verify` checks)."""
    if not (staging / MODEL_FILE).is_file():
        raise StoreError(f"a version needs {MODEL_FILE}")
    _write_atomic(staging / MANIFEST_FILE, json.dumps(manifest.to_dict(), indent=2, sort_keys=False))
    sums = {
        str(p.relative_to(staging)): file_sha256(p)
        for p in sorted(staging.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS_FILE
    }
    _write_atomic(staging / CHECKSUMS_FILE, json.dumps(sums, indent=2, sort_keys=True))


class ModelStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.held_dir = self.root / HELD_DIR

    def check(self, *, create: bool = False) -> None:
        """:class:`StoreError` naming the problem if ``root`` is not (and cannot be) a store."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} is a file, not a model store directory: point --store at a store")
        if not self.root.exists() and not create:
            raise StoreError(
                f"no model store at {self.root}: train one with `logsentry train --store {self.root}`, "
                "or point --store (LOGSENTRY_STORE) at an existing one"
            )

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def new_version(self) -> Iterator[Draft]:
        """Stage a version; the caller writes files into ``draft.path`` and sets ``draft.manifest``."""
        self.check(create=True)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        version = new_version_id()
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f"{_STAGING_PREFIX}{version}-"))
        draft = Draft(version=version, path=staging)
        try:
            yield draft
            if draft.manifest is None:
                raise StoreError("a draft version was closed without a manifest")
            if draft.manifest.version != version:
                raise StoreError("the manifest names another version than its draft")
            seal(staging, draft.manifest)
            if draft.hold:
                self.held_dir.mkdir(exist_ok=True)
                os.rename(staging, self.held_dir / version)
                log.info("held version=%s (not published)", version)
            else:
                os.rename(staging, self.versions_dir / version)
                log.info("published version=%s", version)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def release(
        self, version: str, manifest: Manifest, *, add: dict[str, Path] | None = None, remove: tuple[str, ...] = ()
    ) -> str:
        """Publish a held version under ``manifest``: ``add`` copies files in (name -> source),
        ``remove`` leaves files out; sealed anew and renamed into ``versions/`` as one step."""
        held = self.verify_held(version)
        if manifest.version != version:
            raise StoreError("the manifest names another version than the held one")
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f"{_STAGING_PREFIX}{version}-"))
        try:
            shutil.copytree(held, staging, dirs_exist_ok=True)
            for name in (*remove, CHECKSUMS_FILE, MANIFEST_FILE):
                (staging / name).unlink(missing_ok=True)
            for name, source in (add or {}).items():
                shutil.copyfile(source, staging / name)
            seal(staging, manifest)
            os.rename(staging, self.versions_dir / version)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(held)
        log.info("published held version=%s", version)
        return version

    def publish_keras_only(self, ref: str) -> str:
        """Publish a held version served by Keras: its refused export stays recorded, no ``model.onnx`` ships."""
        version = self.resolve_held(ref)
        manifest = self.held_manifest(version)
        if manifest.onnx is None:
            raise CorruptArtifact(f"{version}: a held version's manifest records no export check")
        served = replace(manifest, onnx=keras_only_entry(manifest.onnx))
        return self.release(version, served, remove=(CHECK_SAMPLE_FILE,))

    def promote(self, ref: str, *, reason: str = "promote") -> str:
        version = self.resolve(ref)
        self.verify(version)
        previous = self.current()
        _write_atomic(self.root / CURRENT_FILE, version + "\n")
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": version,
            "previous": previous,
            "reason": reason,
        }
        with (self.root / PROMOTIONS_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        log.info("promoted version=%s previous=%s", version, previous)
        return version

    def set_shadow(self, ref: str | None) -> str | None:
        """Make ``ref`` the shadow candidate (verified first), or clear it with None."""
        if ref is None:
            (self.root / SHADOW_FILE).unlink(missing_ok=True)
            log.info("shadow cleared")
            return None
        version = self.resolve(ref)
        self.verify(version)
        _write_atomic(self.root / SHADOW_FILE, version + "\n")
        log.info("shadow version=%s", version)
        return version

    def shadow(self) -> str | None:
        try:
            text = (self.root / SHADOW_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def rollback(self) -> str:
        """Make current again the version the present one replaced when it was promoted.

        Rollbacks walk back: v1 > v2 > v3, rollback gives v2, a second rollback v1.
        """
        current = self.current()
        if current is None:
            raise StoreError("nothing is current: there is nothing to roll back")
        history = [h for h in self.promotions() if h["version"] == current and not h["reason"].startswith("rollback")]
        previous = history[-1]["previous"] if history else None
        if not previous:
            raise StoreError(f"{current} has no earlier current version to roll back to")
        return self.promote(previous, reason=f"rollback from {current}")

    def gc_staging(self) -> list[Path]:
        """Remove staging directories left by publishes that crashed."""
        stale = sorted(self.root.glob(f"{_STAGING_PREFIX}*")) if self.root.exists() else []
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return stale

    # -- reading ---------------------------------------------------------------------------
    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir() if p.is_dir())

    def held(self) -> list[str]:
        """Versions trained but not published (their ONNX export was refused)."""
        if not self.held_dir.is_dir():
            return []
        return sorted(p.name for p in self.held_dir.iterdir() if p.is_dir())

    def resolve_held(self, ref: str) -> str:
        self.check()
        matches = [v for v in self.held() if v == ref] or [v for v in self.held() if v.startswith(ref)]
        if len(matches) != 1:
            published = " (it is published already)" if ref in self.versions() else ""
            what = "no" if not matches else "more than one"
            raise StoreError(f"{what} held version of {self.root} matches {ref!r}{published}")
        return matches[0]

    def verify_held(self, ref: str) -> Path:
        return self._verify_dir(self.held_dir / self.resolve_held(ref))

    def held_manifest(self, ref: str) -> Manifest:
        return self._read_manifest(self.verify_held(ref))

    def current(self) -> str | None:
        try:
            text = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def promotions(self) -> list[dict[str, Any]]:
        try:
            lines = (self.root / PROMOTIONS_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def resolve(self, ref: str = "current") -> str:
        """``current``, ``latest`` or a version id (a unique prefix will do) to a version id."""
        self.check()
        versions = self.versions()
        if ref == "current":
            current = self.current()
            if current is None:
                if not versions:
                    raise StoreError(f"{self.root} holds no model yet: train one with `logsentry train`")
                raise StoreError(f"no version of {self.root} is current: promote one first")
            if current not in versions:
                raise CorruptArtifact(f"{self.root}: CURRENT names {current!r}, which is not in the store")
            return current
        if ref == "latest":
            if not versions:
                raise StoreError(f"no model has been published to {self.root}")
            return versions[-1]
        matches = [v for v in versions if v == ref] or [v for v in versions if v.startswith(ref)]
        if len(matches) != 1:
            what = "no" if not matches else "more than one"
            raise StoreError(f"{what} version of {self.root} matches {ref!r}")
        return matches[0]

    def path(self, ref: str = "current") -> Path:
        return self.versions_dir / self.resolve(ref)

    def verify(self, ref: str = "current") -> Path:
        """Check every file of a version against its checksums; return the version's path."""
        return self._verify_dir(self.path(ref))

    def _verify_dir(self, path: Path) -> Path:
        try:
            sums = json.loads((path / CHECKSUMS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptArtifact(f"{path.name}: cannot read {CHECKSUMS_FILE}: {exc}") from None
        for required in (MODEL_FILE, MANIFEST_FILE):
            if required not in sums:
                raise CorruptArtifact(f"{path.name}: {CHECKSUMS_FILE} does not cover {required}")
        for name, expected in sums.items():
            file = path / name
            if not file.is_file():
                raise CorruptArtifact(f"{path.name}: {name} is missing")
            if file_sha256(file) != expected:
                raise CorruptArtifact(f"{path.name}: {name} does not match its checksum")
        return path

    def manifest(self, ref: str = "current", *, verify: bool = True) -> Manifest:
        return self._read_manifest(self.verify(ref) if verify else self.path(ref))

    def _read_manifest(self, path: Path) -> Manifest:
        try:
            data = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptArtifact(f"{path.name}: cannot read {MANIFEST_FILE}: {exc}") from None
        try:
            return Manifest.from_dict(data)
        except StoreError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptArtifact(f"{path.name}: {MANIFEST_FILE} is not a valid manifest ({exc!r})") from None

    def info(self) -> list[VersionInfo]:
        self.check()
        current = self.current()
        out = []
        for version in self.versions():
            try:
                manifest = self.manifest(version, verify=False)
            except StoreError as exc:
                log.warning("unreadable version=%s error=%s", version, exc)
                continue
            out.append(VersionInfo(version, self.versions_dir / version, manifest, version == current))
        return out
