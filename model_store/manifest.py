"""What a model version says about itself (``manifest.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from logsentry.errors import CorruptArtifact
from logsentry.model_store.model.preprocessing import Preprocessing

MANIFEST_FORMAT = 1


def keras_only_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A refused ONNX export's manifest entry once its version is published served by Keras only."""
    return {**entry, "file": None, "status": "refused", "serving": "keras"}


@dataclass(frozen=True)
class TrainingData:
    name: str  # file name only: an absolute path would leak the trainer's machine layout
    sha256: str
    rows_read: int
    rows_used: int
    rows_rejected: int


@dataclass(frozen=True)
class Manifest:
    version: str
    created_at: str  # ISO 8601, UTC
    architecture: str
    variable_length: bool
    hyperparameters: Mapping[str, Any]
    preprocessing: Preprocessing
    threshold: float
    threshold_rule: str
    evaluation: Mapping[str, Any]
    training_data: TrainingData
    library_versions: Mapping[str, str]
    parameters: int
    format: int = MANIFEST_FORMAT
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the ONNX export and its check against Keras (trainer.onnx_export); None before the export existed
    onnx: Mapping[str, Any] | None = None

    @property
    def keras_only(self) -> bool:
        """Published served by Keras only: its ONNX export was refused at publish and no export ships."""
        return self.onnx is not None and self.onnx.get("serving") == "keras"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "created_at": self.created_at,
            "architecture": self.architecture,
            "variable_length": self.variable_length,
            "parameters": self.parameters,
            "hyperparameters": dict(self.hyperparameters),
            "preprocessing": self.preprocessing.to_dict(),
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "evaluation": dict(self.evaluation),
            "training_data": asdict(self.training_data),
            "library_versions": dict(self.library_versions),
            "extra": dict(self.extra),
            "onnx": None if self.onnx is None else dict(self.onnx),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Rebuild a manifest; :class:`IncompatibleArtifact` if its preprocessing is foreign."""
        if data.get("format") != MANIFEST_FORMAT:
            raise CorruptArtifact(f"manifest format {data.get('format')!r} is not {MANIFEST_FORMAT}")
        preprocessing = Preprocessing.from_dict(data["preprocessing"])
        try:
            return cls(
                version=str(data["version"]),
                created_at=str(data["created_at"]),
                architecture=str(data["architecture"]),
                variable_length=bool(data["variable_length"]),
                parameters=int(data["parameters"]),
                hyperparameters=dict(data["hyperparameters"]),
                preprocessing=preprocessing,
                threshold=float(data["threshold"]),
                threshold_rule=str(data["threshold_rule"]),
                evaluation=dict(data["evaluation"]),
                training_data=TrainingData(**data["training_data"]),
                library_versions=dict(data["library_versions"]),
                extra=dict(data.get("extra", {})),
                onnx=None if data.get("onnx") is None else dict(data["onnx"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptArtifact(f"manifest is missing or mistypes a field: {exc}") from None
