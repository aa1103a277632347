"""Train a model version from labelled CSV logs and publish it to the model store.

The protocol follows the reference: a 75/25 train/test split (``train_test_split``,
``random_state=42``), of the training part the last 25 % held out for validation (what
Keras' ``validation_split`` does), then the architecture's epochs and batch size. The
alert threshold is chosen on the validation part; the test part is touched only for the
final figures. Evaluation scores go through :class:`model_store.scoring.Detector`, the
same code the stream runs.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.model_store.errors import ConfigError, DataError
from logsentry.model_store.manifest import Manifest, TrainingData
from logsentry.model_store.preprocessing import CharTokenizer, CleanupSpec, Preprocessing, observed_fields
from logsentry.model_store.store import MODEL_FILE, ModelStore, file_sha256
from logsentry.model_store.tensorflow_runtime import KerasInference, tensorflow
from logsentry.trainer.architectures import get_architecture
from logsentry.trainer.data import LabelledLogs, concat_logs, join_families, read_training_data
from logsentry.trainer.evaluation import Evaluation, choose_threshold, evaluate
from logsentry.trainer.onnx_export import export_checked
from logsentry.trainer.report import write_report
from logsentry.trainer.settings import DEFAULT_BUCKETS, TrainSettings, augment_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class TrainResult:
    version: str
    manifest: Manifest
    evaluations: dict[str, Evaluation]
    train_seconds: float


def split_indices(n: int, *, test_size: float, validation_split: float, seed: int) -> Split:
    from sklearn.model_selection import train_test_split

    if not (0 < test_size < 1 and 0 < validation_split < 1):
        raise ConfigError("test_size and validation_split must lie strictly between 0 and 1")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    cut = int(len(train) * (1 - validation_split))  # Keras takes the *last* part
    return Split(train=train[:cut], validation=train[cut:], test=test)


def batches(
    tokenizer: CharTokenizer,
    texts: list[str],
    labels: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches that each share one bucket width; shuffled within and across buckets."""
    encoded = tokenizer.encode_buckets(texts, windows=False)  # a window of filler is no attack example
    plan: list[tuple[int, np.ndarray]] = []
    for b, bucket in enumerate(encoded):
        order = rng.permutation(len(bucket.rows)) if rng is not None else np.arange(len(bucket.rows))
        plan += [(b, order[i : i + batch_size]) for i in range(0, len(order), batch_size)]
    if rng is not None:
        plan = [plan[i] for i in rng.permutation(len(plan))]
    for b, take in plan:
        bucket = encoded[b]
        yield bucket.ids[take], labels[bucket.rows[take]].astype(np.float32)


def _dataset(tokenizer: CharTokenizer, texts: list[str], labels: np.ndarray, batch_size: int, seed: int | None) -> Any:
    tf = tensorflow()

    rng = np.random.default_rng(seed) if seed is not None else None
    widths = tokenizer.bucket_width(tokenizer.lengths(texts))
    steps = int(sum(-(-count // batch_size) for count in np.unique(widths, return_counts=True)[1]))

    def generate() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from batches(tokenizer, texts, labels, batch_size, rng)  # new order each epoch

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec((None, None), tf.int32),
            tf.TensorSpec((None,), tf.float32),
        ),
    )
    return dataset.apply(tf.data.experimental.assert_cardinality(steps))


TRAINING_SITES = tuple(range(1000, 1020))  # generated sites mixed into training; benchmarks test on others


def augment(logs: LabelledLogs, split: Split, settings: TrainSettings) -> tuple[LabelledLogs, Split]:
    """Add ``settings.augment`` requests of many generated sites to the training and validation parts.

    The test part stays the user's data alone, so its figures keep their meaning; the
    validation part, where the threshold is chosen, gets its share of other sites' ordinary
    requests, so the alert budget holds beyond the one site the data came from.
    """
    from logsentry.trainer.sites import site_traffic

    rows = augment_rows(settings.augment, len(logs.events))
    generated = list(site_traffic(list(TRAINING_SITES), rows, seed=settings.seed, attack_share=0.5))
    start = len(logs.events)
    added = np.arange(start, start + len(generated))
    cut = int(len(added) * (1 - settings.validation_split))
    combined = LabelledLogs(
        events=[*logs.events, *(e for e, _, _ in generated)],
        labels=np.concatenate([logs.labels, np.asarray([y for _, y, _ in generated], dtype=np.int8)]),
        lines=np.concatenate([logs.lines, np.zeros(len(generated), dtype=np.int64)]),
        rows_read=logs.rows_read,
        rejected=logs.rejected,
        sha256=logs.sha256,
        families=join_families(
            [
                (logs.families, len(logs.events)),
                (np.asarray([f for _, _, f in generated], dtype=object), len(generated)),
            ]
        ),
    )
    log.info("augmented with %d generated requests of %d sites", len(generated), len(TRAINING_SITES))
    return combined, Split(
        train=np.concatenate([split.train, added[:cut]]),
        validation=np.concatenate([split.validation, added[cut:]]),
        test=split.test,
    )


FEEDBACK_WEIGHT = 20  # copies of each analyst verdict in the training part: one request must outweigh its look-alikes


def fold_feedback(
    logs: LabelledLogs, split: Split, feedback: Sequence[tuple[dict[str, Any], int]]
) -> tuple[LabelledLogs, Split]:
    """Add the analysts' verdicts (event, label) to the training part, ``FEEDBACK_WEIGHT`` times each.

    A cleared false positive becomes a hard negative the model sees many times; a confirmed
    attack a hard positive. Validation and test stay as they were, so the threshold and the
    figures keep their meaning (and show whether the feedback cost anything elsewhere).
    """
    start = len(logs.events)
    added = np.arange(start, start + len(feedback))
    combined = LabelledLogs(
        events=[*logs.events, *(event for event, _ in feedback)],
        labels=np.concatenate([logs.labels, np.asarray([label for _, label in feedback], dtype=np.int8)]),
        lines=np.concatenate([logs.lines, np.zeros(len(feedback), dtype=np.int64)]),
        rows_read=logs.rows_read,
        rejected=logs.rejected,
        sha256=logs.sha256,
        families=join_families([(logs.families, len(logs.events)), (None, len(feedback))]),
    )
    log.info("folded in %d analyst verdicts, %d times each", len(feedback), FEEDBACK_WEIGHT)
    return combined, Split(
        train=np.concatenate([split.train, np.repeat(added, FEEDBACK_WEIGHT)]),
        validation=split.validation,
        test=split.test,
    )


def data_files(paths: tuple[Path, ...]) -> list[dict[str, str]]:
    """Name and SHA-256 of each training file, so a model can be traced to its exact data."""
    return [{"name": path.name, "sha256": file_sha256(path)} for path in paths]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("logsentry", "tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def prepare(logs: LabelledLogs, settings: TrainSettings, train_rows: np.ndarray) -> Preprocessing:
    """Fit the preprocessing on the training rows only."""
    variable = get_architecture(settings.architecture).variable_length
    base = CleanupSpec()
    cleanup = CleanupSpec(
        drop_fields=base.drop_fields,
        keep_fields=observed_fields((logs.events[i] for i in train_rows), base),
    )
    probe = Preprocessing(CharTokenizer(""), cleanup)
    tokenizer = CharTokenizer.fit(
        probe.texts(logs.events[i] for i in train_rows),
        max_len=settings.max_len,
        oov=settings.oov,
        buckets=(*tuple(b for b in DEFAULT_BUCKETS if b < settings.max_len), settings.max_len) if variable else (),
    )
    return Preprocessing(tokenizer, cleanup)


def train(settings: TrainSettings, feedback: Sequence[tuple[dict[str, Any], int]] = ()) -> TrainResult:
    """Train, evaluate and publish; ``feedback`` holds analysts' verdicts (event, label) to fold in."""
    tf = tensorflow()
    import keras

    from logsentry.model_store.scoring import Detector

    arch = get_architecture(settings.architecture)
    epochs = settings.epochs or arch.default_epochs
    batch_size = settings.batch_size or arch.default_batch_size
    parts = []
    if settings.data:
        parts.append(
            read_training_data(settings.data, strict=settings.strict, fmt=settings.input_format, label=settings.label)
        )
    screened: list[dict[str, Any]] = []
    disputed: list[dict[str, Any]] = []
    if settings.benign:
        from logsentry.model_store.bundled import load_serving_detector
        from logsentry.trainer.site_data import site_training_data

        site = site_training_data(
            settings.benign,
            screen=load_serving_detector(ModelStore(settings.store)),
            seed=settings.seed,
            fmt=settings.input_format,
            strict=settings.strict,
        )
        parts.append(site.logs)
        screened = site.screened
        disputed = site.disputed_routes
    logs = concat_logs(parts)
    if len(np.unique(logs.labels)) < 2:
        names = ", ".join(str(p) for p in settings.data)
        raise DataError(f"{names}: training needs both labels, found only {np.unique(logs.labels).tolist()}")
    split = split_indices(
        len(logs.events),
        test_size=settings.test_size,
        validation_split=settings.validation_split,
        seed=settings.seed,
    )
    augmented = augment_rows(settings.augment, len(logs.events))
    if augmented:
        logs, split = augment(logs, split, settings)
    if feedback:
        logs, split = fold_feedback(logs, split, feedback)
    train_rows = np.concatenate([split.train, split.validation])
    preprocessing = prepare(logs, settings, train_rows)
    tokenizer = preprocessing.tokenizer
    texts = preprocessing.texts(logs.events)
    labels = logs.labels
    log.info(
        "training architecture=%s epochs=%d batch_size=%d train=%d validation=%d test=%d vocabulary=%d",
        arch.name,
        epochs,
        batch_size,
        len(split.train),
        len(split.validation),
        len(split.test),
        len(tokenizer.vocabulary),
    )

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    model = arch.build(tokenizer.input_dim, settings.max_len)

    def subset(rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        return [texts[i] for i in rows], labels[rows]

    train_texts, train_labels = subset(split.train)
    val_texts, val_labels = subset(split.validation)
    test_texts, test_labels = subset(split.test)
    started = time.perf_counter()
    model.fit(
        _dataset(tokenizer, train_texts, train_labels, batch_size, settings.seed),
        validation_data=_dataset(tokenizer, val_texts, val_labels, 512, None),
        epochs=epochs,
        shuffle=False,  # the dataset shuffles itself, by bucket
        verbose=settings.verbose,
    )
    train_seconds = time.perf_counter() - started

    detector = Detector(
        KerasInference(model, variable_length=arch.variable_length, max_len=preprocessing.tokenizer.max_len),
        preprocessing,
    )
    val_scores = detector.score_texts(val_texts)
    threshold = choose_threshold(val_labels, val_scores, settings.threshold_rule)
    test_scores = detector.score_texts(test_texts)
    families = logs.families
    evaluations = {
        "validation": evaluate(
            val_labels, val_scores, threshold, None if families is None else families[split.validation]
        ),
        "test": evaluate(test_labels, test_scores, threshold, None if families is None else families[split.test]),
    }
    log.info(
        "evaluated threshold=%.4f test_accuracy=%.4f test_f1=%.4f",
        threshold,
        evaluations["test"].accuracy,
        evaluations["test"].f1,
    )

    hyperparameters = {
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": settings.seed,
        "test_size": settings.test_size,
        "validation_split": settings.validation_split,
        "augment": augmented,
        "augment_sites": list(TRAINING_SITES) if augmented else [],
        "benign_files": [p.name for p in settings.benign],
        "benign_screened_out": len(screened),
        "benign_disputed_routes": disputed,
        "feedback": {
            "benign": sum(1 for _, label in feedback if label == 0),
            "attack": sum(1 for _, label in feedback if label == 1),
            "weight": FEEDBACK_WEIGHT if feedback else 0,
        },
        "description": arch.description,
    }
    store = ModelStore(settings.store)
    with store.new_version() as draft:
        model.save(draft.path / MODEL_FILE)
        onnx = export_checked(
            model,
            draft.path,
            preprocessing,
            variable_length=arch.variable_length,
            texts=val_texts,
            scores=val_scores,
            threshold=threshold,
        )
        write_report(
            draft.path / "report",
            version=draft.version,
            architecture=arch.name,
            evaluations=evaluations,
            test_labels=test_labels,
            test_scores=test_scores,
            training={
                **hyperparameters,
                "threshold_rule": settings.threshold_rule,
                "train_seconds": train_seconds,
                "input_format": str(settings.input_format),
                "data": ", ".join(p.name for p in settings.data) + f" ({logs.rows_read:,} rows read in all)",
            },
        )
        if settings.benign:
            with (draft.path / "report" / "screened.jsonl").open("w", encoding="utf-8") as handle:
                for row in screened:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        draft.manifest = Manifest(
            version=draft.version,
            created_at=draft.created_at,
            architecture=arch.name,
            variable_length=arch.variable_length,
            parameters=int(model.count_params()),
            hyperparameters=hyperparameters,
            preprocessing=preprocessing,
            threshold=threshold,
            threshold_rule=settings.threshold_rule,
            evaluation={k: v.to_dict() for k, v in evaluations.items()} | {"train_seconds": round(train_seconds, 2)},
            training_data=TrainingData(
                name=",".join(p.name for p in (*settings.data, *settings.benign)),
                sha256=logs.sha256,
                rows_read=logs.rows_read,
                rows_used=len(logs.events),
                rows_rejected=len(logs.rejected),
            ),
            library_versions=library_versions(),
            extra={"data_files": data_files((*settings.data, *settings.benign))},
            onnx=onnx,
        )
        manifest = draft.manifest
    if settings.promote:
        store.promote(manifest.version, reason="trained")
    return TrainResult(manifest.version, manifest, evaluations, train_seconds)
