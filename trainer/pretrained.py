"""Build the pretrained model that ships in ``model_store/pretrained/`` (``make pretrained``).

    python -m logsentry.trainer.pretrained --data ../shared/data/fwaf-access.csv

Trains the default recipe (``logsentry train --data F`` with no other flags: the reference
data, generated traffic of many sites and the public corpus of ``bench/data``, seed 42,
deterministic ops) into a scratch store and copies the one version, with its checksums,
manifest (data file and corpus file hashes, augmentation, figures) and report, into the
package's bundled store, replacing what was there. The result is committed: it is the one
generated artifact kept in git.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from logsentry.model_store.bundled import BUNDLED_ROOT
from logsentry.model_store.store import CURRENT_FILE, ModelStore
from logsentry.trainer.corpus import default_corpus
from logsentry.trainer.settings import TrainSettings

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024  # the package carries it: a few MiB at most


def build(data: tuple[Path, ...], out: Path = BUNDLED_ROOT) -> str:
    from logsentry.trainer.training import train

    corpus = default_corpus()
    if corpus is None:
        raise SystemExit("the pretrained model is built from a checkout: its bench/data holds the public corpus")
    with tempfile.TemporaryDirectory() as scratch:
        result = train(TrainSettings(data=data, store=Path(scratch), verbose=0, corpus=corpus))
        source = ModelStore(scratch).verify(result.version)
        size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
        if size > MAX_BYTES:
            raise SystemExit(f"the pretrained model is {size / 2**20:.1f} MiB, above the {MAX_BYTES >> 20} MiB cap")
        if out.exists():
            shutil.rmtree(out)
        (out / "versions").mkdir(parents=True)
        shutil.copytree(source, out / "versions" / result.version)
        (out / CURRENT_FILE).write_text(result.version + "\n", encoding="utf-8")
    ModelStore(out).verify()
    log.info("bundled %s (%.0f KiB) in %s", result.version, size / 1024, out)
    return result.version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="the reference labelled CSV file(s)")
    parser.add_argument("--out", type=Path, default=BUNDLED_ROOT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    version = build(tuple(args.data), args.out)
    print(f"bundled pretrained model {version} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
