"""``logsentry`` and its subcommands. Each handler parses, builds settings, calls the library.

Heavy modules (TensorFlow, Kafka clients) are imported inside the handlers that need them, so
``logsentry models list`` answers at once and ``logsentry stream`` loads no deep-learning code until
it needs a model. The stream package never imports the trainer; only this parser reads the
architecture names (trainer.architectures imports Keras lazily).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from model_store.errors import InvalidEvent, LogsentryError

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
    from trainer.generate import write_csv

    write_csv(args.out, args.rows, seed=args.seed, attack_share=args.attack_share)
    print(f"wrote {args.rows} labelled request logs to {args.out}", file=sys.stderr)
    return 0


# -- train --------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from trainer.settings import TrainSettings
    from trainer.training import train

    settings = TrainSettings(
        data=args.data,
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
    )
    result = train(settings)
    test = result.evaluations["test"]
    print(
        f"published {result.version} ({settings.architecture}) to {settings.store}: "
        f"test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}, threshold {test.threshold:.4f}, "
        f"trained in {result.train_seconds:.1f} s" + ("" if settings.promote else " (not promoted)")
    )
    return 0


# -- evaluate -----------------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    from model_store.scoring import load_detector
    from model_store.store import ModelStore
    from trainer.data import read_labelled_csv
    from trainer.evaluation import evaluate

    detector = load_detector(ModelStore(args.store), args.version)
    logs = read_labelled_csv(args.data, strict=args.strict)
    scores = detector.score_events(logs.events)
    result: dict[str, object] = {**evaluate(logs.labels, scores, detector.threshold).to_dict()}
    result |= {"version": detector.version, "rows_rejected": len(logs.rejected)}
    if args.json:
        print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}))
    else:
        for key, value in result.items():
            print(f"{key:>20}  {value:.4f}" if isinstance(value, float) else f"{key:>20}  {value}")
    return 0


# -- score --------------------------------------------------------------------------------
def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def score_lines(detector: Any, lines: Iterable[str], out: TextIO, chunk: int = 2048) -> tuple[int, int]:
    """Score JSON lines; one output line per input line (an ``error`` line for a bad one).

    Lines are decoded by the stream's own strict decoder, so a line the stream would
    dead-letter is an error here too.
    """
    from stream.decode import decode_event

    number = errors = 0
    for block in _chunks(lines, chunk):
        parsed: list[tuple[int, Any]] = []
        results: dict[int, dict[str, Any]] = {}
        for line in block:
            number += 1
            try:
                parsed.append((number, decode_event(line.rstrip("\r\n").encode("utf-8", "surrogatepass"))))
            except InvalidEvent as exc:
                results[number] = {"line": number, "error": str(exc)[:200]}
        texts: list[str] = []
        kept: list[int] = []
        for n, event in parsed:
            try:
                texts.append(detector.preprocessing.texts([event])[0])
                kept.append(n)
            except InvalidEvent as exc:
                results[n] = {"line": n, "error": str(exc)[:200]}
        scores = detector.score_texts(texts)
        for n, score in zip(kept, scores, strict=True):
            results[n] = {
                "line": n,
                "score": round(float(score), 6),
                "flagged": bool(score >= detector.threshold),
                "version": detector.version,
            }
        for n in sorted(results):
            errors += "error" in results[n]
            out.write(json.dumps(results[n]) + "\n")
    return number, errors


def cmd_score(args: argparse.Namespace) -> int:
    from model_store.scoring import load_detector
    from model_store.store import ModelStore

    detector = load_detector(ModelStore(args.store), args.version)
    source = sys.stdin if args.file in (None, "-") else open(args.file, encoding="utf-8")  # noqa: SIM115
    with source:
        lines = (line for line in source if line.strip())
        total, errors = score_lines(detector, lines, sys.stdout)
    print(f"scored {total - errors} of {total} lines with {detector.version}; {errors} unreadable", file=sys.stderr)
    return 1 if errors and args.strict else 0


# -- models -------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> int:
    from model_store.store import ModelStore

    store = ModelStore(args.store)
    if args.action == "list":
        infos = store.info()
        if not infos:
            print(f"no versions in {store.root}")
        for info in infos:
            test = info.manifest.evaluation.get("test", {})
            print(
                f"{'*' if info.current else ' '} {info.version}  {info.manifest.architecture:<10} "
                f"threshold={info.manifest.threshold:.4f} test_accuracy={test.get('accuracy', float('nan')):.4f} "
                f"created={info.manifest.created_at}"
            )
    elif args.action == "show":
        print(json.dumps(store.manifest(args.ref).to_dict(), indent=2))
    elif args.action == "promote":
        print(f"current: {store.promote(args.ref)}")
    elif args.action == "rollback":
        print(f"current: {store.rollback()}")
    elif args.action == "verify":
        print(f"ok: {store.verify(args.ref).name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logsentry", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default=os.environ.get("LOGSENTRY_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write realistic labelled request logs (CSV)")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attack-share", type=float, default=0.5)
    p.set_defaults(handler=cmd_generate)

    from trainer.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE

    p = sub.add_parser("train", help="train a model version from labelled CSV and publish it")
    p.add_argument("--data", type=Path, required=True, help="labelled CSV (|json|,label)")
    _store_arg(p)
    p.add_argument("--architecture", choices=list(ARCHITECTURES), default=DEFAULT_ARCHITECTURE)
    p.add_argument("--epochs", type=int, help="default: the architecture's (reference: 3)")
    p.add_argument("--batch-size", type=int, help="default: the architecture's (reference: 128)")
    p.add_argument("--test-size", type=float, default=0.25)
    p.add_argument("--validation-split", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-len", type=int, default=1024)
    p.add_argument(
        "--oov",
        choices=["index", "drop"],
        default="index",
        help="unseen characters: a reserved index (default) or dropped (the reference)",
    )
    p.add_argument("--threshold-rule", default="f1", help="f1 (default), fpr:<rate> or fixed:<t>")
    p.add_argument("--strict", action="store_true", help="a malformed row is fatal")
    p.add_argument("--no-promote", action="store_true", help="publish without making it current")
    p.add_argument("--keras-verbose", type=int, default=2, choices=[0, 1, 2])
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a model version on labelled CSV")
    _store_arg(p)
    _version_arg(p)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("score", help="score request logs (JSON lines) offline")
    _store_arg(p)
    _version_arg(p)
    p.add_argument("file", nargs="?", help="JSON-lines file, or - / nothing for stdin")
    p.add_argument("--strict", action="store_true", help="exit 1 if any line was unreadable")
    p.set_defaults(handler=cmd_score)

    p = sub.add_parser("models", help="list, show, promote, roll back or verify model versions")
    _store_arg(p)
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "verify"])
    p.add_argument("ref", nargs="?", default="current", help="version (for show/promote/verify)")
    p.set_defaults(handler=cmd_models)

    _add_stream_commands(sub)
    return parser


def _add_stream_commands(sub: Any) -> None:
    try:
        from stream.cli import add_commands
    except ImportError:  # the stream package is optional until it exists
        return
    add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("kafka").setLevel(logging.WARNING)  # its INFO is per-connection chatter
    handler: Handler = args.handler
    try:
        return handler(args)
    except LogsentryError as exc:
        print(f"logsentry {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
