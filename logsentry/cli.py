"""``logsentry`` and its subcommands. Each handler parses, builds settings, calls the library.

Heavy modules (TensorFlow, Kafka clients) are imported inside the handlers that need them, so
``logsentry models list`` answers at once and ``logsentry stream`` loads no deep-learning code until
it needs a model. The stream package never imports the trainer; only this parser reads the
architecture names (trainer.architectures imports Keras lazily).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from logsentry.arguments import (
    ArgumentParser,
    fraction,
    input_file,
    input_format_arg,
    non_negative_int,
    output_file,
    positive_int,
    runtime_arg,
)
from logsentry.errors import ConfigError, LogsentryError, StoreError
from logsentry.model_store.model.runtimes import DEFAULT_RUNTIME, require_training_extra

log = logging.getLogger("logsentry")

Handler = Callable[[argparse.Namespace], int]


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        type=Path,
        default=Path(os.environ.get("LOGSENTRY_STORE", "models")),
        help="model store directory (env LOGSENTRY_STORE; default ./models)",
    )


def _version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", default="current", help="current (default), latest, or a version id")


# -- generate -----------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    from logsentry.trainer.generate import write_csv

    write_csv(output_file(args.out), args.rows, seed=args.seed, attack_share=args.attack_share)
    print(f"wrote {args.rows} labelled request logs to {args.out}", file=sys.stderr)
    return 0


# -- train --------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    require_training_extra("logsentry train")
    from logsentry.stream.tools.feedback import LABELS
    from logsentry.trainer.distributed import role_from
    from logsentry.trainer.settings import TrainSettings

    settings = TrainSettings(
        data=tuple(input_file(p, "--data file") for p in args.data or ()),
        benign=tuple(input_file(p, "--benign file") for p in args.benign or ()),
        store=args.store,
        architecture=args.architecture,
        epochs=args.epochs,
        batch_size=args.batch_size,
        test_size=args.test_size,
        validation_split=args.validation_split,
        seed=args.seed,
        max_len=args.max_len,
        oov=args.oov,
        threshold_rule=args.threshold_rule,
        strict=args.strict,
        promote=not args.no_promote,
        verbose=args.keras_verbose,
        input_format=args.input_format,
        label=args.label,
        augment=args.augment,
        shuffle_buffer=args.shuffle_buffer,
        worker_report=args.worker_report,
        from_topic=bool(args.from_topic),
        export_fallback=args.export_fallback,
        units=args.units,
        corpus_values=args.corpus_values,
    )
    settings = dataclasses.replace(settings, corpus=_corpus(args.corpus, settings.resolved_units))
    if (args.since or args.until or args.offsets) and not args.from_topic:
        raise ConfigError("--since, --until and --offsets choose the range of --from-topic TOPIC")
    from logsentry.model_store.store import ModelStore

    ModelStore(settings.store).check(create=True)
    role = role_from(os.environ.get("TF_CONFIG"))
    topic: list[Any] = []
    spans: list[Any] = []
    if args.from_topic:
        from functools import partial

        from logsentry.stream.kafka.connection import check_connection
        from logsentry.stream.settings import kafka_settings
        from logsentry.stream.tools.ranges import read_range, resolve_ranges
        from logsentry.trainer.sources import TopicShard

        kafka = kafka_settings(vars(args))
        check_connection(kafka)
        spans = resolve_ranges(kafka, args.from_topic, since=args.since, until=args.until, offsets=args.offsets)
        topic = [TopicShard(s.name, s.start, s.end, partial(read_range, kafka, s), args.input_format, args.label)
                 for s in spans]  # fmt: skip
        print(f"reading {args.from_topic}: " + ", ".join(s.name for s in topic), file=sys.stderr)
    if args.workers > 1:
        if role.count > 1:
            raise ConfigError("TF_CONFIG already names this process's workers: leave out --workers")
        return _train_local_workers(args, spans)
    feedback: list[dict[str, Any]] = []
    if args.feedback or args.feedback_topic:
        from logsentry.stream.settings import kafka_settings
        from logsentry.stream.tools.feedback import DEFAULT_FEEDBACK_TOPIC, read_feedback

        feedback = read_feedback(kafka_settings(vars(args)), args.feedback_topic or DEFAULT_FEEDBACK_TOPIC)
    from logsentry.trainer.training import train

    result = train(settings, feedback=[(f["event"], LABELS[f["label"]]) for f in feedback], topic=topic, role=role)
    if not role.chief:
        return 0
    test = result.evaluations["test"]
    print(
        f"published {result.version} ({settings.architecture}) to {settings.store}: "
        f"test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}, threshold {test.threshold:.4f}, "
        f"trained in {result.train_seconds:.1f} s"
        + (f" on {role.count} workers" if role.count > 1 else "")
        + ("" if settings.promote else " (not promoted)")
        + (f"; {len(feedback)} analyst verdicts folded in" if feedback else "")
    )
    return 0


def _corpus(flag: str | None, units: str) -> Path | None:
    """``--corpus`` (or ``LOGSENTRY_CORPUS``): a directory, ``none``, or (neither given) the checkout's own
    ``bench/data`` when there is one for a model that reads values; a model that reads whole requests
    (the reference architectures, the notebook's recipe) reads none unless asked."""
    from logsentry.trainer.corpus import default_corpus

    flag = flag if flag is not None else os.environ.get("LOGSENTRY_CORPUS") or None
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


def _train_local_workers(args: argparse.Namespace, spans: Sequence[Any]) -> int:
    """``--workers N``: the same command as N local worker processes of one TensorFlow cluster."""
    import tempfile

    from logsentry.trainer.distributed import run_local

    raw = list(args.argv)
    at = raw.index("train")
    rest, skip = [], False
    for item in raw[at + 1 :]:
        if skip:
            skip = False
        elif item in ("--workers", "--since", "--until", "--offsets", "--worker-report"):
            skip = True
        elif not item.startswith(("--workers=", "--since=", "--until=", "--offsets=", "--worker-report=")):
            rest.append(item)
    if spans:  # every worker reads the very range resolved here, whatever arrives meanwhile
        rest += ["--offsets", ",".join(f"{s.partition}={s.start}:{s.end}" for s in spans)]
    if args.worker_report is not None:  # kept: each worker's weights digest, steps and times
        reports = run_local([*raw[:at], "train", *rest], args.workers, args.worker_report)
    else:
        with tempfile.TemporaryDirectory(prefix="logsentry-workers-") as scratch:
            reports = run_local([*raw[:at], "train", *rest], args.workers, Path(scratch))
    print(
        f"{len(reports)} workers ended with identical weights (sha256 {reports[0]['weights_sha256'][:16]}); "
        f"{reports[0]['steps_per_epoch']} steps per epoch on each",
        file=sys.stderr,
    )
    return 0


# -- evaluate -----------------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    """NaN (an undefined figure, e.g. ROC AUC of one class) as null: strict JSON for other programs."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def cmd_evaluate(args: argparse.Namespace) -> int:
    require_training_extra("logsentry evaluate", ("sklearn",))
    from logsentry.model_store.model.scoring import load_detector
    from logsentry.model_store.store import ModelStore
    from logsentry.trainer.data import read_training_data
    from logsentry.trainer.evaluation import evaluate

    data = tuple(input_file(p, "--data file") for p in args.data)
    detector = load_detector(ModelStore(args.store), args.version, args.runtime)  # a bad store before the data
    logs = read_training_data(data, strict=args.strict, fmt=args.input_format, label=args.label)
    scores = detector.score_events(logs.events)
    result: dict[str, object] = {**evaluate(logs.labels, scores, detector.threshold, logs.families).to_dict()}
    result |= {"version": detector.version, "rows_read": logs.rows_read, "rows_rejected": len(logs.rejected)}
    if args.json:
        print(json.dumps(_json_safe(result), allow_nan=False))
    else:
        for key, value in result.items():
            if key == "calibration" or (key == "recall_by_family" and not value):
                continue
            if key == "recall_by_family":
                for family, figures in dict(value).items():  # type: ignore[call-overload]
                    line = f"{figures['recall']:.4f}  ({figures['detected']} of {figures['n']})"
                    print(f"{'recall ' + family:>28}  {line}")
                continue
            if key == "tpr_at_fpr":
                for budget, tpr in dict(value).items():  # type: ignore[call-overload]
                    print(f"{'TPR at FPR ' + format(float(budget), '.2%'):>28}  {tpr:.4f}")
            elif key == "false_alerts_per_million_ci95":
                interval: list[float] = list(value)  # type: ignore[call-overload]
                print(f"{'95% interval':>28}  {interval[0]:,.0f} - {interval[1]:,.0f}")
            else:
                print(f"{key:>28}  {value:.4f}" if isinstance(value, float) else f"{key:>28}  {value}")
    return 0


# -- score --------------------------------------------------------------------------------
def score_lines(
    detector: Any,
    lines: Iterable[Any],
    out: TextIO,
    fmt: Any = None,
    chunk: int = 2048,
    *,
    explained: bool = False,
    rules: Any = None,
    limits: Any = None,
) -> tuple[int, int, int]:
    """Score one message per line (:class:`model_store.ingest.lines.Line`, blank ones skipped); one
    output line per record (an ``error`` line per refusal), each naming its line in the file.

    Messages go through :func:`model_store.judge.verdict.judge`, the core the stream runs, so a
    line the stream would dead-letter is an error here too; batches hold at most ``chunk``
    lines and ``limits.batch_bytes`` bytes, and a line over ``limits.max_bytes`` is refused
    without being held. ``record`` appears when a message holds more than one record;
    ``explanation`` for a flagged record when ``explained``; with ``rules``, each record's
    ``threshold`` and, when a suppression matched, ``suppressed_by``. Returns (lines,
    records scored, errors).
    """
    from logsentry.model_store.ingest.decode import DecodeLimits, too_large
    from logsentry.model_store.ingest.formats import InputFormat
    from logsentry.model_store.judge.rules import NO_RULES
    from logsentry.model_store.judge.verdict import batches, judge

    fmt = fmt or InputFormat()
    limits = limits or DecodeLimits()
    count = scored = errors = 0
    for block in batches((line for line in lines if not line.blank), chunk, limits.batch_bytes, size=_line_size):
        held = [line for line in block if line.value is not None]
        judgement = judge([line.value for line in held], detector, fmt, limits, explained=explained,
                          rules=rules or NO_RULES)  # fmt: skip
        verdicts = dict(zip((line.number for line in held), judgement.verdicts, strict=True))
        for line in block:
            count += 1
            verdict = verdicts.get(line.number)
            if verdict is None:
                refused = too_large(line.size, limits)
                errors += 1
                out.write(json.dumps({"line": line.number, "error": str(refused), "reason": refused.reason}) + "\n")
                continue
            rows = _verdict_rows(line.number, verdict, detector.version, explained=explained, rules=rules)
            scored += len(verdict.records)
            for row in rows:
                errors += "error" in row
                out.write(json.dumps(row) + "\n")
    return count, scored, errors


def _line_size(line: Any) -> int:
    return line.size


def _verdict_rows(number: int, verdict: Any, version: str, *, explained: bool, rules: Any) -> list[dict[str, Any]]:
    """The output lines of one message's verdict, in record order."""
    many = verdict.record_count > 1
    rows: list[tuple[int, dict[str, Any]]] = []
    if verdict.error is not None and not verdict.refused:
        rows.append((0, {"line": number, "error": str(verdict.error)[:300], "reason": verdict.error.reason}))
    for index, refused in verdict.refused:
        rows.append((index, {"line": number, "record": index, "error": str(refused)[:300], "reason": refused.reason}))
    for record in verdict.records:
        row = {"line": number, **({"record": record.index} if many else {})}
        row |= {"score": round(record.score, 6), "flagged": record.flagged, "version": version}
        row["format"] = verdict.format
        if rules is not None:
            row["threshold"] = record.threshold
            if record.suppressed_by is not None:
                row["suppressed_by"] = record.suppressed_by
        if explained and record.alert:
            row["explanation"] = [span.to_dict() for span in record.explanation]
        rows.append((record.index, row))
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def cmd_score(args: argparse.Namespace) -> int:
    from logsentry.model_store.bundled import load_serving_detector
    from logsentry.model_store.ingest.decode import DecodeLimits
    from logsentry.model_store.ingest.lines import read_lines
    from logsentry.model_store.store import ModelStore

    path = None if args.file in (None, "-") else input_file(args.file)
    rules = _rules(args.rules) if args.rules else None
    detector = load_serving_detector(ModelStore(args.store), args.version, args.runtime)
    source = sys.stdin.buffer if path is None else open(path, "rb")  # noqa: SIM115
    limits = DecodeLimits()
    with source:
        total, scored, errors = score_lines(
            detector, read_lines(source, limits.max_bytes), sys.stdout, args.input_format,
            explained=args.explain, rules=rules, limits=limits,
        )  # fmt: skip
    print(f"scored {scored} records of {total} lines with {detector.version}; {errors} refused", file=sys.stderr)
    return 1 if errors and args.strict else 0


# -- rules --------------------------------------------------------------------------------
def _rules(path: str) -> Any:
    from logsentry.stream.rules_watch import read_rules

    return read_rules(input_file(path))[1]


def cmd_rules(args: argparse.Namespace) -> int:
    """Check a rules file and say what it does: each rule, and whether it is still in force."""
    import datetime as dt

    rules = _rules(args.file)
    today = dt.datetime.now(dt.UTC).date()
    for r in rules.suppressions:
        match = f"{r.field}=={r.equals!r}" if r.equals is not None else f"{r.field}~{r.regex!r}" if r.regex else r.field
        state = "expired" if not r.active(today) else f"until {r.expires}" if r.expires else "no expiry"
        what = " ".join(x for x in ((r.method or "*").upper(), r.route, match) if x)
        print(f"suppression {r.name}: {what} [{state}; {r.author}: {r.reason}]")
    for t in rules.thresholds:
        print(f"threshold {t.threshold}: {(t.method or '*').upper()} {t.route}")
    expired = sum(not r.active(today) for r in rules.suppressions)
    print(f"ok: {len(rules.suppressions)} suppressions ({expired} expired), {len(rules.thresholds)} route thresholds")
    return 0


# -- models -------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> int:
    from logsentry.model_store.store import ModelStore

    store = ModelStore(args.store)
    if args.action == "list":
        infos = store.info()
        held = store.held()
        if not infos and not held:
            print(f"no versions in {store.root}")
        for info in infos:
            print(_version_line("*" if info.current else " ", info.manifest))
        for version in held:
            print(_version_line("H", store.held_manifest(version)))
    elif args.action == "publish":
        if not args.keras_only:
            raise ConfigError(
                f"a held version is published served by Keras (logsentry models publish {args.ref} --keras-only), "
                f"or with its export run again (logsentry models export {args.ref})"
            )
        version = store.publish_keras_only(args.ref)
        print(f"published {version}, served by Keras only (not current: logsentry models promote {version})")
    elif args.action == "export":
        require_training_extra("logsentry models export")
        from logsentry.trainer.onnx_export import reexport

        version, entry = reexport(store, args.ref)
        print(
            f"published {version} with its ONNX export: largest logit difference {entry['max_logit_diff']:.2e}, "
            f"{entry['verdict_flips']} verdicts flipped (not current: logsentry models promote {version})"
        )
    elif args.action == "show":
        try:
            manifest = store.manifest(args.ref)
        except StoreError:
            if not any(v.startswith(args.ref) for v in store.held()):
                raise
            manifest = store.held_manifest(args.ref)
        print(json.dumps(manifest.to_dict(), indent=2))
    elif args.action == "promote":
        _shadow_gate(store, args)
        print(f"current: {store.promote(args.ref)}")
    elif args.action == "shadow":
        if args.clear:
            store.set_shadow(None)
            print("shadow: none")
        elif args.ref == "current":
            print(f"shadow: {store.shadow() or 'none'}")
        else:
            print(
                f"shadow: {store.set_shadow(args.ref)} (the running detectors pick it up within their reload interval)"
            )
    elif args.action == "rollback":
        print(f"current: {store.rollback()}")
    elif args.action == "verify":
        print(f"ok: {store.verify(args.ref).name}")
    return 0


def _version_line(mark: str, manifest: Any) -> str:
    """One line of ``models list``: ``*`` current, ``H`` held (trained, export refused, not published)."""
    test = manifest.evaluation.get("test", {})
    serving = ""
    if mark == "H":
        serving = "  held: ONNX export refused (models publish --keras-only, or models export)"
    elif manifest.keras_only:
        serving = "  runtime=keras (ONNX export refused)"
    return (
        f"{mark} {manifest.version}  {manifest.architecture:<10} threshold={manifest.threshold:.4f} "
        f"test_accuracy={test.get('accuracy', float('nan')):.4f} created={manifest.created_at}{serving}"
    )


def _shadow_gate(store: Any, args: argparse.Namespace) -> None:
    """Print how the candidate did in shadow; refuse it above the gate unless --force.

    Read from the shadow topic when a Kafka connection is configured (flag or environment);
    a version never scored in shadow is promoted with a note saying so.
    """
    from logsentry.stream.settings import kafka_settings

    kafka = kafka_settings(vars(args))
    if not (args.bootstrap_servers or os.environ.get("LOGSENTRY_BOOTSTRAP_SERVERS")):
        print("shadow: not checked (no Kafka connection configured: --bootstrap-servers)", file=sys.stderr)
        return
    from logsentry.stream.kafka.connection import check_connection
    from logsentry.stream.shadow import agreement, describe, disagreement

    version = store.resolve(args.ref)
    check_connection(kafka)
    counts = agreement(kafka, args.shadow_topic, version)
    if not counts:
        print(f"shadow: {version} was never scored in shadow (logsentry models shadow {version})", file=sys.stderr)
        return
    print(describe(counts, version), file=sys.stderr)
    rate = disagreement(counts)
    if rate > args.max_disagreement and not args.force:
        raise StoreError(
            f"{version} disagrees with the current model on {rate:.2%} of records, above the gate of "
            f"{args.max_disagreement:.2%}: read the shadow topic {args.shadow_topic!r}, or --force to promote anyway"
        )


def _common_flags() -> ArgumentParser:
    """Flags every subcommand takes, before or after its name (defaults come from the main parser)."""
    common = ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="also show library and framework logs (TensorFlow, Kafka client)")  # fmt: skip
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="debug logs, and the traceback of an unexpected error")  # fmt: skip
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="logsentry", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default=os.environ.get("LOGSENTRY_LOG_LEVEL", "INFO"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"])  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="also show library and framework logs")
    parser.add_argument("--debug", action="store_true", help="debug logs, and tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    common = [_common_flags()]

    p = sub.add_parser("generate", help="write realistic labelled request logs (CSV)", parents=common)
    p.add_argument("--rows", type=positive_int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attack-share", type=fraction, default=0.5)
    p.set_defaults(handler=cmd_generate)

    from logsentry.trainer.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE
    from logsentry.trainer.settings import DEFAULT_AUGMENT_CAP, DEFAULT_CORPUS_VALUES, DEFAULT_SHUFFLE_BUFFER
    from logsentry.trainer.threshold_rules import DEFAULT_THRESHOLD_RULE

    p = sub.add_parser("train", help="train a model version from labelled logs and publish it", parents=common)
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        action="extend",
        help="labelled CSV (|message|,label[,family]), or log files with --label; several may be given",
    )
    p.add_argument("--benign", type=Path, nargs="+", action="extend", metavar="FILE",
                   help="a site's own recent logs (mostly benign, any --input-format): screened by the current "
                        "model, attacks grafted into its routes and parameters; with or without --data")  # fmt: skip
    input_format_arg(p)
    p.add_argument("--label", type=int, choices=[0, 1], help="the label of every row of the (non-CSV) log files")
    _store_arg(p)
    p.add_argument("--architecture", choices=list(ARCHITECTURES), default=DEFAULT_ARCHITECTURE)
    p.add_argument("--epochs", type=positive_int, help="default: the architecture's (reference: 3)")
    p.add_argument("--batch-size", type=positive_int, help="default: the architecture's (reference: 128)")
    p.add_argument("--test-size", type=fraction, default=0.25)
    p.add_argument("--validation-split", type=fraction, default=0.25)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--max-len",
        type=positive_int,
        help="request units: the padded width (default 1024, the reference); value units: the longest value read "
        "at once (default 256; a longer one in windows)",
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
        default=DEFAULT_CORPUS_VALUES,
        metavar="N",
        help=f"distinct benign values of the corpus's real sites read (default {DEFAULT_CORPUS_VALUES:,})",
    )
    p.add_argument(
        "--oov",
        choices=["index", "drop"],
        default="index",
        help="unseen characters: a reserved index (default) or dropped (the reference)",
    )
    p.add_argument("--threshold-rule", default=DEFAULT_THRESHOLD_RULE,
                   help=f"fpr:<rate> (default {DEFAULT_THRESHOLD_RULE}: an alert budget on benign validation "
                        "requests), f1, or fixed:<t>")  # fmt: skip
    p.add_argument("--augment", type=non_negative_int, metavar="N",
                   help="add N generated requests of many other sites to training and validation (default: one "
                        f"per row of your data, at most {DEFAULT_AUGMENT_CAP:,}; 0 turns it off)")  # fmt: skip
    p.add_argument("--strict", action="store_true", help="a malformed row is fatal")
    p.add_argument("--no-promote", action="store_true", help="publish without making it current")
    p.add_argument("--keras-verbose", type=int, default=2, choices=[0, 1, 2])
    p.add_argument("--feedback", action="store_true",
                   help="fold the analysts' verdicts on alerts (logsentry feedback) into training")  # fmt: skip
    p.add_argument("--from-topic", metavar="TOPIC",
                   help="also read a bounded offset range of this Kafka topic (no consumer group, nothing "
                        "committed); labels: --label, a mapping's label field, a logsentry-label header, "
                        "else 0")  # fmt: skip
    p.add_argument("--since", help="with --from-topic: from this long ago (7d, 12h, 30m) or an ISO-8601 time")
    p.add_argument("--until", help="with --from-topic: up to this time (default: the end offsets at the start)")
    p.add_argument("--offsets", help="with --from-topic: START:END for every partition, or P=START:END,...")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="train on N local worker processes (MultiWorkerMirroredStrategy); on several machines "
                        "set TF_CONFIG on each instead (docs/training.md)")  # fmt: skip
    p.add_argument(
        "--export-fallback",
        choices=["hold", "keras"],
        default="hold",
        help="when the ONNX export's check refuses the export: hold the trained version unpublished (default; "
        "logsentry models publish/export finish it), or publish it served by Keras",
    )
    p.add_argument("--shuffle-buffer", type=positive_int, default=DEFAULT_SHUFFLE_BUFFER,
                   help=f"rows the streaming pipeline shuffles among (default {DEFAULT_SHUFFLE_BUFFER:,})")  # fmt: skip
    p.add_argument(
        "--worker-report",
        type=Path,
        metavar="DIR",
        help="each worker writes worker-<i>.json there: its weights' SHA-256, steps and epoch times",
    )
    p.add_argument("--feedback-topic", default=None, help="default logsentry-feedback")
    from logsentry.stream_commands import kafka_flags

    kafka_flags(p, "Kafka connection for --feedback (flags override LOGSENTRY_* variables)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a model version on labelled logs", parents=common)
    _store_arg(p)
    _version_arg(p)
    p.add_argument("--data", type=Path, required=True, nargs="+", action="extend")
    input_format_arg(p)
    p.add_argument("--label", type=int, choices=[0, 1], help="the label of every row of the (non-CSV) log files")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true")
    runtime_arg(p, default=DEFAULT_RUNTIME)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("score", help="score request logs offline, one message per line", parents=common)
    _store_arg(p)
    _version_arg(p)
    p.add_argument("file", nargs="?", help="a log file (one message per line), or - / nothing for stdin")
    input_format_arg(p)
    p.add_argument("--strict", action="store_true", help="exit 1 if any line was refused")
    p.add_argument("--explain", action="store_true", help="flagged records carry the spans that drove their score")
    p.add_argument("--rules", metavar="FILE", help="apply suppressions and per-route thresholds (docs/tuning.md)")
    runtime_arg(p, default=DEFAULT_RUNTIME)
    p.set_defaults(handler=cmd_score)

    p = sub.add_parser("rules", help="check a rules file (suppressions, per-route thresholds)", parents=common)
    p.add_argument("action", choices=["check"])
    p.add_argument("file", help="the YAML rules file (docs/tuning.md)")
    p.set_defaults(handler=cmd_rules)

    p = sub.add_parser(
        "models", help="list, show, promote, roll back, verify, publish or export model versions", parents=common
    )
    _store_arg(p)
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "verify", "shadow", "publish", "export"])
    p.add_argument(
        "ref", nargs="?", default="current", help="version (show/promote/verify/shadow; publish/export: a held one)"
    )
    p.add_argument(
        "--keras-only", action="store_true", help="publish: a held version, served by Keras (its export was refused)"
    )
    p.add_argument("--clear", action="store_true", help="shadow: stop scoring a candidate in shadow")
    p.add_argument("--force", action="store_true", help="promote: even above the shadow disagreement gate")
    p.add_argument("--max-disagreement", type=fraction, default=0.01, metavar="SHARE",
                   help="promote: the shadow disagreement gate (default 0.01: 1 %% of records)")  # fmt: skip
    p.add_argument("--shadow-topic", default="logsentry-shadow", help="promote: where the detectors wrote it")
    from logsentry.stream_commands import kafka_flags as _kafka

    _kafka(p, "Kafka connection, to read the shadow results at promote (flags override LOGSENTRY_* variables)")
    p.set_defaults(handler=cmd_models)

    from logsentry.stream_commands import add_commands

    add_commands(sub, common)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    from logsentry.model_store.model.tensorflow_runtime import show_native_logs

    level = "DEBUG" if args.debug else args.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    show_native_logs(args.verbose or args.debug)
    if not (args.verbose or args.debug):
        # library chatter (per-connection INFO, retry warnings) stays off stderr; our own lines stay
        for name in ("kafka", "tensorflow", "absl", "keras", "h5py", "matplotlib"):
            library = logging.getLogger(name)
            library.propagate = False  # handlers of its own (the connection check's) still see it
            library.setLevel(logging.WARNING)
        import warnings

        warnings.filterwarnings("ignore")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    _configure_logging(args)
    handler: Handler = args.handler
    try:
        return handler(args)
    except LogsentryError as exc:
        print(f"logsentry {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"logsentry {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(
            f"logsentry {args.command}: unexpected error: {type(exc).__name__}: {text} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2
