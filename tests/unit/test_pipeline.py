"""The streaming training pipeline: sources, the split, the first pass and the batches."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import ConfigError, DataError, MalformedRow
from logsentry.model_store.model.preprocessing import CharTokenizer, CleanupSpec, clean, observed_fields
from logsentry.stream.tools.ranges import parse_offsets, since_ms
from logsentry.trainer.data import format_row, read_labelled_csv
from logsentry.trainer.distributed import Role, role_from
from logsentry.trainer.pipeline import (
    TEST,
    TRAIN,
    VALIDATION,
    Plan,
    count_rows,
    fit_preprocessing,
    scan,
    split_indices,
    split_parts,
)
from logsentry.trainer.progress import Progress
from logsentry.trainer.settings import DEFAULT_BUCKETS
from logsentry.trainer.sources import FileShard, MemoryShard, file_shards

BUCKETS = (*DEFAULT_BUCKETS[:-1], 1024)


def _plan(paths: list[Path], strict: bool = False) -> Plan:
    shards = file_shards(paths)
    counts, _ = count_rows(shards, progress=False)
    return Plan.build(shards, counts, test_size=0.25, validation_split=0.25, seed=42, strict=strict)


def test_the_split_is_the_reference_split_one_byte_per_row() -> None:
    split = split_indices(1000, test_size=0.25, validation_split=0.25, seed=42)
    parts = split_parts(1000, test_size=0.25, validation_split=0.25, seed=42)
    assert parts.dtype == np.uint8
    assert np.flatnonzero(parts == TRAIN).tolist() == sorted(split.train.tolist())
    assert np.flatnonzero(parts == VALIDATION).tolist() == sorted(split.validation.tolist())
    assert np.flatnonzero(parts == TEST).tolist() == sorted(split.test.tolist())
    assert Counter(parts.tolist()) == {TRAIN: 562, VALIDATION: 188, TEST: 250}


def test_several_shards_are_split_as_one_sequence_and_fixed_shards_keep_their_parts(generated_csv: Path) -> None:
    shards = [FileShard(generated_csv), FileShard(generated_csv)]
    extra = MemoryShard("extra", [{"method": "get", "path": "/x"}] * 3, [0, 1, 0])
    counts, _ = count_rows(shards, progress=False)
    plan = Plan.build(
        shards,
        counts,
        [(extra, np.full(3, VALIDATION, dtype=np.uint8))],
        test_size=0.25,
        validation_split=0.25,
        seed=42,
        strict=False,
    )
    whole = split_parts(sum(counts), test_size=0.25, validation_split=0.25, seed=42)
    assert np.concatenate(plan.parts[:2]).tolist() == whole.tolist()
    assert plan.parts[2].tolist() == [VALIDATION] * 3
    assert plan.bases == (0, counts[0], 2 * counts[0])


def test_the_first_pass_fits_the_tokenizer_on_training_and_validation_rows_only(generated_csv: Path) -> None:
    plan = _plan([generated_csv])
    found = scan(plan, buckets=BUCKETS, max_len=1024, workers=1, batch_size=64, progress=False)
    streamed = fit_preprocessing(found, max_len=1024, oov="index", buckets=BUCKETS)

    logs = read_labelled_csv(generated_csv)
    split = split_indices(len(logs.events), test_size=0.25, validation_split=0.25, seed=42)
    fitted = [logs.events[i] for i in np.concatenate([split.train, split.validation])]
    base = CleanupSpec()
    assert streamed.cleanup == CleanupSpec(base.drop_fields, observed_fields(fitted, base))
    assert streamed.tokenizer == CharTokenizer.fit(
        [clean(e, streamed.cleanup) for e in fitted], max_len=1024, buckets=BUCKETS
    ), "the same characters, in the same ranks, as fitting on the texts themselves"
    assert found.records == found.rows_read == len(logs.events)
    assert sum(found.labels["test"].values()) == len(split.test)
    assert found.labels["train"][1] == int(logs.labels[split.train].sum())


def test_the_first_pass_counts_refused_rows_by_reason_and_strict_stops(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    good = format_row({"method": "get", "path": "/a"}, 0) + format_row({"method": "get", "path": "/b?q=<x>"}, 1)
    path.write_text(good * 10 + "|{not json}|,1\n" + '|{"a":1}|,7\n' + good)
    found = scan(_plan([path]), buckets=BUCKETS, max_len=1024, workers=1, batch_size=64, progress=False)
    assert found.rows_read == 24 and found.records == 22
    assert found.refused_by_reason == {"not_json": 1, "label must be 0 or 1, found '7'": 1}
    assert [(name, bad.line) for name, bad in found.refused] == [("mixed.csv", 21), ("mixed.csv", 22)]
    with pytest.raises(MalformedRow, match="line 21"):
        scan(_plan([path], strict=True), buckets=BUCKETS, max_len=1024, workers=1, batch_size=64, progress=False)


def test_gzip_shards_and_directories_read_like_the_plain_file(generated_csv: Path, tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    lines = generated_csv.read_text().splitlines(keepends=True)
    (shards / "a.csv").write_text("".join(lines[:500]))
    with gzip.open(shards / "b.csv.gz", "wt") as handle:
        handle.write("".join(lines[500:]))
    (shards / ".hidden").write_text("not data")
    assert [s.name for s in file_shards([shards])] == ["a.csv", "b.csv.gz"]
    together = [r.records for s in file_shards([shards]) for r in s.rows()]
    assert together == [r.records for r in FileShard(generated_csv).rows()]


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(format_row({"method": "get", "path": "/a"}, 0).encode() * 3 + b'|{"path":"/\xff"}|,0\n')
    with pytest.raises(DataError, match=r"bad.csv.gz: line 4: not UTF-8"):
        list(FileShard(path).rows())


def test_a_log_file_needs_a_label(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs --label"):
        FileShard(tmp_path / "access.log")
    log = tmp_path / "access.log"
    log.write_text('127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5 "-" "curl"\n\n')
    (row,) = FileShard(log, label=0).rows()
    assert not isinstance(row, MalformedRow) and row.label == 0 and row.line == 1


def test_each_worker_trains_its_own_share_and_together_every_training_row(generated_csv: Path) -> None:
    from logsentry.trainer.pipeline import _encoded

    plan = _plan([generated_csv])
    found = scan(plan, buckets=BUCKETS, max_len=1024, workers=2, batch_size=32, progress=False)
    pre = fit_preprocessing(found, max_len=1024, oov="index", buckets=BUCKETS)
    shares = []
    for worker in (0, 1):
        rows = Counter()
        for ids, _ in _encoded(plan, 0, pre, TRAIN, worker, 2):
            rows.update(row[row > 0].tobytes() for row in ids)
        shares.append(rows)
    trained = [clean(row.records[0], pre.cleanup) for part, row in plan.rows(0) if part == TRAIN]
    expected = Counter(row[row > 0].tobytes() for row in pre.tokenizer.encode(trained))
    assert shares[0] + shares[1] == expected
    assert shares[0].total() == sum(n for (w, _, _), n in found.rows_per_bucket.items() if w == 0)
    assert abs(shares[0].total() - shares[1].total()) < 0.1 * expected.total(), "about half each"


@pytest.mark.parametrize("units", ["request", "values"])
def test_batches_share_one_bucket_width_and_an_epoch_reads_every_training_row(generated_csv: Path, units: str) -> None:
    from logsentry.trainer.pipeline import training_dataset

    plan = _plan([generated_csv])
    found = scan(plan, buckets=BUCKETS, max_len=1024, workers=1, batch_size=32, progress=False, units=units)
    pre = fit_preprocessing(found, max_len=1024, oov="index", buckets=BUCKETS, units=units)
    steps = found.steps(1, 32)
    dataset = training_dataset(plan, pre, batch_size=32, shuffle_buffer=100, seed=1)
    widths, bags, rows, labels = Counter(), 0, 0, 0.0
    for ids, bag, y in dataset.take(steps):
        assert ids.shape[1] in BUCKETS and y.shape[0] <= 32 and ids.shape[0] == bag.shape[0]
        assert sorted(set(bag.numpy().tolist())) == list(range(y.shape[0])), "every bag has a row, in order"
        widths[int(ids.shape[1])] += int(y.shape[0])
        bags += int(y.shape[0])
        rows += int(ids.shape[0])
        labels += float(y.numpy().sum())
    assert bags == found.labels["train"].total()
    assert labels == found.labels["train"][1]
    assert dict(widths) == {width: n for (_, _, width), n in found.rows_per_bucket.items()}
    if units == "request":
        assert rows == bags
    else:  # a request is read as its values: the method and path, each query value, each body field
        assert rows > 1.5 * bags


def test_tf_config_names_the_worker() -> None:
    assert role_from(None) == Role(0, 1)
    config = '{"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker", "index": 2}}'
    assert role_from(config) == Role(2, 3) and not role_from(config).chief
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        role_from('{"cluster": {}}')
    with pytest.raises(ConfigError, match="one of the 1 workers"):
        role_from('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}')


def test_topic_ranges_are_parsed() -> None:
    assert since_ms("7d", now=1_000_000.0) == (1_000_000 - 7 * 86400) * 1000
    assert since_ms("30m", now=10_000.0) == (10_000 - 1800) * 1000
    assert since_ms("2026-11-01T00:00:00") == since_ms("2026-11-01T00:00:00+00:00")
    with pytest.raises(ConfigError, match="duration"):
        since_ms("last week")
    assert parse_offsets("10:20") == {None: (10, 20)}
    assert parse_offsets("0=5:9,2=0:100") == {0: (5, 9), 2: (0, 100)}
    with pytest.raises(ConfigError, match="end comes before"):
        parse_offsets("9:5")
    with pytest.raises(ConfigError, match="START:END"):
        parse_offsets("5-9")


def test_progress_in_a_log_shows_rows_per_second_and_time_left() -> None:
    out = io.StringIO()
    bar = Progress("scan", 1000, out=out)
    bar.update(250)
    assert "250/1,000 rows" in bar.line() and "rows/s" in bar.line() and "ETA" in bar.line()
    stats = bar.close("3 refused")
    assert stats.rows == 250
    assert out.getvalue().endswith("3 refused\n")


def test_a_topic_message_s_label_comes_from_the_flag_the_mapping_the_header_or_is_benign() -> None:
    from logsentry.stream.tools.ranges import Message
    from logsentry.trainer.sources import TopicShard

    event = b'{"method":"get","path":"/a","query":{}}'
    messages = [
        Message(10, event, (("logsentry-label", b"1"),)),
        Message(11, event, ()),
        Message(12, b"{not json", ()),
        Message(13, event, (("logsentry-label", b"yes"),)),
    ]
    shard = TopicShard("t[0]@10:14", 10, 14, lambda: messages)
    rows = list(shard.rows())
    assert [(r.ordinal, r.line, r.label) for r in rows if not isinstance(r, MalformedRow)] == [
        (0, 10, 1),
        (1, 11, 0),
        (3, 13, 0),
    ]
    assert isinstance(rows[2], MalformedRow) and rows[2].line == 12 and "not_json" in rows[2].reason
    forced = TopicShard("t[0]@10:14", 10, 14, lambda: messages, label=0)
    assert {r.label for r in forced.rows() if not isinstance(r, MalformedRow)} == {0}
    assert shard.count() == 4


def test_a_loss_that_is_no_longer_finite_stops_training_with_a_clear_error() -> None:
    import keras

    from logsentry.errors import TrainingDiverged
    from logsentry.model_store.model.tensorflow_runtime import tensorflow
    from logsentry.trainer.distributed import fit, strategy_for

    tf = tensorflow()
    strategy = strategy_for(Role(0, 1))
    with strategy.scope():
        inputs = keras.Input(shape=(None,), dtype="int32")
        x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(8, 2)(inputs))
        nan = keras.initializers.Constant(float("nan"))  # what an exploded recurrence leaves in the weights
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", kernel_initializer=nan)(x))
        model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")

    def batches(worker: int, workers: int) -> object:
        ids = tf.constant([[1, 2, 3], [4, 5, 6]], dtype=tf.int32)
        bags = tf.constant([0, 1], dtype=tf.int32)
        labels = tf.constant([0.0, 1.0])
        return tf.data.Dataset.from_tensors((ids, bags, labels)).repeat()

    with pytest.raises(TrainingDiverged, match=r"training diverged: the loss is nan in epoch 1 of 2"):
        fit(model, batches, strategy=strategy, epochs=2, steps=3, per_worker_batch=2, progress=False)
