"""The accuracy-on-the-line fit itself: OLS on probit axes with a bootstrap CI of r.

One line over a set of (ID accuracy, OOD accuracy) points; :mod:`tecurate.analysis._aotl` fits
it twice (all models, healthy models) to tell a genuine line from one collapse made, and
agreement-on-the-line uses the same probit axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tecurate._lazy import lazy

special = lazy("scipy.special")
stats = lazy("scipy.stats")

__all__ = ["LineFit", "fit_line", "probit"]

_MIN_VALID_BOOTSTRAP_SHARE = 0.5
"""Below this share of non-degenerate resamples, the percentile interval describes a conditional
distribution rather than the sampling one, so no CI is reported."""


def probit(acc: ArrayLike, eps: float) -> np.ndarray:
    """Φ⁻¹ of accuracies clipped to [eps, 1 − eps], the axes on which AotL is linear.

    Clipping keeps perfect and zero-accuracy models finite (with ``--probit-eps`` 1e-3,
    Φ⁻¹(1e-3) ≈ −3.09) instead of dropping them, at the cost of pinning them to the edge of the plot.
    """
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    arr = np.asarray(acc, dtype=float)
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError("accuracies must lie in [0, 1] (and not be NaN)")
    return special.ndtri(np.clip(arr, eps, 1.0 - eps))  # stats.norm.ppf's own kernel, without its ~0.1 ms of checks


@dataclass(frozen=True)
class LineFit:
    """OLS of probit(OOD acc) on probit(ID acc); undefined quantities are None, never NaN."""

    n: int
    slope: float | None
    intercept: float | None
    r: float | None
    r2: float | None
    p_value: float | None
    """Two-sided, for H0: slope = 0 (scipy.stats.linregress)."""
    r_ci: tuple[float, float] | None
    """Percentile bootstrap CI of r over resampled points."""


def _is_constant(v: np.ndarray) -> bool:
    return bool(np.all(v == v[0]))


def _bootstrap_r_ci(
    x: np.ndarray, y: np.ndarray, n_bootstrap: int, ci_level: float, seed: int
) -> tuple[float, float] | None:
    """Vectorized percentile CI of Pearson r; resamples with a constant axis are skipped."""
    if n_bootstrap == 0:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_bootstrap, x.size))
    xb, yb = x[idx], y[idx]
    # ptp, not the variance: the mean of identical floats can round, leaving a tiny spurious spread
    valid = (np.ptp(xb, axis=1) > 0) & (np.ptp(yb, axis=1) > 0)
    n_valid = int(valid.sum())
    if n_valid < max(2, _MIN_VALID_BOOTSTRAP_SHARE * n_bootstrap):
        return None
    xc = xb[valid] - xb[valid].mean(axis=1, keepdims=True)
    yc = yb[valid] - yb[valid].mean(axis=1, keepdims=True)
    r = np.einsum("ij,ij->i", xc, yc) / np.sqrt(
        np.einsum("ij,ij->i", xc, xc) * np.einsum("ij,ij->i", yc, yc)
    )
    tail = (1.0 - ci_level) / 2.0
    lo, hi = np.quantile(np.clip(r, -1.0, 1.0), [tail, 1.0 - tail])
    return float(lo), float(hi)


def fit_line(
    acc_id: ArrayLike,
    acc_ood: ArrayLike,
    *,
    eps: float,
    n_bootstrap: int,
    ci_level: float = 0.95,
    seed: int = 0,
) -> LineFit:
    """Fit the AotL line on probit axes, with a seeded bootstrap CI for r.

    With fewer than 3 points, or when either axis is constant after probit (e.g. every model at
    the same accuracy), r and the slope's test are undefined, so everything but ``n`` is None.
    """
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    x, y = probit(acc_id, eps), probit(acc_ood, eps)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"acc_id and acc_ood must be 1-D of equal length: {x.shape} vs {y.shape}")
    n = int(x.size)
    if n < 3 or _is_constant(x) or _is_constant(y):
        return LineFit(n=n, slope=None, intercept=None, r=None, r2=None, p_value=None, r_ci=None)
    res = stats.linregress(x, y)
    return LineFit(
        n=n,
        slope=float(res.slope),
        intercept=float(res.intercept),
        r=float(res.rvalue),
        r2=float(res.rvalue) ** 2,
        p_value=float(res.pvalue),
        r_ci=_bootstrap_r_ci(x, y, n_bootstrap, ci_level, seed),
    )
