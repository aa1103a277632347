"""The ONNX export check: float noise passes, a real disagreement or a flipped verdict fails."""

from __future__ import annotations

import numpy as np
import pytest

from logsentry.errors import ExportMismatch
from logsentry.trainer.onnx_export import ATOL, LOGIT_TOLERANCE, compare, logit_differences


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-z.astype(np.float64)))).astype(np.float32)


def test_identical_scores_pass() -> None:
    scores = np.array([0.1, 0.5, 0.97], dtype=np.float32)
    check = compare(scores, scores.copy(), threshold=0.9)
    assert check.passed and check.max_abs_diff == 0 and check.max_logit_diff == 0 and check.verdict_flips == 0
    assert check.rows == 3 and check.rank_agreement == 1.0


def test_float_noise_on_the_logit_passes_whatever_the_probability() -> None:
    """The reference lstm's refusal: 1.9e-5 on a probability is 7.6e-5 of logit near 0.5."""
    z = np.linspace(-12, 12, 2001)
    reference, exported = _sigmoid(z), _sigmoid(z + 2e-4)
    assert np.abs(reference - exported).max() > 1e-5  # what the first rule (1e-5 on the score) refused
    check = compare(reference, exported, threshold=0.999)
    assert check.passed, check.describe()
    assert check.max_logit_diff < 3e-4


def test_rounding_of_a_saturated_probability_is_not_a_logit_difference() -> None:
    reference = np.array([1.0, 1 - 2**-24, 2**-30], dtype=np.float32)
    exported = np.array([1 - 2**-23, 1.0, 0.0], dtype=np.float32)
    assert (logit_differences(reference, exported) == 0).all()
    assert compare(reference, exported, threshold=0.5).passed


def test_a_real_disagreement_fails_even_where_probabilities_hardly_move() -> None:
    z = np.array([-9.0, 0.0, 9.0])
    reference, exported = _sigmoid(z), _sigmoid(z + 0.05)  # a dropped bias of 0.05
    check = compare(reference, exported, threshold=0.999)
    assert not check.passed and check.verdict_flips == 0
    assert check.max_logit_diff == pytest.approx(0.05, rel=0.05)
    saturated = compare(reference[2:], _sigmoid(z[2:] + 0.05), threshold=0.5)
    assert not saturated.passed and saturated.max_abs_diff < 1e-5  # within the old rule, caught on the logit


def test_the_tolerance_separates_noise_from_error() -> None:
    p = np.float32(0.5)
    within = p + np.float32(0.25 * LOGIT_TOLERANCE * 0.9) + np.float32(ATOL)
    beyond = p + np.float32(0.25 * LOGIT_TOLERANCE * 1.2) + np.float32(ATOL)
    assert compare(np.array([p]), np.array([within], np.float32), threshold=0.9).passed
    assert not compare(np.array([p]), np.array([beyond], np.float32), threshold=0.9).passed


def test_a_flipped_verdict_fails_even_within_the_tolerance() -> None:
    threshold = 0.9
    reference = np.array([np.nextafter(np.float32(threshold), np.float32(1))], dtype=np.float32)
    exported = np.array([np.float32(threshold) - np.float32(1e-7)], dtype=np.float32)
    check = compare(reference, exported, threshold)
    assert check.max_logit_diff <= LOGIT_TOLERANCE and check.verdict_flips == 1 and not check.passed


def test_nan_scores_fail_and_shapes_must_match() -> None:
    check = compare(np.array([0.1, 0.2], np.float32), np.array([np.nan, 0.2], np.float32), 0.5)
    assert not check.passed and check.max_logit_diff == float("inf") and check.rank_agreement is None
    with pytest.raises(ExportMismatch):
        compare(np.zeros(3, np.float32), np.zeros(2, np.float32), 0.5)
