"""A real model trained where one planted token decides the label: its explanations point at it."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from logsentry.model_store.judge.verdict import judge
from logsentry.model_store.serving import load_detector
from logsentry.model_store.store import ModelStore
from logsentry.trainer.generate import generate_events

TOKEN = "zqxjk"
LETTERS = "abcdefghilmnoprstuvw "  # none of the token's letters: only the token tells the classes apart


def planted(n: int, seed: int) -> list[tuple[dict, int, int]]:
    """(event, label, token offset in ``query.ref`` or -1): every event has a ``ref`` of random words;
    in half of them the token sits at a random place inside it."""
    r = random.Random(seed)
    out = []
    for i, (event, _) in enumerate(generate_events(n, seed=seed, attack_share=0.0)):
        ref = "".join(r.choice(LETTERS) for _ in range(r.randint(20, 60)))
        at = -1
        if i % 2:
            at = r.randint(0, len(ref))
            ref = ref[:at] + TOKEN + ref[at:]
        event["query"] = {**(event.get("query") or {}), "ref": ref}
        out.append((event, i % 2, at))
    return out


def test_the_top_span_covers_the_planted_token(tmp_path: Path) -> None:
    train_csv = tmp_path / "planted.csv"
    train_csv.write_text("".join(f"|{json.dumps(e)}|,{label}\n" for e, label, _ in planted(1600, seed=1)))
    store = tmp_path / "models"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "logsentry",
            "train",
            "--data",
            str(train_csv),
            "--store",
            str(store),
            "--epochs",
            "3",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    detector = load_detector(ModelStore(store))

    held_out = [(e, at) for e, label, at in planted(400, seed=2) if label == 1]
    verdicts = judge([json.dumps(e).encode() for e, _ in held_out], detector, explained=True).verdicts
    flagged = [(v.records[0], at) for v, (_, at) in zip(verdicts, held_out, strict=True) if v.records[0].flagged]
    assert len(flagged) >= 0.9 * len(held_out), "the model learned the token"
    covered = [
        r.explanation
        and r.explanation[0].field == "query.ref"
        and r.explanation[0].start <= at
        and r.explanation[0].end >= at + len(TOKEN)
        and r.explanation[0].end - r.explanation[0].start <= len(TOKEN) + 16
        for r, at in flagged
    ]
    assert sum(covered) >= 0.9 * len(flagged), f"top span on the token in {sum(covered)} of {len(flagged)}"
