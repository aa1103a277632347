"""What a training run reads, gathered before it starts: ``logsentry train`` parses, this assembles.

Besides the files named in :class:`TrainSettings`: the public corpus (:func:`corpus_dir`), a
bounded offset range of a Kafka topic (one :class:`TopicShard` a partition, the range fixed
here), and the analysts' verdicts on alerts (the feedback topic). With ``--workers N`` the
local workers run ``train`` again (:func:`worker_argv`): each gathers its own inputs, reading
the very range resolved here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from logsentry.errors import ConfigError
from logsentry.trainer.distributed import Role, role_from
from logsentry.trainer.settings import TrainSettings
from logsentry.trainer.sources import TopicShard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicRange:
    """``--from-topic``: the topic, and in every partition a time range or explicit offsets (stream.tools.ranges)."""

    topic: str | None = None
    since: str | None = None
    until: str | None = None
    offsets: str | None = None


@dataclass(frozen=True)
class TrainingInputs:
    settings: TrainSettings  # with the corpus resolved
    role: Role  # this process's place in the cluster named by TF_CONFIG
    topic: list[TopicShard] = field(default_factory=list)
    spans: list[Any] = field(default_factory=list)  # the topic's offset ranges (stream.tools.ranges.OffsetRange)
    feedback: list[tuple[dict[str, Any], int]] = field(default_factory=list)  # (event, label) of analysts' verdicts


def gather(
    settings: TrainSettings,
    *,
    corpus: str | None = None,
    topic: TopicRange | None = None,
    feedback: bool = False,
    feedback_topic: str | None = None,
    kafka: Mapping[str, Any] | None = None,
    workers: int = 1,
    environ: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
) -> TrainingInputs:
    """Check the store, resolve the corpus and the topic's range, read the analysts' verdicts.

    ``corpus``: ``--corpus`` (:func:`corpus_dir`); ``kafka``: the connection flags given, layered
    over the ``LOGSENTRY_*`` variables, read only when a topic or the feedback is; the verdicts
    are read when ``feedback`` or ``feedback_topic``. With ``workers`` > 1 no verdicts are read:
    each local worker reads its own. ``out`` (default stderr) names the partitions read.
    """
    from logsentry.model_store.store import ModelStore

    topic = topic or TopicRange()
    settings = dataclasses.replace(settings, corpus=corpus_dir(corpus, settings.resolved_units, environ))
    if (topic.since or topic.until or topic.offsets) and not topic.topic:
        raise ConfigError("--since, --until and --offsets choose the range of --from-topic TOPIC")
    ModelStore(settings.store).check(create=True)
    role = role_from(environ.get("TF_CONFIG"))
    inputs = TrainingInputs(settings, role)
    if topic.topic:
        shards, spans = _read_topic(settings, topic.topic, topic, kafka or {}, environ)
        print(f"reading {topic.topic}: " + ", ".join(s.name for s in shards), file=out or sys.stderr)
        inputs = dataclasses.replace(inputs, topic=shards, spans=spans)
    if workers > 1:
        if role.count > 1:
            raise ConfigError("TF_CONFIG already names this process's workers: leave out --workers")
        return inputs
    if feedback or feedback_topic:
        from logsentry.stream.settings import DEFAULT_FEEDBACK_TOPIC, kafka_settings
        from logsentry.stream.tools.feedback import LABELS, read_feedback

        verdicts = read_feedback(kafka_settings(kafka or {}, environ), feedback_topic or DEFAULT_FEEDBACK_TOPIC)
        inputs = dataclasses.replace(inputs, feedback=[(f["event"], LABELS[f["label"]]) for f in verdicts])
    return inputs


def _read_topic(
    settings: TrainSettings, name: str, topic: TopicRange, kafka: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[list[TopicShard], list[Any]]:
    """The topic's shards, one a partition, and their offset ranges: fixed now, read later."""
    from logsentry.stream.kafka.connection import check_connection
    from logsentry.stream.settings import kafka_settings
    from logsentry.stream.tools.ranges import read_range, resolve_ranges

    connection = kafka_settings(kafka, environ)
    check_connection(connection)
    spans = resolve_ranges(connection, name, since=topic.since, until=topic.until, offsets=topic.offsets)
    shards = [
        TopicShard(s.name, s.start, s.end, partial(read_range, connection, s), settings.input_format, settings.label)
        for s in spans
    ]
    return shards, list(spans)


def corpus_dir(flag: str | None, units: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """``--corpus`` (or ``LOGSENTRY_CORPUS``): a directory, ``none``, or (neither given) the checkout's own
    ``bench/data`` when there is one for a model that reads values; a model that reads whole requests
    (the reference architectures, the notebook's recipe) reads none unless asked."""
    from logsentry.stream.settings import ENV
    from logsentry.trainer.corpus import default_corpus

    flag = flag if flag is not None else environ.get(ENV["corpus"]) or None
    if flag == "none" or (flag is None and units == "request"):
        return None
    if flag is not None:
        path = Path(flag)
        if not path.is_dir():
            raise ConfigError(f"--corpus {flag}: no such directory (a logsentry checkout's bench/data, or none)")
        return path
    found = default_corpus()
    if found is None:
        log.warning("no public corpus here (a logsentry checkout's bench/data): training without it; --corpus DIR")
    return found


_PER_RUN = ("--workers", "--since", "--until", "--offsets", "--worker-report")


def worker_argv(argv: Sequence[str], spans: Sequence[Any]) -> list[str]:
    """The command line (``argv``, a ``train`` command) each local worker of ``--workers N`` runs.

    ``--workers``, the range flags and ``--worker-report`` are left out (``run_local`` adds each
    worker's report directory); the range resolved here is given as ``--offsets``, so every worker
    reads the very same rows, whatever arrives meanwhile.
    """
    raw = list(argv)
    at = raw.index("train")
    rest, skip = [], False
    for item in raw[at + 1 :]:
        if skip:
            skip = False
        elif item in _PER_RUN:
            skip = True
        elif not item.startswith(tuple(flag + "=" for flag in _PER_RUN)):
            rest.append(item)
    if spans:
        rest += ["--offsets", ",".join(f"{s.partition}={s.start}:{s.end}" for s in spans)]
    return [*raw[:at], "train", *rest]
