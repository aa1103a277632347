"""The ONNX export check: what makes an export acceptable, on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from logsentry.model_store.errors import ExportMismatch
from logsentry.trainer.onnx_export import TOLERANCE, compare


def test_identical_scores_pass() -> None:
    scores = np.array([0.1, 0.5, 0.97], dtype=np.float32)
    check = compare(scores, scores.copy(), threshold=0.9)
    assert check.passed and check.max_abs_diff == 0 and check.verdict_flips == 0 and check.rows == 3


def test_a_difference_above_the_tolerance_fails() -> None:
    reference = np.array([0.1, 0.2], dtype=np.float32)
    check = compare(reference, reference + np.float32(3 * TOLERANCE), threshold=0.9)
    assert not check.passed and check.verdict_flips == 0 and check.max_abs_diff > TOLERANCE


def test_a_flipped_verdict_fails_even_within_the_tolerance() -> None:
    threshold = 0.9
    reference = np.array([np.nextafter(np.float32(threshold), np.float32(1))], dtype=np.float32)
    exported = np.array([np.float32(threshold) - np.float32(1e-7)], dtype=np.float32)
    check = compare(reference, exported, threshold)
    assert check.max_abs_diff <= TOLERANCE and check.verdict_flips == 1 and not check.passed


def test_nan_scores_fail_and_shapes_must_match() -> None:
    assert not compare(np.array([0.1], np.float32), np.array([np.nan], np.float32), 0.5).passed
    with pytest.raises(ExportMismatch):
        compare(np.zeros(3, np.float32), np.zeros(2, np.float32), 0.5)
