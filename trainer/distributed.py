"""Data-parallel training with TensorFlow's own ``MultiWorkerMirroredStrategy``.

Every worker builds the same model from the same seed, reads its own share of the training
rows (row number modulo the number of workers) and runs the same number of steps; each
step's gradients are summed across workers by the strategy's collective all-reduce, so
every worker applies the same update and ends with the same weights. The workers are named
in ``TF_CONFIG`` (TensorFlow's format: ``{"cluster": {"worker": [host:port, ...]}, "task":
{"type": "worker", "index": i}}``); worker 0, the chief, evaluates and publishes.

``model.fit`` under this strategy is broken with Keras 3 (keras-team/keras#20585), so the
loop below is a custom one: ``strategy.run`` of a step with a gradient tape. One worker runs
the same loop under TensorFlow's default strategy.

``logsentry train --workers N`` starts N local workers (``run_local``) for tests and small
machines; on several machines, run ``logsentry train`` on each with ``TF_CONFIG`` set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.errors import ConfigError, TrainingDiverged, WorkerFailed
from logsentry.trainer.progress import PassStats, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Role:
    """This process's place in the cluster named by ``TF_CONFIG``."""

    index: int = 0
    count: int = 1

    @property
    def chief(self) -> bool:
        return self.index == 0


def role_from(tf_config: str | None) -> Role:
    if not tf_config:
        return Role()
    try:
        config = json.loads(tf_config)
        workers = config["cluster"]["worker"]
        task = config.get("task", {})
        index = int(task.get("index", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG is not TensorFlow's cluster description: {exc}") from None
    if task.get("type", "worker") != "worker" or not 0 <= index < len(workers):
        raise ConfigError(f"TF_CONFIG: task must be one of the {len(workers)} workers, not {task}")
    if "chief" in config["cluster"] or "ps" in config["cluster"]:
        raise ConfigError("TF_CONFIG: name workers only (worker 0 is the chief); no chief or ps task")
    return Role(index, len(workers))


def strategy_for(role: Role) -> Any:
    from logsentry.model_store.model.tensorflow_runtime import tensorflow

    tf = tensorflow()
    if role.count == 1:
        return tf.distribute.get_strategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


@dataclass(frozen=True)
class Epoch:
    number: int
    loss: float
    rows: int
    seconds: float


def fit(
    model: Any,
    dataset_for: Callable[[int, int], Any],
    *,
    strategy: Any,
    epochs: int,
    steps: int,
    per_worker_batch: int,
    progress: bool,
) -> list[Epoch]:
    """Train ``model`` (built under ``strategy.scope()``) for ``epochs`` of ``steps`` steps.

    ``dataset_for(worker, workers)`` gives a worker's batches, repeated forever.
    """
    import keras

    from logsentry.model_store.model.tensorflow_runtime import tensorflow

    tf = tensorflow()
    optimizer = model.optimizer
    loss_fn = keras.losses.BinaryCrossentropy(reduction=None)
    global_batch = per_worker_batch * strategy.num_replicas_in_sync
    batches = strategy.distribute_datasets_from_function(
        lambda context: dataset_for(context.input_pipeline_id, context.num_input_pipelines)
    )

    def replica_step(ids: Any, bag: Any, labels: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            predicted = model(ids, training=True)[:, 0]
            # a bag (a request: one row, or one per value) is as likely an attack as its likeliest row
            per_bag = tf.math.unsorted_segment_max(predicted, bag, num_segments=tf.shape(labels)[0])
            per_row = loss_fn(labels[:, None], per_bag[:, None])
            loss = tf.nn.compute_average_loss(per_row, global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss, tf.shape(labels)[0]

    @tf.function
    def step(iterator: Any) -> tuple[Any, Any]:
        ids, bag, labels = next(iterator)
        loss, rows = strategy.run(replica_step, args=(ids, bag, labels))
        reduce = tf.distribute.ReduceOp.SUM
        return strategy.reduce(reduce, loss, axis=None), strategy.reduce(reduce, rows, axis=None)

    iterator = iter(batches)
    history = []
    for number in range(1, epochs + 1):
        bar = Progress(f"epoch {number}/{epochs}", steps * global_batch, enabled=progress)
        total_loss, rows = 0.0, 0
        for done_steps in range(1, steps + 1):
            loss, batch_rows = step(iterator)
            total_loss += float(loss)
            rows += int(batch_rows)
            bar.update(int(batch_rows), f"loss {total_loss / done_steps:.4f}")
        bar.total = rows  # the last batch of each bucket is short: the bar ends at the rows read
        done: PassStats = bar.close()
        if not math.isfinite(total_loss):
            raise TrainingDiverged(
                f"training diverged: the loss is {total_loss} in epoch {number} of {epochs}, so the weights are "
                "unusable and nothing is published; try another --seed (a ReLU recurrence such as the rnn "
                "reference's can explode over long inputs) or a shorter --max-len"
            )
        history.append(Epoch(number, total_loss / max(steps, 1), rows, done.seconds))
        log.info("epoch %d/%d: loss %.4f, %d rows in %.1f s", number, epochs, history[-1].loss, rows, done.seconds)
    if getattr(optimizer, "use_ema", False):  # the default family keeps an average of its weights: it is the model
        with strategy.scope():
            optimizer.finalize_variable_values(model.trainable_variables)
    return history


def weights_digest(weights: Sequence[np.ndarray]) -> str:
    """SHA-256 over a model's weights, to show that every worker ended with the same ones."""
    digest = hashlib.sha256()
    for array in weights:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_local(argv: Sequence[str], workers: int, report_dir: Path | None) -> list[dict[str, Any]]:
    """Run ``logsentry argv`` (a ``train`` command) as ``workers`` local processes of one cluster; their reports.

    Each worker writes ``worker-<i>.json`` (its weights' digest, steps and times) into
    ``report_dir`` (kept), or into a scratch directory removed after the run when it is None;
    the run fails if a worker fails or the workers' weights differ.
    """
    if report_dir is None:
        with tempfile.TemporaryDirectory(prefix="logsentry-workers-") as scratch:
            return run_local(argv, workers, Path(scratch))
    cluster = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    processes = []
    report_dir.mkdir(parents=True, exist_ok=True)
    for index in range(workers):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}})
        command = [sys.executable, "-m", "logsentry", *argv, "--worker-report", str(report_dir)]
        if index == 0:  # the chief speaks for the run; the others log to a file, shown if they fail
            processes.append(subprocess.Popen(command, env=env))
            continue
        with (report_dir / f"worker-{index}.log").open("wb") as out:
            command += ["--keras-verbose", "0"]
            processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))
    started = time.monotonic()
    codes = [p.wait() for p in processes]
    if any(codes):
        for index, code in enumerate(codes):
            logged = report_dir / f"worker-{index}.log"
            if code and logged.exists():
                tail = logged.read_text(errors="replace").splitlines()[-15:]
                log.error("worker %d exited with %d:\n%s", index, code, "\n".join(tail))
        raise WorkerFailed(f"workers exited with {codes} (0 is success) after {time.monotonic() - started:.0f} s")
    reports = [json.loads((report_dir / f"worker-{i}.json").read_text()) for i in range(workers)]
    digests = {r["weights_sha256"] for r in reports}
    if len(digests) != 1:
        raise WorkerFailed(f"the workers ended with different weights: {sorted(digests)}")
    return reports


def write_report(report_dir: Path, role: Role, report: dict[str, Any]) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"worker-{role.index}.json"
    path.write_text(json.dumps({"worker": role.index, "workers": role.count, **report}, indent=2))
