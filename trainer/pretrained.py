"""Build the pretrained model that ships in ``model_store/pretrained/`` (``make pretrained``).

    python -m logsentry.trainer.pretrained --data ../shared/data/fwaf-access.csv

Trains the default recipe (``logsentry train --data F`` with no other flags: the reference
data, generated traffic of many sites and the public corpus of ``bench/data``, seed 42,
deterministic ops) into a scratch store and copies the one version, with its checksums,
manifest (data file and corpus file hashes, augmentation, figures) and report, into the
package's bundled store, replacing what was there. The result is committed: it is the one
generated artifact kept in git.

    python -m logsentry.trainer.pretrained --reexport --data ../shared/data/fwaf-access.csv

exports the bundled version's network again with today's exporter (:mod:`trainer.onnx_export`)
and nothing else: the same weights, threshold, figures and version; the export checked against
its Keras model, as at publish, on the requests of ``--data`` (the manifest's ``onnx`` entry
says so), and the version sealed anew.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from logsentry.model_store.bundled import BUNDLED_ROOT
from logsentry.model_store.store import CURRENT_FILE, MODEL_FILE, ModelStore, seal
from logsentry.trainer.corpus import default_corpus
from logsentry.trainer.settings import TrainSettings

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024  # the package carries it: a few MiB at most
CHECK_ROWS = 20_000  # requests a re-export is checked on (training checks on validation texts)


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


def reexport(data: tuple[Path, ...], out: Path = BUNDLED_ROOT) -> dict[str, Any]:
    """Replace the bundled version's ``model.onnx`` by today's export of its ``model.keras``,
    checked against it on the requests of ``data``; returns the manifest's new ``onnx`` entry."""
    from logsentry.model_store.model.onnx_runtime import ONNX_FILE
    from logsentry.model_store.model.scoring import Detector
    from logsentry.model_store.model.tensorflow_runtime import KerasInference, load_keras_model
    from logsentry.trainer.data import read_labelled_csv
    from logsentry.trainer.onnx_export import export_checked

    store = ModelStore(out)
    version = store.resolve()
    path = store.verify(version)
    manifest = store.manifest(version)
    preprocessing = manifest.preprocessing
    texts = preprocessing.texts([e for p in data for e in read_labelled_csv(p).events])[:CHECK_ROWS]
    model = load_keras_model(path / MODEL_FILE)
    keras = KerasInference(model, variable_length=manifest.variable_length, max_len=preprocessing.tokenizer.max_len)
    scores = Detector(keras, preprocessing).score_texts(texts)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / version
        shutil.copytree(path, work)
        (work / ONNX_FILE).unlink(missing_ok=True)
        entry = export_checked(
            model,
            work,
            preprocessing,
            variable_length=manifest.variable_length,
            texts=texts,
            scores=scores,
            threshold=manifest.threshold,
        )
        entry["checked_on"] = f"{', '.join(p.name for p in data)} (re-export of the published version)"
        seal(work, replace(manifest, onnx=entry))
        shutil.rmtree(path)
        shutil.copytree(work, path)
    ModelStore(out).verify()
    log.info("re-exported %s: %s", version, entry["converter"])
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="the reference labelled CSV file(s)")
    parser.add_argument("--out", type=Path, default=BUNDLED_ROOT)
    parser.add_argument("--reexport", action="store_true", help="only export the bundled version's network again")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.reexport:
        entry = reexport(tuple(args.data), args.out)
        print(f"re-exported the bundled model with {entry['converter']}: {entry['max_logit_diff']:.2e} logit at most")
        return 0
    version = build(tuple(args.data), args.out)
    print(f"bundled pretrained model {version} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
