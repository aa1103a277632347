"""The streaming input pipeline: training data read in passes, never held whole.

1. **count** — how many rows each shard has (no message decoded), so the rows can be split
   75/25 and the last quarter of the training part held out for validation exactly as the
   reference's ``train_test_split(random_state=42)`` and Keras' ``validation_split`` do. The
   split costs one byte per row (its part), the only memory that grows with the data.
2. **scan** — every message decoded once: label counts per part, rows refused and why, the
   fields seen and the character counts of the training and validation rows (the vocabulary),
   and how many training rows fall in each length bucket (the steps of an epoch).
3. **epochs** — ``tf.data``: shards read side by side (``interleave``), each message decoded,
   cleaned and encoded by the serving code (:func:`model_store.ingest.formats.decode_message`,
   :class:`~model_store.model.preprocessing.Preprocessing`, ``CharTokenizer.encode_buckets``), each
   record a *bag* of the rows the network reads for it (one row; in value mode one row per
   value, a long value's windows included), bags drawn from a bounded shuffle buffer into
   batches that share one bucket width, batches shuffled again across shards, prefetched. A
   batch is ``(ids, bag, labels)``: the rows, the bag each row belongs to, one label per bag;
   a bag scores its highest row, as serving scores a request (multiple-instance learning: the
   label says the request holds an attack, not which value does).
4. **evaluation** — validation and test rows scored in chunks through the serving
   :class:`~model_store.model.scoring.Detector`; only their scores and labels are kept.

Peak memory is the model, the shuffle buffer, one chunk per shard being read, and the bytes
per row above, whatever the size of the data.
"""

from __future__ import annotations

import itertools
import logging
import random
import resource
from collections import Counter
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from logsentry.errors import ConfigError, MalformedRow
from logsentry.model_store.model.preprocessing import (
    CharTokenizer,
    CleanupSpec,
    Preprocessing,
    Units,
    clean,
)
from logsentry.trainer.progress import PassStats, Progress
from logsentry.trainer.sources import Row, Shard, read_rows

log = logging.getLogger(__name__)

TRAIN, VALIDATION, TEST = 0, 1, 2
PART_NAMES = ("train", "validation", "test")
CHUNK = 512  # records cleaned and encoded together (vectorised encoding, bounded memory)
MAX_BAG_ROWS = 64  # rows a training record reads at most (a value's windows beyond are left out of training)
ONNX_CHECK_ROWS = 20_000  # validation rows the ONNX export is compared on


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_indices(n: int, *, test_size: float, validation_split: float, seed: int) -> Split:
    """The reference's ``train_test_split(random_state=seed)``, then Keras' ``validation_split`` (the *last* part)."""
    from sklearn.model_selection import train_test_split

    if not (0 < test_size < 1 and 0 < validation_split < 1):
        raise ConfigError("test_size and validation_split must lie strictly between 0 and 1")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    cut = int(len(train) * (1 - validation_split))
    return Split(train=train[:cut], validation=train[cut:], test=test)


def split_parts(n: int, *, test_size: float, validation_split: float, seed: int) -> np.ndarray:
    """The part (TRAIN, VALIDATION, TEST) of each of ``n`` rows, one byte each."""
    parts = np.empty(n, dtype=np.uint8)
    split = split_indices(n, test_size=test_size, validation_split=validation_split, seed=seed)
    for code, rows in ((TRAIN, split.train), (VALIDATION, split.validation), (TEST, split.test)):
        parts[rows] = code
    return parts


def count_rows(shards: Sequence[Shard], *, progress: bool) -> tuple[list[int], PassStats]:
    """The first, cheap pass: how many row numbers each shard uses."""
    bar = Progress("count", None, enabled=progress)
    counts = []
    for shard in shards:
        counts.append(shard.count())
        bar.update(counts[-1])
    return counts, bar.close()


@dataclass(frozen=True)
class Plan:
    """The shards to read and the part of every row, in shard order."""

    shards: tuple[Shard, ...]
    parts: tuple[np.ndarray, ...]  # per shard, uint8 per row number
    strict: bool = False

    def __post_init__(self) -> None:
        if len(self.shards) != len(self.parts):
            raise ValueError("one part array per shard")

    @classmethod
    def build(
        cls,
        split: Sequence[Shard],
        counts: Sequence[int],
        fixed: Sequence[tuple[Shard, np.ndarray]] = (),
        *,
        test_size: float,
        validation_split: float,
        seed: int,
        strict: bool,
    ) -> Plan:
        """``split``'s rows (``counts`` of them) split as one sequence; ``fixed`` shards come with their parts."""
        parts = split_parts(sum(counts), test_size=test_size, validation_split=validation_split, seed=seed)
        edges = np.cumsum([0, *counts])
        return cls(
            shards=(*split, *(s for s, _ in fixed)),
            parts=(*(parts[a:b] for a, b in itertools.pairwise(edges)), *(p for _, p in fixed)),
            strict=strict,
        )

    @property
    def bases(self) -> tuple[int, ...]:
        """The global number of each shard's first row (decides the worker that trains a row)."""
        return tuple(int(b) for b in np.cumsum([0, *(len(p) for p in self.parts)])[:-1])

    def rows(
        self, index: int, parts: Container[int] = (TRAIN, VALIDATION, TEST), *, worker: int = 0, workers: int = 1
    ) -> Iterator[tuple[int, Row]]:
        """(part, row) of the readable rows of shard ``index`` that lie in ``parts`` and that
        ``worker`` of ``workers`` reads (global row number modulo ``workers``), the others not
        decoded; refused rows are skipped (the scan counted them), and so are rows past the
        count (a topic may have grown since)."""
        part_of = self.parts[index]
        known, base = len(part_of), self.bases[index]

        def wanted(ordinal: int) -> bool:
            return ordinal < known and int(part_of[ordinal]) in parts and (base + ordinal) % workers == worker

        for row in self.shards[index].rows(wanted):
            if not isinstance(row, MalformedRow):
                yield int(part_of[row.ordinal]), row


@dataclass
class Scan:
    """What the first streaming pass learnt."""

    rows_read: int = 0
    records: int = 0
    labels: dict[str, Counter[int]] = field(default_factory=lambda: {name: Counter() for name in PART_NAMES})
    refused: list[tuple[str, MalformedRow]] = field(default_factory=list)  # the first few, with their shard
    refused_by_reason: Counter[str] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)
    fields: dict[str, None] = field(default_factory=dict)
    rows_per_bucket: Counter[tuple[int, int, int]] = field(default_factory=Counter)  # (worker, shard, width) -> rows
    stats: PassStats | None = None

    @property
    def rows_refused(self) -> int:
        return sum(self.refused_by_reason.values())

    def steps(self, workers: int, batch_size: int) -> int:
        """Batches of an epoch for the busiest worker (each bucket's last batch may be short)."""
        per_worker = Counter[int]()
        for (worker, _, _), rows in self.rows_per_bucket.items():
            per_worker[worker] += -(-rows // batch_size)
        return max(per_worker.values(), default=0)

    def summary(self) -> str:
        attacks = sum(c[1] for c in self.labels.values())
        return (
            f"read {self.rows_read} rows: kept {self.records} records ({attacks} attack, "
            f"{self.records - attacks} normal), rejected {self.rows_refused}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "records": self.records,
            "rows_refused": self.rows_refused,
            "refused_by_reason": dict(self.refused_by_reason.most_common()),
            "labels": {part: {"normal": c[0], "attack": c[1]} for part, c in self.labels.items()},
        }


def _reason(bad: MalformedRow) -> str:
    """The kind of a refusal, for counting: its reason up to the first detail."""
    return bad.reason.split(":", 1)[0].split(" (", 1)[0][:60]


def bag_width(text: str, spec: CleanupSpec, edges: np.ndarray, max_len: int) -> int:
    """The padded width of a cleaned text's rows in training: its longest unit's bucket."""
    longest = max(map(len, text.split("\n"))) if spec.units == "values" else len(text)
    return int(edges[np.searchsorted(edges, min(longest, max_len))])


def scan(
    data: Plan,
    *,
    buckets: Sequence[int],
    max_len: int,
    workers: int,
    batch_size: int,
    progress: bool,
    units: Units = "request",
) -> Scan:
    """The first pass: decode everything once, gather what fitting and planning need."""
    out = Scan()
    spec = CleanupSpec(units=units)
    edges = np.asarray(buckets or (max_len,))
    total = sum(len(p) for p in data.parts)
    bar = Progress("scan", total, enabled=progress)
    bases = data.bases
    for index, shard in enumerate(data.shards):
        parts = data.parts[index]
        read = 0
        for row in read_rows(shard, strict=data.strict):
            read += 1
            if read % 1000 == 0:
                bar.update(1000)
            if isinstance(row, MalformedRow):
                out.refused_by_reason[_reason(row)] += 1
                if len(out.refused) < 20:
                    out.refused.append((shard.name, row))
                continue
            if row.ordinal >= len(parts):
                continue
            part = int(parts[row.ordinal])
            out.labels[PART_NAMES[part]][row.label] += len(row.records)
            out.records += len(row.records)
            if part == TEST:
                continue
            for record in row.records:
                text = clean(record, spec).lower()
                out.chars.update(text)
                for key in record:
                    if key not in spec.drop_fields:
                        out.fields.setdefault(key, None)
                if part == TRAIN:
                    width = bag_width(text, spec, edges, max_len)
                    out.rows_per_bucket[((bases[index] + row.ordinal) % workers, index, width)] += 1
        bar.update(read % 1000)
        out.rows_read += read
    out.stats = bar.close(f"{out.records:,} records, {out.rows_refused:,} refused")
    for name, bad in out.refused:
        log.warning("%s: line %d: %s (row skipped)", name, bad.line, bad.reason)
    if out.rows_refused > len(out.refused):
        log.warning("%d more rows skipped", out.rows_refused - len(out.refused))
    log.info("%s", out.summary())
    return out


def fit_preprocessing(
    found: Scan, *, max_len: int, oov: Any, buckets: Sequence[int], units: Units = "request"
) -> Preprocessing:
    """The cleanup spec and tokenizer fitted on the training and validation rows the scan read."""
    base = CleanupSpec()
    cleanup = CleanupSpec(drop_fields=base.drop_fields, keep_fields=tuple(found.fields), units=units)
    tokenizer = CharTokenizer.from_counts(found.chars, max_len=max_len, oov=oov, buckets=buckets)
    return Preprocessing(tokenizer, cleanup)


Bag = tuple[np.ndarray, float]  # the rows one record reads (rows x width, pre-padded), its label


def encode_bags(preprocessing: Preprocessing, texts: Sequence[str], labels: Sequence[float]) -> Iterator[Bag]:
    """Each cleaned text as the bag of rows the network reads for it, padded to the bag's widest.

    In request mode a text is one row, its last ``max_len`` ids (as the reference read it; a
    window is no example); in value mode each value is a row, a long one its windows, at most
    ``MAX_BAG_ROWS`` in all.
    """
    values = preprocessing.cleanup.units == "values"
    units, owners = preprocessing.units(texts)
    rows: list[list[np.ndarray]] = [[] for _ in texts]
    for bucket in preprocessing.tokenizer.encode_buckets(units, windows=values):
        for unit, ids in zip(bucket.rows.tolist(), bucket.ids, strict=True):
            held = rows[int(owners[unit])]
            if len(held) < MAX_BAG_ROWS:
                held.append(ids)
    for held, label in zip(rows, labels, strict=True):
        width = max(len(r) for r in held)
        if all(len(r) == width for r in held):
            yield np.stack(held), label
            continue
        bag = np.zeros((len(held), width), dtype=np.int32)
        for k, r in enumerate(held):
            bag[k, width - len(r) :] = r
        yield bag, label


def _encoded(
    data: Plan, index: int, preprocessing: Preprocessing, part: int, worker: int, workers: int
) -> Iterator[Bag]:
    """The bags of shard ``index``'s rows of ``part`` that ``worker`` trains."""
    texts: list[str] = []
    labels: list[float] = []

    def flush() -> Iterator[Bag]:
        yield from encode_bags(preprocessing, texts, labels)
        texts.clear()
        labels.clear()

    for _, row in data.rows(index, (part,), worker=worker, workers=workers):
        for record in row.records:
            texts.append(clean(record, preprocessing.cleanup))
            labels.append(float(row.label))
        if len(texts) >= CHUNK:
            yield from flush()
    if texts:
        yield from flush()


Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # ids (rows x width), bag of each row, label of each bag


def _batch(bags: Sequence[Bag]) -> Batch:
    ids = np.concatenate([b[0] for b in bags]) if len(bags) > 1 else bags[0][0]
    owner = np.repeat(np.arange(len(bags), dtype=np.int32), [len(b[0]) for b in bags])
    return ids, owner, np.asarray([b[1] for b in bags], dtype=np.float32)


def shuffled_batches(chunks: Iterator[Bag], *, batch_size: int, buffer: int, rng: random.Random) -> Iterator[Batch]:
    """Bags drawn at random from a buffer of ``buffer`` bags, batched by width as bins fill.

    The buffer replaces a random bag by each bag read (the last bags are drawn in random
    order), so memory stays at the buffer; a bin (one per bucket width) is a batch when it
    holds ``batch_size`` bags, and the bins left at the end are the short batches. Done in
    numpy because ``tf.data``'s per-row ``shuffle`` + ``group_by_window`` cost ~100 µs a row
    here, more than the model's own step.
    """
    pool: list[Bag] = []
    bins: dict[int, list[Bag]] = {}

    def place(bag: Bag) -> Iterator[Batch]:
        held = bins.setdefault(bag[0].shape[1], [])
        held.append(bag)
        if len(held) == batch_size:
            yield _batch(held)
            held.clear()

    for bag in chunks:
        if len(pool) < buffer:
            pool.append(bag)
            continue
        at = rng.randrange(buffer)
        yield from place(pool[at])
        pool[at] = bag
    rng.shuffle(pool)
    for bag in pool:
        yield from place(bag)
    rest = [held for held in bins.values() if held]
    rng.shuffle(rest)
    for held in rest:
        yield _batch(held)


def training_dataset(
    data: Plan,
    preprocessing: Preprocessing,
    *,
    batch_size: int,
    worker: int = 0,
    workers: int = 1,
    shuffle_buffer: int,
    seed: int = 42,
    parallel_reads: int = 4,
) -> Any:
    """The training bags ``worker`` reads, as shuffled batches of one bucket width, repeated forever.

    Each shard is read by its own generator (``interleave``: up to ``parallel_reads`` side
    by side), which shuffles and batches its rows; ``tf.data`` then shuffles the batches of
    all shards and prefetches. Each epoch draws a new order, the same on every run.
    """
    from logsentry.model_store.model.tensorflow_runtime import tensorflow

    tf = tensorflow()
    epochs = Counter[int]()

    def generate(index: Any) -> Iterator[Batch]:
        index = int(index)
        epochs[index] += 1
        rng = random.Random(f"{seed}/{worker}/{index}/{epochs[index]}")
        rows = _encoded(data, index, preprocessing, TRAIN, worker, workers)
        yield from shuffled_batches(rows, batch_size=batch_size, buffer=shuffle_buffer, rng=rng)

    def shard(index: Any) -> Any:
        return tf.data.Dataset.from_generator(
            generate,
            args=(index,),
            output_signature=(
                tf.TensorSpec((None, None), tf.int32),
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((None,), tf.float32),
            ),
        )

    reads = max(1, min(parallel_reads, len(data.shards)))
    batches = tf.data.Dataset.range(len(data.shards)).interleave(
        shard, cycle_length=reads, num_parallel_calls=reads, deterministic=True
    )
    return batches.shuffle(64, seed=seed, reshuffle_each_iteration=True).repeat().prefetch(4)


@dataclass
class Scored:
    """Scores and labels of one part, a sample of its texts (for the ONNX check), and, for
    validation, the cause of each benign row that could alert (``trainer.evaluation``'s
    ``distinct`` rule)."""

    scores: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    named: bool = False

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        scores = np.concatenate(self.scores) if self.scores else np.zeros(0, dtype=np.float32)
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, dtype=np.int8)
        return scores, labels, np.asarray(self.families, dtype=object) if self.named else None


def causes_of(detector: Any, texts: Sequence[str], labels: Sequence[int], scores: np.ndarray) -> list[str]:
    """The cause of each benign text that could alert: the form of the value deciding its score."""
    from logsentry.trainer.corpus import value_shape
    from logsentry.trainer.evaluation import CAUSE_FLOOR

    pairs = enumerate(zip(labels, scores.tolist(), strict=True))
    candidates = [i for i, (label, score) in pairs if not label and score >= CAUSE_FLOOR]
    causes = [""] * len(texts)
    for i, unit in zip(candidates, detector.deciding_units([texts[i] for i in candidates]), strict=True):
        causes[i] = value_shape(unit)
    return causes


def score_parts(data: Plan, detector: Any, *, progress: bool, total: int) -> dict[int, Scored]:
    """Validation and test rows scored through ``detector`` (the serving scorer), in chunks."""
    out = {VALIDATION: Scored(), TEST: Scored()}
    bar = Progress("evaluate", total, enabled=progress)
    pending: dict[int, tuple[list[str], list[int], list[str]]] = {VALIDATION: ([], [], []), TEST: ([], [], [])}

    def flush(part: int) -> None:
        texts, labels, families = pending[part]
        if not texts:
            return
        scored = out[part]
        scores = detector.score_texts(texts)
        scored.scores.append(scores)
        scored.labels.append(np.asarray(labels, dtype=np.int8))
        if part == VALIDATION:  # only validation chooses the threshold
            scored.causes += causes_of(detector, texts, labels, scores)
        scored.families += families
        if part == VALIDATION and len(scored.texts) < ONNX_CHECK_ROWS:
            scored.texts += texts[: ONNX_CHECK_ROWS - len(scored.texts)]
        bar.update(len(texts))
        texts.clear()
        labels.clear()
        families.clear()

    for index in range(len(data.shards)):
        for part, row in data.rows(index, (VALIDATION, TEST)):
            texts, labels, families = pending[part]
            for record in row.records:
                texts.append(clean(record, detector.preprocessing.cleanup))
                labels.append(row.label)
                families.append(row.family or "")
            out[part].named = out[part].named or row.family is not None
            if len(texts) >= 4 * CHUNK:
                flush(part)
    flush(VALIDATION)
    flush(TEST)
    bar.close()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
