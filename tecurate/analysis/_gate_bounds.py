"""Confidence bounds on the shares the gates and ``compare`` judge: a few dozen models each.

A collapse rate of 24 models moves in steps of 4 points, and which borderline configuration
collapses changes with the split: a gate or a comparison that reads the point estimate fires
on chance (validation/RESULTS.md §7). These bounds say how far a share may be from its
expectation given its own count; a gate fails, and ``compare`` counts a rise, only beyond them.

- :func:`wilson`: the Wilson score interval of one share k/n (good at small n and at 0 or 1).
- :func:`paired_excess`: the excess (b − c)/n of matched pairs, b pairs where only the first
  member has the property and c where only the second has it (McNemar's view: under "no
  difference" each discordant pair is a fair coin), bounded by the Wilson interval of b/(b+c).

``compare`` combines two reports' bounds into a bound on the rise (Newcombe's hybrid score
method, generalised as Zou and Donner's MOVER).
"""

from __future__ import annotations

from collections.abc import Mapping
from math import sqrt
from typing import Any


from tecurate._lazy import lazy
from tecurate.settings import Setting

stats = lazy("scipy.stats")

GATE_CONFIDENCE = Setting(
    "gate_confidence", 0.95, "One-sided confidence of the bounds the collapse gates hold to their limits "
    "(0.5: the point estimates).", "gates", kind="float", low=0.5, high=0.999)
REGRESSION_CONFIDENCE = 0.95
"""One-sided confidence with which ``compare`` must see a rise beyond its allowed rise."""


def z_score(confidence: float) -> float:
    """The one-sided normal quantile of ``confidence`` (0 at 0.5: the bounds are the estimates)."""
    return float(stats.norm.ppf(confidence))


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score bounds of the share ``k / n``; (0, 1) when ``n`` is 0 (nothing is known)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_excess(b: int, c: int, n: int, z: float) -> tuple[float, float, float]:
    """(estimate, lower, upper) of (b − c)/n over ``n`` matched pairs; 0s when ``n`` is 0."""
    if n <= 0:
        return 0.0, 0.0, 0.0
    m = b + c
    if m == 0:
        return 0.0, 0.0, 0.0
    low, high = wilson(b, m, z)
    return (b - c) / n, m * (2 * low - 1) / n, m * (2 * high - 1) / n


def excess_bounds(entry: Mapping[str, Any], z: float) -> tuple[float, float] | None:
    """Bounds of a paired summary's ``excess_collapse_rate`` (te − raw) from its counts."""
    if not all(key in entry for key in ("n_te_only", "n_raw_only", "n_pairs")):
        return None
    _, low, high = paired_excess(entry["n_te_only"], entry["n_raw_only"], entry["n_pairs"], z)
    return low, high


def te_only_bounds(entry: Mapping[str, Any], z: float) -> tuple[float, float] | None:
    """Wilson bounds of a paired summary's ``te_only_collapse_rate``."""
    if not all(key in entry for key in ("n_te_only", "n_pairs")):
        return None
    return wilson(entry["n_te_only"], entry["n_pairs"], z)
