"""Percentile-bootstrap intervals over clips: one set of resample weights shared by every figure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 1000
# A figure whose statistic is undefined (NaN: a zero denominator) in more resamples than this
# fraction has no interval: the tail the percentiles would need is missing.
MAX_UNDEFINED = (1.0 - CONFIDENCE) / 2

# A statistic maps clip weights w[R, n] (how often each of n clips is drawn in each of R
# resamples; all ones for the point estimate) to its R values.
Statistic = Callable[[np.ndarray], np.ndarray]


def resample_weights(n: int, *, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """-> w[R, n] float64: counts of each clip in R bootstrap resamples of n clips (rows sum to
    n). Seeded, so reruns give identical intervals; every figure of one evaluation shares it,
    which keeps paired figures (generated vs codec on the same rows) paired."""
    if n < 1 or resamples < 1:
        raise ValueError(f"resample_weights: expected n >= 1 and resamples >= 1, got {n}, "
                         f"{resamples}")  # fmt: skip
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    offsets = draws + n * np.arange(resamples)[:, None]
    return np.bincount(offsets.ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)


def estimate(stat: Statistic, weights: np.ndarray) -> tuple[float, float, float]:
    """A statistic and w[R, n] -> (point estimate on all clips, lo, hi) of the percentile
    interval at CONFIDENCE; NaN bounds when the statistic is undefined too often."""
    point = float(stat(np.ones((1, weights.shape[1])))[0])
    lo, hi = percentile_interval(stat(weights))
    return point, lo, hi


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """samples[R] of a statistic over resamples -> (lo, hi) percentiles at CONFIDENCE."""
    samples = np.asarray(samples, dtype=float)
    finite = np.isfinite(samples)
    if not finite.any() or 1.0 - finite.mean() > MAX_UNDEFINED:
        return float("nan"), float("nan")
    tail = 100 * (1.0 - CONFIDENCE) / 2
    lo, hi = np.percentile(samples[finite], [tail, 100 - tail])
    return float(lo), float(hi)


def mean_stat(x: Sequence[float] | np.ndarray) -> Statistic:
    """Per-clip values x[n] -> the statistic 'weighted mean of x'."""
    x = np.asarray(x, dtype=float)

    def stat(w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # no clip drawn: NaN
            return (w @ x) / w.sum(axis=1)

    return stat


def majority_stat(matches: np.ndarray) -> Statistic:
    """matches[C, n] bool (does constant guess c match clip i) -> the statistic 'accuracy of the
    best constant guess on all clips' (chance). The guess is chosen once: re-choosing it in every
    resample would take a maximum of noisy rates, biased upward, so that the interval of a
    uniform 6-way chance of 17 % on 12 clips would not even contain 17 %."""
    m = np.asarray(matches, dtype=float)
    best = int(np.argmax(m.mean(axis=1)))  # the first of tied guesses, as chance_accuracy
    return mean_stat(m[best])


def ratio_stat(num: Statistic, den: Statistic) -> Statistic:
    """num / den, NaN where den <= 0 (no meaningful ratio)."""

    def stat(w: np.ndarray) -> np.ndarray:
        d = den(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 0, num(w) / np.where(d > 0, d, 1.0), np.nan)

    return stat


def diff_stat(a: Statistic, b: Statistic) -> Statistic:
    """a - b, both on the same resamples (a paired difference)."""
    return lambda w: a(w) - b(w)


def adherence_stat(source: Statistic, ceiling: Statistic, chance: Statistic) -> Statistic:
    """(source - chance) / (ceiling - chance): 0 at chance, 1 at the ceiling; NaN where the
    ceiling is not above chance."""
    return ratio_stat(diff_stat(source, chance), diff_stat(ceiling, chance))


def rank_corr_stat(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Statistic:
    """Per-clip x[n], y[n] -> the statistic 'Spearman rank correlation of x and y' over the clips
    where both are finite. Ranks (ties averaged) are taken once on those clips; each resample is
    the weighted Pearson correlation of the ranks. NaN where fewer than 3 clips or no spread."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return lambda w: np.full(w.shape[0], np.nan)
    rx, ry = _ranks(x[keep]), _ranks(y[keep])

    def stat(w: np.ndarray) -> np.ndarray:
        w = w[:, keep]
        total = w.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = rx - (w @ rx)[:, None] / total
            dy = ry - (w @ ry)[:, None] / total
            cov = (w * dx * dy).sum(axis=1)
            return cov / np.sqrt((w * dx**2).sum(axis=1) * (w * dy**2).sum(axis=1))

    return stat


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of v[n], ties given their mean rank."""
    ranks = np.empty(len(v))
    ranks[np.argsort(v, kind="stable")] = np.arange(len(v), dtype=float)
    values, counts = np.unique(v, return_counts=True)
    for value in values[counts > 1]:
        tied = v == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def subset(stat: Statistic, idx: Sequence[int] | np.ndarray) -> Statistic:
    """A statistic over the clips `idx` of the full set (e.g. the rows with a reference), so it
    can share the full set's resample weights."""
    idx = np.asarray(idx, dtype=int)
    return lambda w: stat(w[:, idx])
