"""``logsentry train``: train a model version from labelled logs and publish it.

Its inputs (files, a topic's offset range, the analysts' verdicts) are gathered by
:func:`trainer.inputs.gather`; the flags' defaults are :class:`trainer.settings.TrainSettings`'s.
``--workers N`` runs the same command as N local worker processes of one TensorFlow cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logsentry.arguments import (
    fraction,
    input_file,
    input_format_arg,
    kafka_flags,
    kafka_values,
    non_negative_int,
    positive_int,
    store_arg,
)
from logsentry.model_store.model.runtimes import require_training_extra


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.trainer.settings import TrainSettings

    defaults = {f.name: f.default for f in dataclasses.fields(TrainSettings)}
    p = sub.add_parser("train", help="train a model version from labelled logs and publish it", parents=parents)
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        action="extend",
        help="labelled CSV (|message|,label[,family]), or log files with --label; several may be given",
    )
    p.add_argument(
        "--benign",
        type=Path,
        nargs="+",
        action="extend",
        metavar="FILE",
        help="a site's own recent logs (mostly benign, any --input-format): screened by the current "
        "model, attacks grafted into its routes and parameters; with or without --data",
    )
    input_format_arg(p)
    p.add_argument("--label", type=int, choices=[0, 1], help="the label of every row of the (non-CSV) log files")
    store_arg(p)
    _model_flags(p, defaults)
    _run_flags(p, defaults)
    p.set_defaults(handler=run)


def _model_flags(p: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """What is trained, on what, and how its threshold is chosen."""
    from logsentry.model_store.model.preprocessing import REFERENCE_MAX_LEN
    from logsentry.trainer.architectures import ARCHITECTURES, REFERENCE_ARCHITECTURES, SCHEDULES
    from logsentry.trainer.settings import DEFAULT_AUGMENT_CAP, VALUE_MAX_LEN

    reference = ARCHITECTURES[REFERENCE_ARCHITECTURES[0]]
    p.add_argument("--architecture", choices=list(ARCHITECTURES), default=defaults["architecture"])
    p.add_argument(
        "--epochs", type=positive_int, help=f"default: the architecture's (reference: {reference.default_epochs})"
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        help=f"default: the architecture's (reference: {reference.default_batch_size})",
    )
    p.add_argument("--test-size", type=fraction, default=defaults["test_size"])
    p.add_argument("--validation-split", type=fraction, default=defaults["validation_split"])
    p.add_argument("--seed", type=int, default=defaults["seed"])
    p.add_argument(
        "--max-len",
        type=positive_int,
        help=f"request units: the padded width (default {REFERENCE_MAX_LEN}, the reference); value units: the "
        f"longest value read at once (default {VALUE_MAX_LEN}; a longer one in windows)",
    )
    p.add_argument(
        "--units",
        choices=["values", "request"],
        help="what the model reads: each value the client sent (default for conv-lstm), or the whole request "
        "(the reference architectures)",
    )
    p.add_argument(
        "--corpus",
        metavar="DIR|none",
        help="the public corpus of real sites' traffic and attack payloads mixed into training (env LOGSENTRY_CORPUS; "
        "default: the checkout's bench/data when the model reads values, none when it reads whole requests)",
    )
    p.add_argument(
        "--corpus-values",
        type=non_negative_int,
        default=defaults["corpus_values"],
        metavar="N",
        help=f"distinct benign values of the corpus's real sites read (default {defaults['corpus_values']:,})",
    )
    p.add_argument(
        "--oov",
        choices=["index", "drop"],
        default=defaults["oov"],
        help="unseen characters: a reserved index (default) or dropped (the reference)",
    )
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=defaults["schedule"],
        help="the default family's learning rate: annealed (default: cosine-decayed, weights averaged over the last "
        "steps) or constant (the recipe before 2026-12-07); the reference architectures keep the reference's",
    )
    rule = defaults["threshold_rule"]
    p.add_argument(
        "--threshold-rule",
        default=rule,
        help=f"fpr:<rate> (default {rule}: an alert budget on benign validation requests), distinct:<rate> (the "
        "same on distinct causes: the requests of one deciding value count once), f1, or fixed:<t>",
    )
    p.add_argument(
        "--augment",
        type=non_negative_int,
        metavar="N",
        help="add N generated requests of many other sites to training and validation (default: one "
        f"per row of your data, at most {DEFAULT_AUGMENT_CAP:,}; 0 turns it off)",
    )


def _run_flags(p: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """How the run goes: publishing, the topic's range, the analysts' verdicts, workers."""
    from logsentry.stream.settings import DEFAULT_FEEDBACK_TOPIC

    p.add_argument("--strict", action="store_true", help="a malformed row is fatal")
    p.add_argument("--no-promote", action="store_true", help="publish without making it current")
    p.add_argument("--keras-verbose", type=int, default=defaults["verbose"], choices=[0, 1, 2])
    p.add_argument(
        "--feedback",
        action="store_true",
        help="fold the analysts' verdicts on alerts (logsentry feedback) into training",
    )
    p.add_argument(
        "--from-topic",
        metavar="TOPIC",
        help="also read a bounded offset range of this Kafka topic (no consumer group, nothing "
        "committed); labels: --label, a mapping's label field, a logsentry-label header, "
        "else 0",
    )
    p.add_argument("--since", help="with --from-topic: from this long ago (7d, 12h, 30m) or an ISO-8601 time")
    p.add_argument("--until", help="with --from-topic: up to this time (default: the end offsets at the start)")
    p.add_argument("--offsets", help="with --from-topic: START:END for every partition, or P=START:END,...")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="train on N local worker processes (MultiWorkerMirroredStrategy); on several machines "
        "set TF_CONFIG on each instead (docs/training.md)",
    )
    p.add_argument(
        "--export-fallback",
        choices=["hold", "keras"],
        default=defaults["export_fallback"],
        help="when the ONNX export's check refuses the export: hold the trained version unpublished (default; "
        "logsentry models publish/export finish it), or publish it served by Keras",
    )
    buffer = defaults["shuffle_buffer"]
    p.add_argument(
        "--shuffle-buffer",
        type=positive_int,
        default=buffer,
        help=f"rows the streaming pipeline shuffles among (default {buffer:,})",
    )
    p.add_argument(
        "--worker-report",
        type=Path,
        metavar="DIR",
        help="each worker writes worker-<i>.json there: its weights' SHA-256, steps and epoch times",
    )
    p.add_argument("--feedback-topic", default=None, help=f"default {DEFAULT_FEEDBACK_TOPIC}")
    kafka_flags(p, "Kafka connection for --feedback (flags override LOGSENTRY_* variables)")


def run(args: argparse.Namespace) -> int:
    require_training_extra("logsentry train")
    from logsentry.trainer.inputs import TopicRange, gather
    from logsentry.trainer.settings import TrainSettings

    settings = TrainSettings.from_flags(
        vars(args),
        data=tuple(input_file(p, "--data file") for p in args.data or ()),
        benign=tuple(input_file(p, "--benign file") for p in args.benign or ()),
        promote=not args.no_promote,
        verbose=args.keras_verbose,
        from_topic=bool(args.from_topic),
    )
    inputs = gather(
        settings,
        corpus=args.corpus,
        topic=TopicRange(args.from_topic, since=args.since, until=args.until, offsets=args.offsets),
        feedback=args.feedback,
        feedback_topic=args.feedback_topic,
        kafka=kafka_values(args),
        workers=args.workers,
    )
    if args.workers > 1:
        return _train_local_workers(args, inputs.spans)
    from logsentry.trainer.training import train

    settings, role = inputs.settings, inputs.role
    result = train(settings, feedback=inputs.feedback, topic=inputs.topic, role=role)
    if role.chief:
        print(result.summary(settings, role, len(inputs.feedback)))
    return 0


def _train_local_workers(args: argparse.Namespace, spans: Sequence[Any]) -> int:
    """``--workers N``: the same command as N local worker processes of one TensorFlow cluster."""
    from logsentry.trainer.distributed import run_local
    from logsentry.trainer.inputs import worker_argv

    reports = run_local(worker_argv(args.argv, spans), args.workers, args.worker_report)
    print(
        f"{len(reports)} workers ended with identical weights (sha256 {reports[0]['weights_sha256'][:16]}); "
        f"{reports[0]['steps_per_epoch']} steps per epoch on each",
        file=sys.stderr,
    )
    return 0
