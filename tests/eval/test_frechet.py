"""The Fréchet distance: zero for equal sets, exact for a pure shift, finite for few clips."""

from __future__ import annotations

import numpy as np
import pytest

from maskgmt.eval.frechet import frechet_distance


def test_equal_sets_are_at_distance_zero_and_a_shift_adds_its_square():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8))
    shift = rng.normal(size=8)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    # Same covariance, moved mean: the trace terms cancel and only |shift|^2 remains.
    assert frechet_distance(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-6)


def test_wider_spread_is_further_and_few_clips_in_many_dims_stay_finite():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 128))  # N << F: the sample covariance alone is singular
    near = rng.normal(size=(6, 128))
    far = 3.0 * rng.normal(size=(6, 128))
    d_near, d_far = frechet_distance(x, near), frechet_distance(x, far)
    assert np.isfinite(d_near) and 0 <= d_near < d_far


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same F"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="at least 2 clips"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
