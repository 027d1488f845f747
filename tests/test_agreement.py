"""Agreement-on-the-line: pair agreement, the ALine-S/D algebra, collapse exclusion, known answers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import tecurate.analysis._agreement as agreement
from tecurate import AuditConfig
from tecurate.analysis import aline_estimates, fit_agreement, pairwise_agreement

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from validation.planted import as_grid_run, diverse_models_under_shift  # noqa: E402

EPS = AuditConfig(target="y").probit_eps


def test_public_names_match_all():
    assert all(hasattr(agreement, name) for name in agreement.__all__)


def test_pairwise_agreement_hand_computed():
    preds = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 0, 0]], dtype=np.int8)
    # pairs (0,1): 3/4, (0,2): 0/4, (1,2): 1/4 in triu order
    assert pairwise_agreement(preds).tolist() == [0.75, 0.0, 0.25]
    with pytest.raises(ValueError):
        pairwise_agreement(np.zeros((3, 0)))


def _consistent_predictions(rng, n_rows: int, flip_id: np.ndarray, flip_ood: np.ndarray):
    """Models that flip a reference labelling on independent random rows: agreement and accuracy
    then follow from the flip rates alone (used to feed the solver exact-ish inputs)."""
    truth = rng.integers(0, 2, n_rows)
    pred_id = np.array([np.where(rng.random(n_rows) < f, 1 - truth, truth) for f in flip_id], dtype=np.int8)
    pred_ood = np.array([np.where(rng.random(n_rows) < f, 1 - truth, truth) for f in flip_ood], dtype=np.int8)
    return truth, pred_id, pred_ood


def test_aline_d_solves_the_pair_system_exactly():
    """Feed ALine-D's equations with right-hand sides built from known OOD probits: it must
    return them (the least-squares system is consistent and of full column rank)."""
    rng = np.random.default_rng(0)
    n = 6
    truth, pred_id, pred_ood = _consistent_predictions(rng, 4000, rng.uniform(0.05, 0.4, n),
                                                        rng.uniform(0.1, 0.45, n))
    acc_id = (pred_id == truth).mean(axis=1)
    line, aline_s, aline_d = aline_estimates(pred_id, pred_ood, acc_id, eps=EPS)
    assert line.n_models == n and line.n_pairs == n * (n - 1) // 2
    assert aline_s is not None and aline_d is not None
    # Re-derive ALine-D by hand: its fitted values must satisfy the normal equations.
    i, j = np.triu_indices(n, 1)
    x = stats.norm.ppf(pairwise_agreement(pred_id))
    y = stats.norm.ppf(pairwise_agreement(pred_ood))
    p = stats.norm.ppf(acc_id)
    z = stats.norm.ppf(aline_d)
    residual = 0.5 * (z[i] + z[j]) - (y + line.slope * (0.5 * (p[i] + p[j]) - x))
    design = np.zeros((i.size, n))
    design[np.arange(i.size), i] = design[np.arange(i.size), j] = 0.5
    assert np.allclose(design.T @ residual, 0.0, atol=1e-9)
    assert np.allclose(aline_s, stats.norm.cdf(line.slope * p + line.intercept))


def test_too_few_models_or_a_flat_line_give_no_estimate():
    preds = np.zeros((2, 10), dtype=np.int8)
    line, s, d = aline_estimates(preds, preds, np.array([0.5, 0.5]), eps=EPS)
    assert line.slope is None and s is None and d is None
    same = np.zeros((4, 10), dtype=np.int8)
    line, s, d = aline_estimates(same, same, np.full(4, 0.5), eps=EPS)
    assert line.n_pairs == 6 and line.r2 is None and s is None


def test_known_answer_estimates_beat_the_no_shift_guess_and_collapse_hurts():
    """On a shift where agreement-on-the-line holds, both estimators land closer to the true OOD
    accuracy than assuming no shift; with collapsed models in the fit the line looks better (R²
    up) while the estimates get worse."""
    naive, s_h, d_h, s_a, d_a = [], [], [], [], []
    for seed in range(3):
        shift = diverse_models_under_shift(seed)
        fit = fit_agreement(as_grid_run(shift), eps=EPS)["te"]["ood"]
        assert fit.n_collapsed == 8 and fit.healthy.n_models == 20 and fit.all.n_models == 28
        assert fit.healthy.r2 > 0.6
        assert fit.all.r2 > fit.healthy.r2
        healthy = [e for e in fit.estimates if not e.collapsed]
        assert all(e.aline_s is not None and e.aline_d is not None for e in healthy)
        assert all(e.aline_s is None and e.aline_d is None and e.aline_s_all is not None
                   for e in fit.estimates if e.collapsed)
        naive.append(np.mean([abs(e.id_accuracy - e.ood_accuracy) for e in healthy]) * 100)
        err = fit.mae_pp
        assert err.n_models == 20
        assert err.aline_s == pytest.approx(np.mean([abs(e.aline_s - e.ood_accuracy) for e in healthy]) * 100)
        s_h.append(err.aline_s), d_h.append(err.aline_d), s_a.append(err.aline_s_all), d_a.append(err.aline_d_all)
    assert np.mean(s_h) < np.mean(naive) and np.mean(d_h) < np.mean(naive)
    assert np.mean(s_h) < 5 and np.mean(d_h) < 6
    assert np.mean(s_a) > np.mean(s_h) and np.mean(d_a) > np.mean(d_h)


def test_unlabelled_ood_still_gets_estimates_but_no_error():
    shift = diverse_models_under_shift(0, n=400, n_collapsed=2)
    fit = fit_agreement(as_grid_run(shift, labelled=False), eps=EPS)["te"]["ood"]
    assert fit.mae_pp is None
    assert all(e.ood_accuracy is None for e in fit.estimates)
    assert all(0.0 <= e.aline_s <= 1.0 for e in fit.estimates if not e.collapsed)
    assert fit.n_collapsed == 2


@pytest.mark.parametrize("n", [3, 5, 36])
def test_the_closed_form_aline_d_solve_is_the_least_squares_solution(n):
    from tecurate.analysis._agreement import pair_mean_solution

    i, j = np.triu_indices(n, 1)
    design = np.zeros((i.size, n))
    design[np.arange(i.size), i] = design[np.arange(i.size), j] = 0.5
    targets = np.random.default_rng(n).normal(size=(4, i.size))
    expected = np.stack([np.linalg.lstsq(design, t, rcond=None)[0] for t in targets])
    np.testing.assert_allclose(pair_mean_solution(targets, i, j, n), expected, atol=1e-12)
    np.testing.assert_allclose(pair_mean_solution(targets[0], i, j, n), expected[0], atol=1e-12)
