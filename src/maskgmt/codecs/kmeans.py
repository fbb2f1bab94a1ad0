"""k-means in torch (k-means++ seeding, Lloyd), nearest-centroid search, residual VQ fitting."""

from __future__ import annotations

import torch

from maskgmt.progress import tqdm

# Rows of x per distance block: bounds the (rows, V) distance matrix to a few tens of MB.
_BLOCK = 4096


def nearest(x: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x[N, F], centroids[V, F] -> (index[N] long, squared distance[N]) of the nearest centroid."""
    c_sq = (centroids * centroids).sum(-1)  # (V,)
    index = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    dist = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for start in range(0, x.shape[0], _BLOCK):
        xb = x[start : start + _BLOCK]
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; ||x||^2 is constant per row for the argmin.
        scores = c_sq[None, :] - 2.0 * (xb @ centroids.T)  # (n, V)
        best, idx = scores.min(dim=-1)
        index[start : start + _BLOCK] = idx
        dist[start : start + _BLOCK] = (best + (xb * xb).sum(-1)).clamp_min(0.0)
    return index, dist


def kmeans_pp(x: torch.Tensor, k: int, *, generator: torch.Generator, rounds: int = 32):
    """k-means++ seeding in `rounds` batches: x[N, F] -> centroids[k, F].

    Each round draws k / rounds new seeds with probability ~ squared distance to the seeds so
    far (as k-means|| does), so the cost is `rounds` matrix products instead of k passes.
    """
    n = x.shape[0]
    per_round = max(1, -(-k // rounds))
    first = torch.randint(n, (1,), generator=generator, device="cpu").to(x.device)
    centroids = x[first]  # (1, F)
    _, d2 = nearest(x, centroids)
    while centroids.shape[0] < k:
        m = min(per_round, k - centroids.shape[0])
        weights = d2.double().cpu()
        if float(weights.sum()) <= 0.0:  # fewer distinct points than k: any will do
            weights = torch.ones(n, dtype=torch.float64)
        m = min(m, int((weights > 0).sum()))
        picks = torch.multinomial(weights, m, replacement=False, generator=generator)
        new = x[picks.to(x.device)]
        centroids = torch.cat([centroids, new])
        _, d_new = nearest(x, new)
        d2 = torch.minimum(d2, d_new)
    return centroids


def kmeans(x: torch.Tensor, k: int, *, iters: int = 10, generator: torch.Generator) -> torch.Tensor:
    """Fit k centroids to x[N, F] (N >= k): k-means++ seeding, then `iters` Lloyd iterations.

    An emptied cluster is moved onto the point that is currently worst served, so all k codes
    stay in use. Returns centroids[k, F].
    """
    n = x.shape[0]
    if n < k:
        raise ValueError(f"k-means needs at least k={k} points; got {n}")
    centroids = kmeans_pp(x, k, generator=generator)
    for _ in range(iters):
        index, dist = nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, index, x)
        counts = torch.bincount(index, minlength=k).to(x.dtype)
        centroids = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centroids)
        empty = (counts == 0).nonzero().flatten()
        if empty.numel():
            worst = dist.topk(empty.numel()).indices
            centroids[empty] = x[worst]
    return centroids


def residual_kmeans(
    x: torch.Tensor,
    *,
    levels: int,
    k: int,
    iters: int,
    generator: torch.Generator,
    progress: bool = True,
) -> torch.Tensor:
    """Residual VQ codebooks for x[N, F]: level l is k-means on what levels < l left over.

    Returns codebooks[levels, k, F]. Shows a progress bar (one step per level) unless
    `progress` is False.
    """
    residual = x.clone()
    codebooks = []
    bar = tqdm(range(levels), desc="fitting codebooks", unit="level", disable=not progress)
    for _ in bar:
        centroids = kmeans(residual, k, iters=iters, generator=generator)
        index, _ = nearest(residual, centroids)
        residual -= centroids[index]
        codebooks.append(centroids)
        bar.set_postfix(rms=f"{float(residual.pow(2).mean().sqrt()):.3f}")
    return torch.stack(codebooks)
