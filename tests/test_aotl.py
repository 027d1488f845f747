import json
import time
from dataclasses import asdict, replace

import numpy as np
import pytest
from scipy import stats

import tecurate.analysis._aotl as aotl
from tecurate import AuditConfig
from tecurate.analysis import (
    REASONS,
    AotlFit,
    LineFit,
    ModelResult,
    SpuriousThresholds,
    assess_line,
    fit_aotl,
    fit_line,
    probit,
    split_metrics,
)
from tecurate.errors import TecurateError

CONFIG = AuditConfig(target="y")
"""An audit's defaults (the settings table's), which the pipeline passes to these functions."""
EPS = CONFIG.probit_eps
THRESHOLDS = SpuriousThresholds.from_config(CONFIG)
FIT = dict(eps=EPS, n_bootstrap=CONFIG.n_bootstrap)
LINE = dict(FIT, thresholds=THRESHOLDS)


def test_public_names_match_all():
    defined = {
        name
        for name, obj in vars(aotl).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == aotl.__name__
    }
    assert set(aotl.__all__) == defined | {"OFF_LINE_Z", "REASONS"}


# --- probit -----------------------------------------------------------------------------------


def test_probit_matches_scipy_and_clips():
    acc = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    clipped = np.clip(acc, EPS, 1 - EPS)
    np.testing.assert_allclose(probit(acc, EPS), stats.norm.ppf(clipped))
    assert probit([0.5], EPS)[0] == 0.0
    assert np.all(np.isfinite(probit([0.0, 1.0], EPS)))
    # Φ⁻¹(0.001) ≈ −3.0902
    assert probit([0.0], EPS)[0] == pytest.approx(-3.090232306, abs=1e-6)
    assert probit([0.0], eps=0.01)[0] == pytest.approx(stats.norm.ppf(0.01))


@pytest.mark.parametrize("bad", [[-0.1], [1.1], [np.nan]])
def test_probit_rejects_non_accuracies(bad):
    with pytest.raises(ValueError):
        probit(bad, EPS)


def test_probit_rejects_bad_eps():
    with pytest.raises(ValueError):
        probit([0.5], eps=0.0)


# --- fit_line ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_fit_line_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    acc_id = rng.uniform(0.5, 1.0, 30)
    acc_ood = np.clip(acc_id - 0.2 + rng.normal(0, 0.05, 30), 0, 1)
    acc_ood[0] = 0.0  # clipped end stays finite
    fit = fit_line(acc_id, acc_ood, **FIT)
    eps = EPS
    ref = stats.linregress(
        stats.norm.ppf(np.clip(acc_id, eps, 1 - eps)),
        stats.norm.ppf(np.clip(acc_ood, eps, 1 - eps)),
    )
    assert fit.n == 30
    assert fit.slope == pytest.approx(ref.slope)
    assert fit.intercept == pytest.approx(ref.intercept)
    assert fit.r == pytest.approx(ref.rvalue)
    assert fit.r2 == pytest.approx(ref.rvalue**2)
    assert fit.p_value == pytest.approx(ref.pvalue)
    lo, hi = fit.r_ci
    assert -1.0 <= lo <= hi <= 1.0
    assert all(type(v) is float for v in (fit.slope, fit.intercept, fit.r, fit.r2, fit.p_value))


def test_bootstrap_matches_a_naive_loop():
    rng = np.random.default_rng(7)
    acc_id = rng.uniform(0.6, 0.9, 12)
    acc_ood = rng.uniform(0.4, 0.8, 12)
    acc_id[:4] = 0.7  # repeated values make some resamples degenerate-prone
    fit = fit_line(acc_id, acc_ood, n_bootstrap=500, ci_level=0.9, seed=3, eps=EPS)
    x, y = probit(acc_id, EPS), probit(acc_ood, EPS)
    idx = np.random.default_rng(3).integers(0, 12, size=(500, 12))
    rs = [
        np.corrcoef(x[i], y[i])[0, 1]
        for i in idx
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0
    ]
    assert fit.r_ci == pytest.approx(tuple(np.quantile(rs, [0.05, 0.95])))


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    acc_id, acc_ood = rng.uniform(0.5, 0.9, 20), rng.uniform(0.5, 0.9, 20)
    assert fit_line(acc_id, acc_ood, seed=5, **FIT) == fit_line(acc_id, acc_ood, seed=5, **FIT)
    assert fit_line(acc_id, acc_ood, seed=5, **FIT).r_ci != fit_line(acc_id, acc_ood, seed=6, **FIT).r_ci


def test_bootstrap_is_fast():
    rng = np.random.default_rng(2)
    acc_id, acc_ood = rng.uniform(0.5, 0.9, 60), rng.uniform(0.5, 0.9, 60)
    start = time.perf_counter()
    for _ in range(10):
        fit_line(acc_id, acc_ood, n_bootstrap=1000, eps=EPS)
    assert (time.perf_counter() - start) / 10 < 0.1  # a few ms in practice


def test_no_bootstrap_gives_no_ci():
    fit = fit_line([0.6, 0.7, 0.8, 0.9], [0.5, 0.55, 0.7, 0.8], n_bootstrap=0, eps=EPS)
    assert fit.r is not None and fit.r_ci is None


def test_too_few_valid_resamples_gives_no_ci():
    # x varies only through point 4 and y only through point 3, so a resample is valid only if
    # it draws both: P = 1 − 2·(4/5)^5 + (3/5)^5 ≈ 0.42, under the 0.5 needed for a CI.
    acc_id = [0.6, 0.6, 0.6, 0.6, 0.9]
    acc_ood = [0.5, 0.5, 0.5, 0.7, 0.5]
    fit = fit_line(acc_id, acc_ood, n_bootstrap=1000, eps=EPS)
    assert fit.r is not None
    assert fit.r_ci is None


@pytest.mark.parametrize(
    ("acc_id", "acc_ood"),
    [
        ([], []),
        ([0.7, 0.8], [0.6, 0.7]),  # n < 3
        ([0.7, 0.7, 0.7], [0.5, 0.6, 0.7]),  # constant ID
        ([0.6, 0.7, 0.8], [0.5, 0.5, 0.5]),  # constant OOD
        ([1.0, 0.9995, 0.9999], [0.5, 0.6, 0.7]),  # constant after clipping
    ],
)
def test_undefined_fits_are_none_not_nan(acc_id, acc_ood):
    fit = fit_line(acc_id, acc_ood, **FIT)
    assert fit == LineFit(
        n=len(acc_id), slope=None, intercept=None, r=None, r2=None, p_value=None, r_ci=None
    )
    json.dumps(asdict(fit), allow_nan=False)


def test_fit_line_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        fit_line([0.5, 0.6, 0.7], [0.5, 0.6], **FIT)


# --- spurious test on constructed point sets --------------------------------------------------

HEALTHY_RNG = np.random.default_rng(0)
FLAT_ID = HEALTHY_RNG.uniform(0.75, 0.85, 20)  # no ID/OOD relation
FLAT_OOD = HEALTHY_RNG.uniform(0.60, 0.70, 20)
BASE_ID, BASE_OOD = 0.6, 0.3  # base-rate point, far below and left of the cloud


def test_reasons_registered_in_one_place():
    assert [r.code for r in REASONS] == [
        "collapse_inflated",
        "healthy_uncorrelated",
        "insufficient_healthy",
    ]
    assert all(r.description for r in REASONS)


def test_inflated_line_is_spurious():
    # 20 healthy points without relation + 6 collapsed at the base-rate point: 6/26 ≈ 23%.
    acc_id = np.r_[FLAT_ID, np.full(6, BASE_ID)]
    acc_ood = np.r_[FLAT_OOD, np.full(6, BASE_OOD)]
    collapsed = np.r_[np.zeros(20, bool), np.ones(6, bool)]
    point = {"class": 0, "id": BASE_ID, "ood": BASE_OOD}
    fit = assess_line(acc_id, acc_ood, collapsed, base_rate_point=point, **LINE)
    assert isinstance(fit, AotlFit)
    assert fit.n_collapsed == 6
    assert fit.collapsed_share == pytest.approx(6 / 26)
    assert fit.all.n == 26 and fit.healthy.n == 20
    assert fit.all.r2 > 0.6 and fit.healthy.r2 < 0.2
    assert fit.spurious
    assert "collapse_inflated" in fit.reasons
    assert "healthy_uncorrelated" in fit.reasons
    assert fit.base_rate_point == point
    json.dumps(asdict(fit), allow_nan=False)


def test_genuine_line_is_not_spurious():
    # 25 healthy points on probit(ood) = 0.9·probit(id) − 0.3 + noise, nothing collapsed.
    rng = np.random.default_rng(1)
    acc_id = np.linspace(0.6, 0.95, 25)
    acc_ood = stats.norm.cdf(0.9 * probit(acc_id, EPS) - 0.3 + rng.normal(0, 0.05, 25))
    fit = assess_line(acc_id, acc_ood, np.zeros(25, bool), **LINE)
    assert fit.all.slope == pytest.approx(0.9, abs=0.1)
    assert fit.all.r > 0.95
    assert fit.healthy == fit.all
    assert not fit.spurious
    assert fit.reasons == ()


def test_too_few_healthy_is_spurious():
    # 3 healthy + 10 collapsed: the line is made of the collapsed pile.
    acc_id = np.r_[[0.80, 0.85, 0.90], np.full(10, BASE_ID)]
    acc_ood = np.r_[[0.70, 0.60, 0.75], np.full(10, BASE_OOD)]
    collapsed = np.r_[np.zeros(3, bool), np.ones(10, bool)]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.healthy.n == 3
    assert "insufficient_healthy" in fit.reasons
    assert fit.spurious


def test_insufficient_healthy_alone_makes_a_good_looking_line_spurious():
    # healthy points and collapsed ones on one line, so R² barely drops (no collapse_inflated),
    # but 4 healthy points cannot confirm the line.
    acc_id = np.array([0.70, 0.75, 0.80, 0.85, 0.6, 0.6])
    acc_ood = stats.norm.cdf(probit(acc_id, EPS) - 0.5)
    acc_ood[:4] += [0.01, -0.01, 0.01, -0.01]
    collapsed = np.array([False] * 4 + [True] * 2)
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.reasons == ("insufficient_healthy",)
    assert fit.all.p_value < 0.05
    assert fit.spurious


def test_few_collapsed_outliers_with_uncorrelated_healthy_is_spurious():
    # 1 collapsed point of 21 (< 10%, so not collapse_inflated) still drags a flat cloud
    # into a significant line.
    acc_id = np.r_[FLAT_ID, BASE_ID]
    acc_ood = np.r_[FLAT_OOD, BASE_OOD]
    collapsed = np.r_[np.zeros(20, bool), True]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.collapsed_share < 0.10
    assert fit.all.p_value < 0.05 and fit.all.r > 0
    assert fit.reasons == ("healthy_uncorrelated",)
    assert fit.spurious


def test_flat_cloud_without_collapse_is_flagged_but_not_spurious():
    fit = assess_line(FLAT_ID, FLAT_OOD, np.zeros(20, bool), **LINE)
    assert fit.reasons == ("healthy_uncorrelated",)
    assert not fit.spurious


def test_genuine_line_with_collapsed_points_on_it_is_not_spurious():
    rng = np.random.default_rng(4)
    acc_id = np.r_[np.linspace(0.62, 0.95, 20), np.full(3, 0.6)]
    acc_ood = stats.norm.cdf(probit(acc_id, EPS) - 0.4 + np.r_[rng.normal(0, 0.05, 20), 0, 0, 0])
    collapsed = np.r_[np.zeros(20, bool), np.ones(3, bool)]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.reasons == ()
    assert not fit.spurious


def test_collapse_at_the_chance_point_of_a_genuine_line_inflates_r2_but_is_not_spurious():
    # Healthy models in a narrow band on probit(ood) = 0.8·probit(id); collapsed models of a balanced
    # task at (0.5, 0.5), i.e. probit (0, 0), on the same line: R² jumps, the line does not change.
    rng = np.random.default_rng(5)
    x = rng.uniform(probit(0.8, EPS), probit(0.9, EPS), 20)
    acc_id = stats.norm.cdf(np.r_[x, np.zeros(6)])
    acc_ood = stats.norm.cdf(np.r_[0.8 * x + rng.normal(0, 0.12, 20), np.zeros(6)])
    collapsed = np.r_[np.zeros(20, bool), np.ones(6, bool)]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert "collapse_inflated" in fit.reasons and "healthy_uncorrelated" not in fit.reasons
    assert fit.collapsed_residual_z < aotl.OFF_LINE_Z
    assert not fit.spurious


def test_collapsed_points_off_a_confirmed_healthy_line_are_spurious():
    # Same healthy line, but the collapsed pile sits far below it: collapse bends the line.
    rng = np.random.default_rng(5)
    x = rng.uniform(probit(0.8, EPS), probit(0.9, EPS), 20)
    acc_id = stats.norm.cdf(np.r_[x, np.zeros(6)])
    acc_ood = stats.norm.cdf(np.r_[0.8 * x + rng.normal(0, 0.12, 20), np.full(6, -1.0)])
    collapsed = np.r_[np.zeros(20, bool), np.ones(6, bool)]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.collapsed_residual_z > aotl.OFF_LINE_Z
    assert fit.spurious and "collapse_inflated" in fit.reasons


def test_undefined_healthy_r2_counts_as_zero():
    # healthy points share one OOD accuracy (r undefined); collapsed pile makes a line.
    acc_id = np.r_[[0.80, 0.82, 0.84, 0.86, 0.88], np.full(2, BASE_ID)]
    acc_ood = np.r_[np.full(5, 0.65), np.full(2, BASE_OOD)]
    collapsed = np.r_[np.zeros(5, bool), np.ones(2, bool)]
    fit = assess_line(acc_id, acc_ood, collapsed, **LINE)
    assert fit.healthy.r2 is None
    assert "collapse_inflated" in fit.reasons
    assert fit.spurious


def test_thresholds_are_honoured():
    acc_id = np.r_[FLAT_ID, np.full(6, BASE_ID)]
    acc_ood = np.r_[FLAT_OOD, np.full(6, BASE_OOD)]
    collapsed = np.r_[np.zeros(20, bool), np.ones(6, bool)]
    strict = replace(THRESHOLDS, min_collapsed_share=0.5, min_healthy=25)
    fit = assess_line(acc_id, acc_ood, collapsed, thresholds=strict, **FIT)
    assert fit.reasons == ("insufficient_healthy",)


def test_assess_line_is_deterministic():
    args = (np.r_[FLAT_ID, BASE_ID], np.r_[FLAT_OOD, BASE_OOD], np.r_[np.zeros(20, bool), True])
    assert assess_line(*args, seed=3, **LINE) == assess_line(*args, seed=3, **LINE)
    assert assess_line(*args, seed=3, **LINE).healthy.r_ci != assess_line(*args, seed=4, **LINE).healthy.r_ci


def test_assess_line_rejects_bad_input():
    with pytest.raises(ValueError):
        assess_line([0.5, 0.6], [0.5, 0.6], [True], **LINE)
    with pytest.raises(ValueError):
        assess_line([], [], [], **LINE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_collapsed_share": 1.5},
        {"min_r2_drop": -0.1},
        {"min_healthy": 2},
        {"alpha": 0.0},
    ],
)
def test_bad_thresholds_are_user_errors(kwargs):
    with pytest.raises(TecurateError):
        replace(THRESHOLDS, **kwargs)


# --- fit_aotl on hand-built models ------------------------------------------------------------

# id_test: π = (0.4, 0.6); ood_a: π = (0.7, 0.3); ood_b: π = (0.5, 0.5)
Y = {
    "id_test": np.array([0] * 4 + [1] * 6),
    "ood_a": np.array([0] * 7 + [1] * 3),
    "ood_b": np.array([0] * 5 + [1] * 5),
}
SHARES = {
    "id_test": np.array([0.4, 0.6]),
    "ood_a": np.array([0.7, 0.3]),
    "ood_b": np.array([0.5, 0.5]),
}


def flipped(split: str, n_wrong: int) -> np.ndarray:
    """Predictions for `split` with the last n_wrong labels flipped: accuracy 1 − n_wrong/10."""
    pred = Y[split].copy()
    tail = slice(pred.size - n_wrong, None)
    pred[tail] = 1 - pred[tail]
    return pred


def constant(split: str, cls: int) -> np.ndarray:
    return np.full(Y[split].size, cls)


def make(rep: str, cfg: str, preds: dict[str, np.ndarray]) -> ModelResult:
    splits = {s: split_metrics(Y[s], p, 2, CONFIG.collapse_threshold) for s, p in preds.items()}
    return ModelResult(family="mlp", config_id=cfg, params={}, representation=rep, splits=splits)


def grid() -> list[ModelResult]:
    models = []
    for i, (w_id, w_ood) in enumerate([(0, 1), (1, 2), (2, 2), (3, 4), (4, 5)]):
        preds = {"id_test": flipped("id_test", w_id), "ood_a": flipped("ood_a", w_ood)}
        if i < 3:
            preds["ood_b"] = flipped("ood_b", w_ood)
        models.append(make("raw", f"c{i}", preds))
        models.append(make("te", f"c{i}", preds))
    # te: two models collapse to class 0 on both splits; one collapses on ood_a only while
    # mostly predicting class 1 on id_test (p̂ = (0.4, 0.6)).
    to_zero = {"id_test": constant("id_test", 0), "ood_a": constant("ood_a", 0)}
    models.append(make("te", "c5", to_zero))
    models.append(make("te", "c6", to_zero))
    ood_only = {"id_test": flipped("id_test", 0), "ood_a": constant("ood_a", 1)}
    models.append(make("te", "c7", ood_only))
    # a model never evaluated on id_test contributes no point
    models.append(make("te", "c8", {"ood_a": flipped("ood_a", 0)}))
    return models


def test_fit_aotl_structure_and_points():
    fits = fit_aotl(grid(), SHARES, n_bootstrap=200, thresholds=THRESHOLDS, eps=EPS, seed=0)
    assert list(fits) == ["raw", "te"]
    assert list(fits["raw"]) == ["ood_a", "ood_b"]
    assert list(fits["te"]) == ["ood_a", "ood_b"]

    te_a = fits["te"]["ood_a"]
    assert te_a.all.n == 8  # c0..c7
    assert te_a.n_collapsed == 3  # c5, c6 (both ends) and c7 (OOD end only)
    assert te_a.healthy.n == 5
    # the same points fitted directly (slope/r do not depend on the bootstrap seed)
    acc_id = [1.0, 0.9, 0.8, 0.7, 0.6, 0.4, 0.4, 1.0]
    acc_ood = [0.9, 0.8, 0.8, 0.6, 0.5, 0.7, 0.7, 0.3]
    ref = fit_line(acc_id, acc_ood, n_bootstrap=0, eps=EPS)
    assert te_a.all.slope == pytest.approx(ref.slope)
    assert te_a.all.r == pytest.approx(ref.r)
    assert te_a.healthy.slope == pytest.approx(fit_line(acc_id[:5], acc_ood[:5], **FIT).slope)

    assert fits["raw"]["ood_b"].all.n == 3
    assert fits["raw"]["ood_a"].n_collapsed == 0


def test_fit_aotl_base_rate_point():
    fits = fit_aotl(grid(), SHARES, n_bootstrap=0, thresholds=THRESHOLDS, eps=EPS, seed=0)
    # te: collapsed points vote class 0 (c5, c6) against class 1 (c7) -> class 0
    assert fits["te"]["ood_a"].base_rate_point == {"class": 0, "id": 0.4, "ood": 0.7}
    # raw: nothing collapsed -> the ID majority class, 1
    assert fits["raw"]["ood_a"].base_rate_point == {"class": 1, "id": 0.6, "ood": 0.3}
    assert fits["raw"]["ood_b"].base_rate_point == {"class": 1, "id": 0.6, "ood": 0.5}
    point = fits["te"]["ood_a"].base_rate_point
    assert type(point["class"]) is int and type(point["id"]) is float


def test_fit_aotl_base_rate_point_tie_takes_lowest_code():
    y_id = np.array([0, 1, 2, 2])
    shares = {"id_test": np.array([0.25, 0.25, 0.5]), "ood": np.array([0.2, 0.3, 0.5])}
    models = [
        ModelResult(
            family="mlp",
            config_id=f"c{cls}",
            params={},
            representation="te",
            splits={
                "id_test": split_metrics(y_id, np.full(4, cls), 3, CONFIG.collapse_threshold),
                "ood": split_metrics(y_id, np.full(4, cls), 3, CONFIG.collapse_threshold),
            },
        )
        for cls in (2, 1)
    ]
    fit = fit_aotl(models, shares, n_bootstrap=0, thresholds=THRESHOLDS, eps=EPS, seed=0)["te"]["ood"]
    assert fit.base_rate_point == {"class": 1, "id": 0.25, "ood": 0.3}


def test_fit_aotl_is_deterministic_and_seeded_per_split():
    models = grid()
    first = fit_aotl(models, SHARES, seed=11, **LINE)
    assert first == fit_aotl(models, SHARES, seed=11, **LINE)
    assert first != fit_aotl(models, SHARES, seed=12, **LINE)
    # a split's fit depends on its name, not on which other splits exist
    without_b = [
        ModelResult(
            family=m.family,
            config_id=m.config_id,
            params=m.params,
            representation=m.representation,
            splits={s: v for s, v in m.splits.items() if s != "ood_b"},
        )
        for m in models
    ]
    assert fit_aotl(without_b, SHARES, seed=11, **LINE)["raw"]["ood_a"] == first["raw"]["ood_a"]
    encoded = {rep: {s: asdict(f) for s, f in fits.items()} for rep, fits in first.items()}
    json.dumps(encoded, allow_nan=False)


def test_fit_aotl_needs_class_shares_for_every_split():
    with pytest.raises(ValueError, match="ood_b"):
        fit_aotl(grid(), {"id_test": SHARES["id_test"], "ood_a": SHARES["ood_a"]}, **LINE, seed=0)


def test_fit_aotl_empty():
    assert fit_aotl([], {}, **LINE, seed=0) == {}


def test_collapse_that_weakens_the_line_is_not_spurious():
    """Healthy models alone fit better than all models: collapse is not dressing the line up."""
    rng = np.random.default_rng(5)
    acc_id = np.linspace(0.70, 0.85, 6)
    acc_ood = acc_id - 0.08 + rng.normal(0, 0.004, 6)
    collapsed_id, collapsed_ood = np.full(6, 0.68), np.full(6, 0.70)
    fit = assess_line(np.r_[acc_id, collapsed_id], np.r_[acc_ood, collapsed_ood],
                      np.r_[np.zeros(6, bool), np.ones(6, bool)], n_bootstrap=500, seed=1,
                      thresholds=THRESHOLDS, eps=EPS)
    assert fit.healthy.r2 is not None and fit.all.r2 is not None
    assert fit.healthy.r2 > fit.all.r2
    assert not fit.spurious


def test_threshold_bounds_are_the_settings_tables():
    with pytest.raises(TecurateError, match="--min-healthy must be at least 3"):
        replace(THRESHOLDS, min_healthy=2)
