"""The trainer's one frozen settings object."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from logsentry.errors import ConfigError
from logsentry.model_store.ingest.formats import InputFormat
from logsentry.model_store.model.preprocessing import REFERENCE_MAX_LEN, OovPolicy, Units
from logsentry.trainer.architectures import DEFAULT_ARCHITECTURE, SCHEDULES, Schedule
from logsentry.trainer.threshold_rules import DEFAULT_THRESHOLD_RULE, check_threshold_rule

ExportFallback = Literal["hold", "keras"]

# Length buckets for variable-length models: cleaned requests average ~155 characters
# (p99 ~ 300). Steps of 32 up to 320 pad the average request by ~16 characters instead of
# ~40 with steps of 64 (12 % less work per event); above that requests are rare and every
# bucket present in a batch costs one model call (~1-4 ms of fixed cost), so steps widen.
# 1,024 stays the hard limit.
DEFAULT_BUCKETS: tuple[int, ...] = (*range(32, 321, 32), 384, 512, 768, 1024)


# The longest value a value-level model reads at once; a longer one is read as windows of it.
VALUE_MAX_LEN = 256

# Rows the streaming pipeline shuffles among: ~2-8 MB of ids at the usual request lengths,
# and wide enough to mix rows of several files read side by side.
DEFAULT_SHUFFLE_BUFFER = 20_000


# Generated requests of many sites mixed into every training run unless --augment says
# otherwise: as many as the user's data has rows, at most this many (bench/cross_site.py).
DEFAULT_AUGMENT_CAP = 20_000

# Distinct benign values of the corpus's real training sites a run reads (trainer/corpus.py).
DEFAULT_CORPUS_VALUES = 200_000


def augment_rows(settings_augment: int | None, user_rows: int) -> int:
    """The number of generated requests a run adds: the setting, or by default one per user row up to the cap."""
    return min(user_rows, DEFAULT_AUGMENT_CAP) if settings_augment is None else settings_augment


@dataclass(frozen=True)
class TrainSettings:
    data: tuple[Path, ...]
    store: Path
    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int | None = None  # None: the architecture's default
    batch_size: int | None = None  # None: the architecture's default
    test_size: float = 0.25
    validation_split: float = 0.25
    seed: int = 42
    max_len: int | None = None  # None: 1,024 (request units, the reference) or VALUE_MAX_LEN (value units)
    oov: OovPolicy = "index"
    threshold_rule: str = DEFAULT_THRESHOLD_RULE  # an alert budget: at most 0.2 % of benign validation requests
    strict: bool = False
    promote: bool = True
    verbose: int = 2  # Keras progress output: 0 silent, 1 bar, 2 one line per epoch
    input_format: InputFormat = field(default_factory=InputFormat)
    label: int | None = None  # one label for every row of log files (not labelled CSV)
    augment: int | None = None  # generated requests of many sites added; None: DEFAULT_AUGMENT's rule
    benign: tuple[Path, ...] = ()  # a site's own (mostly benign) logs: screened, attacks grafted into them
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER  # rows the streaming pipeline shuffles among
    worker_report: Path | None = None  # where a worker of a multi-worker run writes its digest and times
    from_topic: bool = False  # rows also come from a Kafka topic's offset range
    export_fallback: ExportFallback = "hold"  # a refused ONNX export: hold the version, or publish it on Keras
    units: Units | None = None  # None: "values" for variable-length architectures, "request" for fixed-width ones
    corpus: Path | None = None  # the public corpus mixed in (bench/data); None: none
    corpus_values: int = DEFAULT_CORPUS_VALUES  # distinct benign values of the corpus's training sites read
    schedule: Schedule = "annealed"  # the default family's rate and weights; the reference models keep theirs

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any], **given: Any) -> TrainSettings:
        """The settings of a ``train`` command: every flag named as a field, then ``given`` (the
        fields whose flag says it otherwise). ``corpus`` is left to :func:`trainer.inputs.gather`,
        which resolves the flag's ``DIR|none`` and the environment."""
        names = {f.name for f in dataclasses.fields(cls)} - {"corpus"} - given.keys()
        return cls(**{name: flags[name] for name in names if name in flags}, **given)

    def __post_init__(self) -> None:
        if not self.data and not self.benign and not self.from_topic:
            raise ConfigError(
                "give training data: --data FILE (labelled), --benign FILE (a site's own logs), --from-topic TOPIC, "
                "or several of them"
            )
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
        if self.max_len is not None and self.max_len < 8:
            raise ConfigError(f"--max-len must be at least 8, not {self.max_len}")
        if self.units not in (None, "request", "values"):
            raise ConfigError(f"--units must be request or values, not {self.units!r}")
        if self.units == "values" and not self.variable_length:
            raise ConfigError(f"value units need a variable-length architecture: {self.architecture} reads one width")
        if self.corpus_values < 0:
            raise ConfigError(f"--corpus-values must be 0 or more, not {self.corpus_values}")
        if not (0 < self.test_size < 1 and 0 < self.validation_split < 1):
            raise ConfigError("--test-size and --validation-split must lie strictly between 0 and 1")
        check_threshold_rule(self.threshold_rule)
        if self.augment is not None and self.augment < 0:
            raise ConfigError(f"--augment must be 0 or more, not {self.augment}")
        if self.shuffle_buffer < 1:
            raise ConfigError(f"--shuffle-buffer must be at least 1, not {self.shuffle_buffer}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"--schedule must be annealed or constant, not {self.schedule!r}")
        if self.export_fallback not in ("hold", "keras"):
            raise ConfigError(f"--export-fallback must be hold or keras, not {self.export_fallback!r}")
        if self.label not in (None, 0, 1):
            raise ConfigError(f"--label must be 0 or 1, not {self.label}")

    @property
    def variable_length(self) -> bool:
        from logsentry.trainer.architectures import get_architecture

        return get_architecture(self.architecture).variable_length

    @property
    def resolved_units(self) -> Units:
        """What the model reads: each value the client sent, or the whole request (the reference's)."""
        if self.units is not None:
            return self.units
        return "values" if self.variable_length else "request"

    @property
    def resolved_max_len(self) -> int:
        if self.max_len is not None:
            return self.max_len
        return VALUE_MAX_LEN if self.resolved_units == "values" else REFERENCE_MAX_LEN
