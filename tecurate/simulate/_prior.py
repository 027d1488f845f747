"""The model-free core: the class prior alone, re-estimated generation after generation.

Generation t draws n_t labels: round(α·n_t) fresh real ones from the true shares and the rest
from generation t−1's estimated shares (a multinomial resampling chain, the Wright–Fisher model
of population genetics), and estimates the shares from them (``replace``) or from every label
drawn so far (``accumulate``). Its behaviour is known in closed form, which makes it the
simulator's known answer (``tests/test_simulate_prior.py``): with α = 0 and ``replace``,
E[G_t] = G_0 · Π_{s=1..t} (1 − 1/n_s) for the Gini impurity G = 1 − Σ p², so with constant n
the chain is absorbed at one class (collapse), each class with probability equal to its initial
share, while Σ 1/n_t < ∞ (a power schedule) keeps G away from 0; with α > 0 the shares have a
stationary distribution around the truth.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from tecurate.simulate._schedule import Schedule, sizes

MODES = ("replace", "accumulate")
"""``replace``: train on the current mixture only; ``accumulate``: on every row so far."""


def gini(shares: ArrayLike) -> np.ndarray:
    """Gini impurity 1 − Σ p² over the last axis: 0 exactly when one class holds every label."""
    p = np.asarray(shares, dtype=float)
    return 1.0 - np.sum(p * p, axis=-1)


def prior_chain(
    start: ArrayLike,
    generations: int,
    *,
    n0: int,
    schedule: Schedule = Schedule("constant"),
    real_fraction: float = 0.0,
    mode: str = "replace",
    truth: ArrayLike | None = None,
    cap: int | None = None,
    n_chains: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Shares of ``n_chains`` independent chains, shape ``(n_chains, generations + 1, K)``.

    Generation 0 is ``start`` (for ``accumulate``: n0 labels at exactly those shares); fresh
    real labels come from ``truth`` (default ``start``). All chains run at once, vectorized.
    """
    p0 = _shares(start, "start")
    real = p0 if truth is None else _shares(truth, "truth")
    if real.size != p0.size:
        raise ValueError("start and truth must have the same number of classes")
    if not 0.0 <= real_fraction <= 1.0:
        raise ValueError(f"real_fraction must be in [0, 1], got {real_fraction}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rng = np.random.default_rng(seed)
    n_t, _ = sizes(schedule, n0, generations, cap)
    out = np.empty((n_chains, generations + 1, p0.size))
    out[:, 0] = p0
    counts = np.tile(p0 * n_t[0], (n_chains, 1))
    seen = float(n_t[0])
    for t in range(1, generations + 1):
        n_real = int(round(real_fraction * n_t[t]))
        drawn = rng.multinomial(n_t[t] - n_real, out[:, t - 1]) + rng.multinomial(n_real, real, size=n_chains)
        if mode == "replace":
            counts, seen = drawn.astype(float), float(n_t[t])
        else:
            counts, seen = counts + drawn, seen + n_t[t]
        out[:, t] = counts / seen
    return out


def _shares(values: ArrayLike, name: str) -> np.ndarray:
    p = np.asarray(values, dtype=float)
    if p.ndim != 1 or p.size < 2 or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError(f"{name} must be a vector of at least 2 non-negative shares summing to 1")
    return p / p.sum()
