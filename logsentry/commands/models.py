"""``logsentry models``: list, show, promote, roll back, verify, publish or export model versions, or name the
shadow candidate. ``promote`` passes the promotion gate first (:func:`model_store.promotion.shadow_gate`),
with what the candidate did in shadow, read back from the shadow topic."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from logsentry.arguments import fraction, kafka_flags, kafka_values, store_arg
from logsentry.errors import ConfigError, StoreError
from logsentry.model_store.model.runtimes import require_training_extra
from logsentry.model_store.promotion import DEFAULT_MAX_DISAGREEMENT, shadow_gate


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    from logsentry.stream.settings import DEFAULT_SHADOW_TOPIC

    p = sub.add_parser(
        "models", help="list, show, promote, roll back, verify, publish or export model versions", parents=parents
    )
    store_arg(p)
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "verify", "shadow", "publish", "export"])
    p.add_argument(
        "ref", nargs="?", default="current", help="version (show/promote/verify/shadow; publish/export: a held one)"
    )
    p.add_argument(
        "--keras-only", action="store_true", help="publish: a held version, served by Keras (its export was refused)"
    )
    p.add_argument("--clear", action="store_true", help="shadow: stop scoring a candidate in shadow")
    p.add_argument("--force", action="store_true", help="promote: even above the shadow disagreement gate")
    gate = DEFAULT_MAX_DISAGREEMENT
    p.add_argument(
        "--max-disagreement",
        type=fraction,
        default=gate,
        metavar="SHARE",
        help=f"promote: the shadow disagreement gate (default {gate:g}: {gate * 100:g} %% of records)",
    )
    p.add_argument("--shadow-topic", default=DEFAULT_SHADOW_TOPIC, help="promote: where the detectors wrote it")
    kafka_flags(p, "Kafka connection, to read the shadow results at promote (flags override LOGSENTRY_* variables)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
        shadowed = _shadow_disagreement(store, args)
        if shadowed is not None:
            shadow_gate(
                *shadowed, shadow_topic=args.shadow_topic, max_disagreement=args.max_disagreement, force=args.force
            )
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


def _shadow_disagreement(store: Any, args: argparse.Namespace) -> tuple[str, float] | None:
    """The candidate and the share of records it judged unlike the current model in shadow, said on stderr.

    Read from the shadow topic when a Kafka connection is configured (flag or environment);
    None, with a note, when it is not or the version was never scored in shadow.
    """
    from logsentry.stream.settings import ENV, kafka_settings

    kafka = kafka_settings(kafka_values(args))
    if not (args.bootstrap_servers or os.environ.get(ENV["bootstrap_servers"])):
        print("shadow: not checked (no Kafka connection configured: --bootstrap-servers)", file=sys.stderr)
        return None
    from logsentry.stream.kafka.connection import check_connection
    from logsentry.stream.shadow import agreement, describe, disagreement

    version = store.resolve(args.ref)
    check_connection(kafka)
    counts = agreement(kafka, args.shadow_topic, version)
    if not counts:
        print(f"shadow: {version} was never scored in shadow (logsentry models shadow {version})", file=sys.stderr)
        return None
    print(describe(counts, version), file=sys.stderr)
    return version, disagreement(counts)
