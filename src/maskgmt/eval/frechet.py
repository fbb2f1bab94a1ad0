"""Fréchet distance between two sets of embeddings, with covariance shrinkage for small sets."""

from __future__ import annotations

import numpy as np


def shrunk_covariance(x: np.ndarray) -> np.ndarray:
    """x[N, F] -> [F, F] Ledoit–Wolf shrunk covariance.

    With N clips and F > N dimensions the sample covariance is singular and its matrix square
    root meaningless; shrinking toward a scaled identity (the Ledoit–Wolf optimal amount) keeps it
    well-conditioned. The cost: distances are comparable only between sets of similar size.
    """
    from sklearn.covariance import ledoit_wolf

    if x.shape[0] < 2:
        raise ValueError(f"x: a covariance needs at least 2 clips, got {x.shape[0]}")
    cov, _ = ledoit_wolf(x)
    return cov


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """x[N, F], y[M, F] embeddings -> squared Fréchet distance between Gaussians fitted to each:
    |mu_x - mu_y|^2 + tr(Sx + Sy - 2 (Sx^1/2 Sy Sx^1/2)^1/2), covariances shrunk (see above)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x, y: expected [N, F] and [M, F] with the same F, got {x.shape}, {y.shape}"
        )
    sx, sy = shrunk_covariance(x), shrunk_covariance(y)
    # tr((Sx Sy)^1/2) through the symmetric form Sx^1/2 Sy Sx^1/2: its eigenvalues are real and
    # >= 0, which avoids scipy.linalg.sqrtm's complex round-off on near-singular products.
    w, v = np.linalg.eigh(sx)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root @ sy @ root)
    tr_cross = np.sqrt(np.clip(inner, 0, None)).sum()
    diff = x.mean(axis=0) - y.mean(axis=0)
    return float(max(diff @ diff + np.trace(sx) + np.trace(sy) - 2 * tr_cross, 0.0))
