"""The bias–variance predictions of `attnbench.theory.lla` (Zuo et al. 2025 §2; classical IMSE theory)."""

from __future__ import annotations

import numpy as np
import pytest

from attnbench.theory import lla as theory


def test_misspecification_floor_matches_quadrature():
    """The closed form against a least-squares fit on a dense midpoint grid of [0, 1] (d = 1)."""
    x = (np.arange(200000) + 0.5) / 200000
    y = np.sin(3 * x)
    design = np.stack([np.ones_like(x), x], axis=1)
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert theory.linear_misspecification_floor(1, 3.0) == pytest.approx(np.mean(residual**2), rel=1e-6)
    assert theory.linear_misspecification_floor(3, 3.0) == pytest.approx(3 * np.mean(residual**2), rel=1e-6)


def test_predicted_exponents():
    assert theory.nadaraya_watson_imse_exponent(1) == pytest.approx(-0.75)
    assert theory.local_linear_imse_exponent(2) == pytest.approx(-2 / 3)
