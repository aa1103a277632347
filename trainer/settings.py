"""The trainer's one frozen settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model_store.preprocessing import REFERENCE_MAX_LEN, OovPolicy

# Length buckets for variable-length models: cleaned requests average ~155 characters
# (p99 ~ 300). Steps of 32 up to 320 pad the average request by ~16 characters instead of
# ~40 with steps of 64 (12 % less work per event); above that requests are rare and every
# bucket present in a batch costs one model call (~1-4 ms of fixed cost), so steps widen.
# 1,024 stays the hard limit.
DEFAULT_BUCKETS: tuple[int, ...] = (*range(32, 321, 32), 384, 512, 768, 1024)


@dataclass(frozen=True)
class TrainSettings:
    data: Path
    store: Path
    architecture: str = "conv-lstm"
    epochs: int | None = None  # None: the architecture's default
    batch_size: int | None = None  # None: the architecture's default
    test_size: float = 0.25
    validation_split: float = 0.25
    seed: int = 42
    max_len: int = REFERENCE_MAX_LEN
    oov: OovPolicy = "index"
    threshold_rule: str = "f1"
    strict: bool = False
    promote: bool = True
    verbose: int = 2  # Keras progress output: 0 silent, 1 bar, 2 one line per epoch
