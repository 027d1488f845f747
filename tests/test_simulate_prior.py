"""The model-free core against its closed forms, by Monte Carlo (tolerances: 4 standard errors)."""

from __future__ import annotations

import numpy as np
import pytest

from tecurate.errors import TecurateError
from tecurate.simulate import Schedule, gini, parse_schedule, prior_chain, schedule_sizes

START = np.array([0.5, 0.3, 0.2])


def _within(samples: np.ndarray, expected: float, z: float = 4.0) -> None:
    """The Monte-Carlo mean of ``samples`` lies within ``z`` standard errors of ``expected``."""
    error = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(samples.mean() - expected) <= z * error + 1e-12, (samples.mean(), expected, error)


def test_expected_gini_decays_as_one_minus_one_over_n_to_the_t():
    n, chains = 50, 20000
    path = prior_chain(START, 40, n0=n, n_chains=chains, seed=1)
    g = gini(path)
    for t in (1, 5, 10, 20, 40):
        _within(g[:, t], gini(START) * (1 - 1 / n) ** t)
    # The tolerance is tight: the formula with a sample size 10% off is rejected.
    assert abs(g[:, 40].mean() - gini(START) * (1 - 1 / 45) ** 40) > 4 * g[:, 40].std() / np.sqrt(chains)


def test_growing_schedule_follows_the_product_formula():
    schedule = Schedule("linear")
    path = prior_chain(START, 12, n0=10, schedule=schedule, n_chains=20000, seed=2)
    n_t, _ = schedule_sizes(schedule, 10, 12, None)
    expected = gini(START) * np.cumprod([1.0] + [1 - 1 / n for n in n_t[1:]])
    for t in (1, 4, 12):
        _within(gini(path[:, t]), expected[t])


def test_constant_n_is_absorbed_at_each_class_with_its_initial_share():
    chains = 10000
    final = prior_chain(START, 400, n0=20, n_chains=chains, seed=3)[:, -1]
    absorbed = final.max(axis=1) == 1.0
    assert absorbed.mean() > 0.995
    winners = final[absorbed].argmax(axis=1)
    for code, share in enumerate(START):
        _within((winners == code).astype(float), share)


def test_power_schedule_converges_without_absorption():
    """Σ 1/n_t < ∞: G_T stays near G_0 Π (1 − 1/n_t) > 0 and no chain loses a class."""
    schedule = parse_schedule("power:1")
    path = prior_chain(START, 30, n0=20, schedule=schedule, n_chains=5000, seed=4)
    n_t, _ = schedule_sizes(schedule, 20, 30, None)
    assert (path[:, -1].min(axis=1) > 0).all()
    _within(gini(path[:, -1]), gini(START) * np.prod([1 - 1 / n for n in n_t[1:]]))
    late_steps = np.abs(path[:, -1] - path[:, -6]).max(axis=1)
    assert np.median(late_steps) < 0.01  # the walk has all but stopped


def test_fresh_real_labels_give_a_stationary_distribution_around_the_truth():
    """p_t = α·real + (1−α)·resample(p_{t−1}): mean π, variance π(1−π) / (n(1−(1−α)²) + 1−α)."""
    truth, alpha, n, chains = START, 0.5, 100, 20000
    path = prior_chain([0.9, 0.05, 0.05], 80, n0=n, real_fraction=alpha, truth=truth, n_chains=chains, seed=5)
    final = path[:, -1]
    for code, share in enumerate(truth):
        _within(final[:, code], share)
        variance = share * (1 - share) / (n * (1 - (1 - alpha) ** 2) + (1 - alpha))
        assert final[:, code].var(ddof=1) == pytest.approx(variance, rel=0.06)
    assert (final.max(axis=1) < 1).all()


def test_accumulate_keeps_the_mean_and_never_absorbs():
    path = prior_chain(START, 50, n0=20, mode="accumulate", n_chains=5000, seed=6)
    for code, share in enumerate(START):
        _within(path[:, -1, code], share)
    assert (path[:, -1].min(axis=1) > 0).all()
    replaced = prior_chain(START, 50, n0=20, n_chains=5000, seed=6)
    assert gini(path[:, -1]).mean() > gini(replaced[:, -1]).mean() + 0.3


def test_the_chain_is_reproducible_from_its_seed():
    one = prior_chain(START, 5, n0=30, real_fraction=0.1, n_chains=10, seed=7)
    assert np.array_equal(one, prior_chain(START, 5, n0=30, real_fraction=0.1, n_chains=10, seed=7))
    assert not np.array_equal(one, prior_chain(START, 5, n0=30, real_fraction=0.1, n_chains=10, seed=8))


def test_schedules_and_the_cap():
    assert schedule_sizes(parse_schedule("constant"), 100, 3, None) == ([100] * 4, [])
    assert schedule_sizes(parse_schedule("linear"), 100, 3, None) == ([100, 200, 300, 400], [])
    assert schedule_sizes(parse_schedule("power:0.5"), 100, 3, None)[0] == [100, 283, 520, 800]
    assert schedule_sizes(parse_schedule("linear"), 100, 3, 250) == ([100, 200, 250, 250], [2, 3])
    assert parse_schedule("power:0.5").name == "power:0.5"


@pytest.mark.parametrize("text", ["square", "power", "power:x", "power:0", "power:-1", "linear:2", "power:nan"])
def test_bad_schedules_are_user_errors(text):
    with pytest.raises(TecurateError, match="--schedule"):
        parse_schedule(text)


@pytest.mark.parametrize("kwargs", [{"real_fraction": 1.5}, {"mode": "mix"}, {"truth": [1.0]}])
def test_bad_core_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        prior_chain(START, 2, n0=10, **kwargs)
