"""The confidence bounds the collapse gates and compare hold to their limits."""

from __future__ import annotations

import numpy as np
import pytest

from tecurate.analysis._gate_bounds import paired_excess, wilson, z_score


def test_wilson_matches_the_textbook_interval_and_stays_inside_0_1():
    low, high = wilson(6, 24, z_score(0.975))
    assert (low, high) == pytest.approx((0.1197, 0.4489), abs=1e-3)  # Wilson 95% two-sided, 6/24
    assert wilson(0, 24, 1.645)[0] == 0.0 and wilson(24, 24, 1.645)[1] == 1.0
    assert wilson(0, 0, 1.645) == (0.0, 1.0)
    assert wilson(5, 20, 0.0) == (0.25, 0.25)


def test_paired_excess_is_te_minus_raw_with_bounds_from_the_discordant_pairs():
    estimate, low, high = paired_excess(10, 2, 24, 1.645)
    assert estimate == pytest.approx(8 / 24) and low < estimate < high
    assert paired_excess(0, 0, 24, 1.645) == (0.0, 0.0, 0.0)
    assert paired_excess(3, 3, 24, 1.645)[1] < 0 < paired_excess(3, 3, 24, 1.645)[2]


def test_the_lower_bound_of_the_excess_is_rarely_above_zero_when_the_routes_collapse_alike():
    """Simulated grids where each configuration collapses on te and raw with the same probability:
    the one-sided 95% bound exceeds 0 in about 5% of them, the point estimate in about half."""
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0, 1, 24)
    above, point = 0, 0
    for _ in range(2000):
        te, raw = rng.random(24) < probabilities, rng.random(24) < probabilities
        estimate, low, _ = paired_excess(int((te & ~raw).sum()), int((raw & ~te).sum()), 24, z_score(0.95))
        above += low > 0
        point += estimate > 0
    assert above / 2000 < 0.07 and point / 2000 > 0.35
