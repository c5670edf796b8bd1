"""A Gaussian-mixture prior fitted to the latent codes of the training crops (pure numpy).

A VAE trained on a few hundred crops does not fill its standard-normal prior evenly: some
regions of latent space decode to no letter at all. Sampling instead from a mixture of
Gaussians fitted, after training, to the codes of the training crops ("ex-post density
estimation", Ghosh et al. 2020; the second stage of a two-stage VAE, Dai & Wipf 2019) keeps
samples where letters are, without retraining the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DiagonalGMM", "fit_diagonal_gmm"]

_MIN_VAR = 1e-4


@dataclass(frozen=True)
class DiagonalGMM:
    """Mixture weights ``(k,)``, means ``(k, d)`` and variances ``(k, d)``."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def sample(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        """Draw ``n`` codes; ``temperature`` scales each component's standard deviation."""
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        eps = rng.standard_normal((n, self.means.shape[1]))
        return (self.means[comp] + np.sqrt(self.variances[comp]) * eps * temperature).astype(
            np.float32
        )

    def log_likelihood(self, x: np.ndarray) -> float:
        """Mean log-density of points ``x`` ``(n, d)`` under the mixture."""
        return float(np.mean(_log_resp(np.asarray(x, np.float64), self)[1]))


def _log_resp(x: np.ndarray, gmm: DiagonalGMM) -> tuple[np.ndarray, np.ndarray]:
    """Log responsibilities ``(n, k)`` and per-point log-likelihoods ``(n,)``."""
    var = gmm.variances[None]  # (1, k, d)
    diff = x[:, None, :] - gmm.means[None]  # (n, k, d)
    log_p = -0.5 * (np.sum(diff * diff / var + np.log(2 * np.pi * var), axis=2))
    log_p += np.log(np.maximum(gmm.weights, 1e-300))[None]
    top = log_p.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))
    return log_p - log_norm[:, None], log_norm


def fit_diagonal_gmm(
    x: np.ndarray, components: int, seed: int = 0, iterations: int = 200, tol: float = 1e-5
) -> DiagonalGMM:
    """Fit a diagonal-covariance Gaussian mixture with EM (k-means++ style start).

    Args:
        x: Points ``(n, d)``.
        components: Number of mixture components (capped at ``n``).
        seed: Seed of the initialisation.
        iterations: Maximum EM iterations.
        tol: Stop when the mean log-likelihood improves by less than this.

    Returns:
        The fitted :class:`DiagonalGMM`.

    >>> rng = np.random.default_rng(0)
    >>> pts = np.concatenate([rng.normal(-3, 0.5, (200, 2)), rng.normal(3, 0.5, (200, 2))])
    >>> gmm = fit_diagonal_gmm(pts, 2, seed=0)
    >>> sorted(np.round(gmm.means[:, 0]).tolist())
    [-3.0, 3.0]
    """
    data = np.asarray(x, np.float64)
    if data.ndim != 2 or len(data) < 2 or not np.all(np.isfinite(data)):
        raise ValueError(f"Expected finite points (n >= 2, d). Received shape {data.shape}")
    k = max(1, min(int(components), len(data)))
    rng = np.random.default_rng(seed)
    # k-means++ seeding of the means
    centres = [data[rng.integers(len(data))]]
    for _ in range(k - 1):
        d2 = np.min([np.sum((data - c) ** 2, axis=1) for c in centres], axis=0)
        probs = d2 / d2.sum() if d2.sum() > 0 else None
        centres.append(data[rng.choice(len(data), p=probs)])
    var0 = np.maximum(data.var(axis=0), _MIN_VAR)
    gmm = DiagonalGMM(np.full(k, 1.0 / k), np.array(centres), np.tile(var0, (k, 1)))
    previous = -np.inf
    for _ in range(iterations):
        log_r, log_norm = _log_resp(data, gmm)
        r = np.exp(log_r)  # (n, k)
        nk = r.sum(axis=0) + 1e-10
        means = (r.T @ data) / nk[:, None]
        variances = (r.T @ (data * data)) / nk[:, None] - means * means
        gmm = DiagonalGMM(nk / nk.sum(), means, np.maximum(variances, _MIN_VAR))
        current = float(log_norm.mean())
        if current - previous < tol:
            break
        previous = current
    return gmm
