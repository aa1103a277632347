"""Train a model version and publish it to the model store.

The rows come from labelled files (``--data``: plain or gzip, in any input format the stream
reads; ``--label`` labels log files that carry none), the offset ranges of a Kafka topic
(``--from-topic``) and a site's own logs (``--benign``: screened by the serving model,
attacks grafted into them); these are split together. Generated requests of other sites
(augmentation), the public corpus (``--corpus``) and analysts' verdicts (feedback) come with
parts of their own. Every pass streams the rows (:mod:`trainer.pipeline`), none holds them whole.

The split follows the reference: 75/25 train/test (``train_test_split``, ``random_state`` the
seed, 42 by default), of the training part the last 25 % held out for validation (what Keras'
``validation_split`` does), then the architecture's epochs and batch size. The alert
threshold is chosen on the validation part; the test part is touched only for the final
figures. Evaluation scores go through :class:`model_store.model.scoring.Detector`, the same
code the stream runs.

:func:`train` is the sequence of its steps: the recipe, assemble the inputs, fit, evaluate,
record, export and publish; worker 0 of several runs them all, the others stop after fitting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.errors import DataError, ExportMismatch
from logsentry.model_store.manifest import Manifest, TrainingData, keras_only_entry
from logsentry.model_store.model.preprocessing import Preprocessing, Units
from logsentry.model_store.model.tensorflow_runtime import KerasInference, tensorflow
from logsentry.model_store.store import MODEL_FILE, Draft, ModelStore, file_sha256
from logsentry.trainer.architectures import Architecture, effective_schedule, get_architecture
from logsentry.trainer.data import LabelledLogs
from logsentry.trainer.distributed import Epoch, Role, fit, strategy_for, weights_digest
from logsentry.trainer.distributed import write_report as write_worker_report
from logsentry.trainer.evaluation import Evaluation, choose_threshold, evaluate
from logsentry.trainer.onnx_export import export_checked, write_check_sample
from logsentry.trainer.pipeline import (
    TEST,
    TRAIN,
    VALIDATION,
    Plan,
    Scan,
    count_rows,
    fit_preprocessing,
    peak_rss_mb,
    scan,
    score_parts,
    training_dataset,
)
from logsentry.trainer.progress import PassStats
from logsentry.trainer.report import write_report
from logsentry.trainer.settings import DEFAULT_BUCKETS, TrainSettings, augment_rows
from logsentry.trainer.site_data import SiteData
from logsentry.trainer.sources import MemoryShard, Shard, file_shards, files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    version: str  # "" on a worker other than the chief, which publishes nothing
    manifest: Manifest | None
    evaluations: dict[str, Evaluation]
    train_seconds: float

    def summary(self, settings: TrainSettings, role: Role, feedback: int = 0) -> str:
        """The one line ``logsentry train`` ends with: what was published where, and how it scored."""
        test = self.evaluations["test"]
        return (
            f"published {self.version} ({settings.architecture}) to {settings.store}: "
            f"test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}, threshold {test.threshold:.4f}, "
            f"trained in {self.train_seconds:.1f} s"
            + (f" on {role.count} workers" if role.count > 1 else "")
            + ("" if settings.promote else " (not promoted)")
            + (f"; {feedback} analyst verdicts folded in" if feedback else "")
        )


TRAINING_SITES = tuple(range(1000, 1020))  # generated sites mixed into training; benchmarks test on others


ONE_WORKER = Role()
FEEDBACK_WEIGHT = 20  # copies of each analyst verdict in the training part: one request must outweigh its look-alikes


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


def length_buckets(settings: TrainSettings) -> tuple[int, ...]:
    """The padded widths of the architecture's batches: none for fixed-width models."""
    if not get_architecture(settings.architecture).variable_length:
        return ()
    max_len = settings.resolved_max_len
    return (*tuple(b for b in DEFAULT_BUCKETS if b < max_len), max_len)


def prepare(logs: LabelledLogs, settings: TrainSettings, train_rows: np.ndarray) -> Preprocessing:
    """Fit the preprocessing on ``train_rows`` of logs held in memory (the benchmarks' baselines),
    through the very first pass and fitting that training runs."""
    parts = np.full(len(logs.events), TEST, dtype=np.uint8)
    parts[train_rows] = TRAIN
    data = Plan((MemoryShard("in memory", logs.events, logs.labels.tolist()),), (parts,))
    buckets = length_buckets(settings)
    units, max_len = settings.resolved_units, settings.resolved_max_len
    found = scan(data, buckets=buckets, max_len=max_len, workers=1, batch_size=1, progress=False, units=units)
    return fit_preprocessing(found, max_len=max_len, oov=settings.oov, buckets=buckets, units=units)


def train(
    settings: TrainSettings,
    feedback: Sequence[tuple[dict[str, Any], int]] = (),
    *,
    topic: Sequence[Shard] = (),
    role: Role = ONE_WORKER,
) -> TrainResult:
    """Train, evaluate and publish; ``feedback`` holds analysts' verdicts (event, label) to fold in.

    ``topic`` holds the offset ranges of a Kafka topic to read as more rows; ``role`` is this
    process's place among several workers (worker 0 evaluates and publishes).
    """
    strategy = strategy_for(role)  # first: the multi-worker strategy must exist before other TensorFlow work
    recipe = _recipe(settings, role)
    started = time.perf_counter()
    assembled = _assemble_inputs(settings, recipe, feedback, topic)
    fitted = _fit(settings, recipe, assembled, strategy, role)
    if not role.chief:
        log.info("worker %d of %d done: weights %s", role.index, role.count, fitted.digest[:16])
        return TrainResult("", None, {}, fitted.seconds)
    evaluated = _evaluate(settings, recipe, assembled, fitted)
    record = _record(settings, recipe, assembled, fitted, evaluated, feedback, topic, started)
    manifest = _export_and_publish(settings, recipe, assembled, evaluated, record)
    return TrainResult(manifest.version, manifest, evaluated.evaluations, fitted.seconds)


@dataclass(frozen=True)
class Recipe:
    """What the settings and the number of workers fix before any row is read."""

    arch: Architecture
    epochs: int
    batch_size: int
    per_worker_batch: int  # the batch size split across the workers
    workers: int
    buckets: tuple[int, ...]
    units: Units
    max_len: int
    shows: bool  # progress bars


def _recipe(settings: TrainSettings, role: Role) -> Recipe:
    """The architecture, epochs, batch sizes, length buckets and units the run uses."""
    arch = get_architecture(settings.architecture)
    batch_size = settings.batch_size or arch.default_batch_size
    return Recipe(
        arch=arch,
        epochs=settings.epochs or arch.default_epochs,
        batch_size=batch_size,
        per_worker_batch=-(-batch_size // role.count),
        workers=role.count,
        buckets=length_buckets(settings),
        units=settings.resolved_units,
        max_len=settings.resolved_max_len,
        shows=settings.verbose > 0,
    )


@dataclass(frozen=True)
class Assembled:
    """Every shard with the part of each row, and what the first passes learnt of them."""

    data: Plan
    site: SiteData | None  # the site's own logs, screened (--benign)
    added: Added
    counting: PassStats
    found: Scan
    preprocessing: Preprocessing


def _assemble_inputs(
    settings: TrainSettings, recipe: Recipe, feedback: Sequence[tuple[dict[str, Any], int]], topic: Sequence[Shard]
) -> Assembled:
    """Step 1: the shards, split into parts (count pass); the vocabulary and length buckets (scan pass)."""
    split, site = _source_shards(settings, topic)
    counted, counting = count_rows(split, progress=recipe.shows)
    added = _added_shards(settings, sum(counted), feedback)
    data = Plan.build(
        split,
        counted,
        added.shards,
        test_size=settings.test_size,
        validation_split=settings.validation_split,
        seed=settings.seed,
        strict=settings.strict,
    )
    found = scan(
        data,
        buckets=recipe.buckets,
        max_len=recipe.max_len,
        workers=recipe.workers,
        batch_size=recipe.per_worker_batch,
        progress=recipe.shows,
        units=recipe.units,
    )
    _check_trainable(found, settings, topic)
    preprocessing = fit_preprocessing(
        found, max_len=recipe.max_len, oov=settings.oov, buckets=recipe.buckets, units=recipe.units
    )
    return Assembled(data, site, added, counting, found, preprocessing)


def _source_shards(settings: TrainSettings, topic: Sequence[Shard]) -> tuple[list[Shard], SiteData | None]:
    """The shards split 75/25 together: the labelled files, the topic's range, the screened site logs."""
    shards: list[Shard] = list(file_shards(settings.data, fmt=settings.input_format, label=settings.label))
    shards += topic
    site = None
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
        shards.append(
            MemoryShard(
                "site logs",
                site.logs.events,
                site.logs.labels.tolist(),
                None if site.logs.families is None else site.logs.families.tolist(),
            )
        )
    return shards, site


@dataclass(frozen=True)
class Added:
    """Rows with parts of their own, and what the manifest says of them."""

    shards: list[tuple[Shard, np.ndarray]]
    generated: int
    corpus: dict[str, Any]


def _added_shards(settings: TrainSettings, user_rows: int, feedback: Sequence[tuple[dict[str, Any], int]]) -> Added:
    """Rows with parts of their own: other sites' generated requests, the public corpus, the analysts' verdicts."""
    from logsentry.trainer.sites import site_traffic

    added: list[tuple[Shard, np.ndarray]] = []
    rows = augment_rows(settings.augment, user_rows)
    generated = list(site_traffic(list(TRAINING_SITES), rows, seed=settings.seed, attack_share=0.5)) if rows else []
    if generated:
        cut = int(len(generated) * (1 - settings.validation_split))
        parts = np.full(len(generated), VALIDATION, dtype=np.uint8)
        parts[:cut] = TRAIN
        shard = MemoryShard(
            "generated sites", [e for e, _, _ in generated], [y for _, y, _ in generated], [f for _, _, f in generated]
        )
        added.append((shard, parts))
        log.info("augmented with %d generated requests of %d sites", len(generated), len(TRAINING_SITES))
    corpus: dict[str, Any] = {}
    if settings.corpus is not None:
        from logsentry.trainer.corpus import Corpus, corpus_rows

        source = Corpus(settings.corpus)
        hosts = [e for e, y, _ in generated if y == 0]
        read = corpus_rows(source, seed=settings.seed, benign_values=settings.corpus_values, hosts=hosts)
        for name, part, rows_of in (
            ("corpus training", TRAIN, read.train),
            ("corpus validation", VALIDATION, read.validation),
        ):
            events, labels, families = (
                [e for e, _, _ in rows_of],
                [y for _, y, _ in rows_of],
                [f for _, _, f in rows_of],
            )
            added.append((MemoryShard(name, events, labels, families), np.full(len(rows_of), part, dtype=np.uint8)))
        log.info("public corpus: %s", read.summary())
        corpus = {"summary": read.summary(), "files": source.files()}
    if feedback:
        events = [event for event, _ in feedback for _ in range(FEEDBACK_WEIGHT)]
        labels = [label for _, label in feedback for _ in range(FEEDBACK_WEIGHT)]
        added.append((MemoryShard("analyst verdicts", events, labels), np.full(len(events), TRAIN, dtype=np.uint8)))
        log.info("folded in %d analyst verdicts, %d times each", len(feedback), FEEDBACK_WEIGHT)
    return Added(added, len(generated), corpus)


def _check_trainable(found: Scan, settings: TrainSettings, topic: Sequence[Shard]) -> None:
    """Refuse data with no usable row, or whose training part lacks one of the labels."""
    trained_labels = found.labels["train"]
    if not found.records:
        raise DataError(f"{_names(settings, topic)}: no usable rows ({found.rows_refused} refused)")
    if trained_labels[0] == 0 or trained_labels[1] == 0:
        raise DataError(
            f"{_names(settings, topic)}: training needs both labels, found only "
            f"{[label for label in (0, 1) if trained_labels[label]]}"
        )


@dataclass(frozen=True)
class Fitted:
    """The model as this worker trained it, and how the epochs went."""

    model: Any  # built under the strategy
    history: list[Epoch]
    steps: int  # per epoch
    digest: str  # of the weights: the same on every worker

    @property
    def seconds(self) -> float:
        return sum(e.seconds for e in self.history)


def _fit(settings: TrainSettings, recipe: Recipe, assembled: Assembled, strategy: Any, role: Role) -> Fitted:
    """Step 2: the model built from the seed and trained on this worker's share of the training rows."""
    tf = tensorflow()
    import keras

    found, tokenizer = assembled.found, assembled.preprocessing.tokenizer
    steps = found.steps(role.count, recipe.per_worker_batch)
    log.info(
        "training architecture=%s epochs=%d batch_size=%d steps=%d workers=%d train=%d validation=%d test=%d "
        "vocabulary=%d",
        recipe.arch.name,
        recipe.epochs,
        recipe.batch_size,
        steps,
        role.count,
        sum(found.labels["train"].values()),
        sum(found.labels["validation"].values()),
        sum(found.labels["test"].values()),
        len(tokenizer.vocabulary),
    )

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    with strategy.scope():
        model = recipe.arch.build(
            tokenizer.input_dim, recipe.max_len, total_steps=recipe.epochs * steps, schedule=settings.schedule
        )
    history = fit(
        model,
        lambda worker, workers: training_dataset(
            assembled.data,
            assembled.preprocessing,
            batch_size=recipe.per_worker_batch,
            worker=worker,
            workers=workers,
            shuffle_buffer=settings.shuffle_buffer,
            seed=settings.seed,
        ),
        strategy=strategy,
        epochs=recipe.epochs,
        steps=steps,
        per_worker_batch=recipe.per_worker_batch,
        progress=recipe.shows,
    )
    fitted = Fitted(model, history, steps, weights_digest(model.get_weights()))
    if settings.worker_report is not None:
        write_worker_report(
            settings.worker_report,
            role,
            {
                "weights_sha256": fitted.digest,
                "steps_per_epoch": steps,
                "epochs": [asdict(e) for e in history],
                "peak_rss_mb": round(peak_rss_mb(), 1),
            },
        )
    return fitted


@dataclass(frozen=True)
class Evaluated:
    """The trained model as it is saved, its threshold and figures, and the sample its export is checked on."""

    trained: Any  # built out of the strategy: saved and exported as is
    threshold: float
    evaluations: dict[str, Evaluation]
    test_labels: np.ndarray
    test_scores: np.ndarray
    sample: list[str]  # validation texts
    sample_scores: np.ndarray  # their scores through Keras
    seconds: float


def _evaluate(settings: TrainSettings, recipe: Recipe, assembled: Assembled, fitted: Fitted) -> Evaluated:
    """Step 3: validation and test rows scored by the serving code; the threshold chosen on validation."""
    from logsentry.model_store.model.scoring import Detector

    tokenizer, labels = assembled.preprocessing.tokenizer, assembled.found.labels
    trained = recipe.arch.build(tokenizer.input_dim, recipe.max_len)
    trained.set_weights(fitted.model.get_weights())
    detector = Detector(
        KerasInference(trained, variable_length=recipe.arch.variable_length, max_len=tokenizer.max_len),
        assembled.preprocessing,
    )
    to_score = sum(labels["validation"].values()) + sum(labels["test"].values())
    scored_from = time.perf_counter()
    scored = score_parts(assembled.data, detector, progress=recipe.shows, total=to_score)
    seconds = time.perf_counter() - scored_from
    val_scores, val_labels, val_families = scored[VALIDATION].arrays()
    test_scores, test_labels, test_families = scored[TEST].arrays()
    causes = scored[VALIDATION].causes
    threshold = choose_threshold(val_labels, val_scores, settings.threshold_rule, causes)
    evaluations = {
        "validation": evaluate(val_labels, val_scores, threshold, val_families, causes),
        "test": evaluate(test_labels, test_scores, threshold, test_families),
    }
    log.info(
        "evaluated threshold=%.4f test_accuracy=%.4f test_f1=%.4f",
        threshold,
        evaluations["test"].accuracy,
        evaluations["test"].f1,
    )
    sample = scored[VALIDATION].texts
    return Evaluated(
        trained, threshold, evaluations, test_labels, test_scores, sample, val_scores[: len(sample)], seconds
    )


@dataclass(frozen=True)
class Record:
    """What the report and the manifest say of a run besides the model: its recipe, data and times."""

    hyperparameters: dict[str, Any]
    pipeline: dict[str, Any]
    train_seconds: float
    data_files: list[dict[str, str]]
    training_data: TrainingData


def _record(
    settings: TrainSettings,
    recipe: Recipe,
    assembled: Assembled,
    fitted: Fitted,
    evaluated: Evaluated,
    feedback: Sequence[tuple[dict[str, Any], int]],
    topic: Sequence[Shard],
    started: float,
) -> Record:
    """Step 4: the figures of the passes (times taken up to now), the recipe and the data's digests."""
    pipeline = _pipeline_figures(settings, recipe, assembled, fitted, evaluated, started)
    hyperparameters = _hyperparameters(settings, recipe, assembled, feedback, topic, fitted.steps)
    read = data_files(tuple(files([*settings.data, *settings.benign])))  # each file hashed once
    found = assembled.found
    training_data = TrainingData(
        name=_names(settings, topic),
        sha256=_data_digest(read, topic),
        rows_read=found.rows_read,
        rows_used=found.records,
        rows_rejected=found.rows_refused,
    )
    return Record(hyperparameters, pipeline, fitted.seconds, read, training_data)


def _pipeline_figures(
    settings: TrainSettings, recipe: Recipe, assembled: Assembled, fitted: Fitted, evaluated: Evaluated, started: float
) -> dict[str, Any]:
    """The passes' rows, times and memory (the manifest's and report's ``pipeline``)."""
    found = assembled.found
    return {
        **found.to_dict(),
        "workers": recipe.workers,
        "weights_sha256": fitted.digest,
        "steps_per_epoch": fitted.steps,
        "shuffle_buffer": settings.shuffle_buffer,
        "seconds": {
            "count": round(assembled.counting.seconds, 2),
            "scan": round(found.stats.seconds if found.stats else 0.0, 2),
            "epochs": [round(e.seconds, 2) for e in fitted.history],
            "evaluate": round(evaluated.seconds, 2),
            "total_before_export": round(time.perf_counter() - started, 2),
        },
        "epoch_loss": [round(e.loss, 5) for e in fitted.history],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _hyperparameters(
    settings: TrainSettings,
    recipe: Recipe,
    assembled: Assembled,
    feedback: Sequence[tuple[dict[str, Any], int]],
    topic: Sequence[Shard],
    fitted_steps: int,
) -> dict[str, Any]:
    """The manifest's ``hyperparameters``: the recipe, and what was mixed into the data."""
    added, site = assembled.added, assembled.site
    return {
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "schedule": (
            effective_schedule(recipe.epochs * fitted_steps, settings.schedule)
            if recipe.arch.name.startswith("conv-lstm")
            else "reference"
        ),
        "seed": settings.seed,
        "test_size": settings.test_size,
        "validation_split": settings.validation_split,
        "units": recipe.units,
        "augment": added.generated,
        "augment_sites": list(TRAINING_SITES) if added.generated else [],
        "corpus": added.corpus.get("summary", ""),
        "benign_files": [p.name for p in settings.benign],
        "benign_screened_out": len(site.screened) if site else 0,
        "benign_disputed_routes": site.disputed_routes if site else [],
        "topic_ranges": [shard.name for shard in topic],
        "feedback": {
            "benign": sum(1 for _, label in feedback if label == 0),
            "attack": sum(1 for _, label in feedback if label == 1),
            "weight": FEEDBACK_WEIGHT if feedback else 0,
        },
        "workers": recipe.workers,
        "description": recipe.arch.description,
    }


def _data_digest(inputs: Sequence[dict[str, str]], topic: Sequence[Shard]) -> str:
    """One SHA-256 over the input files' own digests (``data_files``) and the topic ranges read, in order."""
    names = [f["sha256"] for f in inputs] + [shard.name for shard in topic]
    return hashlib.sha256("".join(names).encode()).hexdigest()


def _export_and_publish(
    settings: TrainSettings, recipe: Recipe, assembled: Assembled, evaluated: Evaluated, record: Record
) -> Manifest:
    """Step 5: a new version (Keras model, checked ONNX export, report, manifest), then published or held."""
    store = ModelStore(settings.store)
    with store.new_version() as draft:
        evaluated.trained.save(draft.path / MODEL_FILE)
        onnx, refused = _export(
            evaluated.trained,
            draft,
            assembled.preprocessing,
            settings,
            recipe.arch.variable_length,
            evaluated.sample,
            evaluated.sample_scores,
            evaluated.threshold,
        )
        _write_report(draft, settings, recipe, evaluated, record, assembled.site)
        draft.manifest = _manifest(draft, settings, recipe, assembled, evaluated, record, onnx)
        manifest = draft.manifest
    if refused is not None:
        raise ExportMismatch(
            f"{refused}; version {manifest.version} is held, not published: "
            f"`logsentry models publish {manifest.version} --keras-only --store {settings.store}` publishes it served "
            f"by Keras, `logsentry models export {manifest.version} --store {settings.store}` re-runs only the export"
        )
    if settings.promote:
        store.promote(manifest.version, reason="trained")
    return manifest


def _export(
    trained: Any,
    draft: Draft,
    preprocessing: Preprocessing,
    settings: TrainSettings,
    variable_length: bool,
    texts: Sequence[str],
    scores: np.ndarray,
    threshold: float,
) -> tuple[dict[str, Any], ExportMismatch | None]:
    """The manifest's ``onnx`` entry; a refused export holds the draft, or publishes it served by Keras."""
    try:
        entry = export_checked(
            trained,
            draft.path,
            preprocessing,
            variable_length=variable_length,
            texts=texts,
            scores=scores,
            threshold=threshold,
        )
        return entry, None
    except ExportMismatch as refused:
        if refused.entry is None:
            raise
        if settings.export_fallback == "keras":
            log.warning("%s: publishing version=%s served by Keras only", refused, draft.version)
            return keras_only_entry(refused.entry), None
        write_check_sample(draft.path, texts)
        draft.hold = True
        return refused.entry, refused


def _write_report(
    draft: Draft, settings: TrainSettings, recipe: Recipe, evaluated: Evaluated, record: Record, site: SiteData | None
) -> None:
    """The draft's ``report/``: figures and plots, and the site requests screened out."""
    write_report(
        draft.path / "report",
        version=draft.version,
        architecture=recipe.arch.name,
        evaluations=evaluated.evaluations,
        test_labels=evaluated.test_labels,
        test_scores=evaluated.test_scores,
        training={
            **record.hyperparameters,
            "threshold_rule": settings.threshold_rule,
            "train_seconds": record.train_seconds,
            "input_format": str(settings.input_format),
            "data": record.training_data.name + f" ({record.training_data.rows_read:,} rows read in all)",
            "pipeline": record.pipeline,
        },
    )
    if site is not None:
        with (draft.path / "report" / "screened.jsonl").open("w", encoding="utf-8") as handle:
            for row in site.screened:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _manifest(
    draft: Draft,
    settings: TrainSettings,
    recipe: Recipe,
    assembled: Assembled,
    evaluated: Evaluated,
    record: Record,
    onnx: dict[str, Any],
) -> Manifest:
    """The draft's manifest: the model, its preprocessing and threshold, the record of the run."""
    return Manifest(
        version=draft.version,
        created_at=draft.created_at,
        architecture=recipe.arch.name,
        variable_length=recipe.arch.variable_length,
        parameters=int(evaluated.trained.count_params()),
        hyperparameters=record.hyperparameters,
        preprocessing=assembled.preprocessing,
        threshold=evaluated.threshold,
        threshold_rule=settings.threshold_rule,
        evaluation={k: v.to_dict() for k, v in evaluated.evaluations.items()}
        | {"train_seconds": round(record.train_seconds, 2)},
        training_data=record.training_data,
        library_versions=library_versions(),
        extra={
            "data_files": record.data_files,
            "corpus_files": assembled.added.corpus.get("files", []),
            "pipeline": record.pipeline,
        },
        onnx=onnx,
    )


def _names(settings: TrainSettings, topic: Sequence[Shard]) -> str:
    return ",".join([*(p.name for p in files([*settings.data, *settings.benign])), *(s.name for s in topic)])
