"""The model families and the matched grid: sampling, building, fitting, matching raw/te, order."""

from dataclasses import replace

import numpy as np
import pytest
from test_grid import registered

from tecurate.analysis import PredictionMetrics, is_labelled
from tecurate.grid import FAMILIES, ModelConfig, run_grid, sample_configs, validation_split


def fit_one(config, X, y, train, tests, n_classes, unlabelled=frozenset(), representation="raw"):
    """One model fitted and scored by the grid; its result and its predictions."""
    run = run_grid([config], {representation: X}, y, train, tests, n_classes=n_classes,
                   collapse_threshold=0.99, seed=0, unlabelled=unlabelled, n_jobs=1)
    (result,), (predictions,) = run.models, run.predictions
    return result, predictions


def test_sample_configs_is_seeded_and_distinct():
    a = sample_configs(FAMILIES.names(), 5, seed=3)
    assert a == sample_configs(FAMILIES.names(), 5, seed=3)
    assert a != sample_configs(FAMILIES.names(), 5, seed=4)
    assert len(a) == 5 * len(FAMILIES)
    for family in FAMILIES:
        params = [tuple(sorted(cfg.params.items())) for cfg in a if cfg.family == family]
        assert len(set(params)) == 5
    assert len({cfg.config_id for cfg in a}) == len(a)


def test_grids_include_aggressive_settings():
    assert min(FAMILIES["logreg"].grid["C"]) <= 1e-4
    assert max(FAMILIES["mlp"].grid["alpha"]) >= 10
    assert max(FAMILIES["xgboost"].grid["learning_rate"]) >= 1.0
    assert min(FAMILIES["xgboost"].grid["learning_rate"]) <= 1e-3


@pytest.mark.parametrize("name", FAMILIES.names())
def test_every_family_builds_with_every_grid_value_its_fixed_settings_and_the_seed(name):
    family = FAMILIES[name]
    for key, values in family.grid.items():
        for value in values:
            params = {k: v[0] for k, v in family.grid.items()} | {key: value}
            settings = family.estimator(params, seed=7).get_params()
            assert settings[key] == value
            assert settings["random_state"] == 7
            assert {k: settings[k] for k in family.fixed} == dict(family.fixed)


def test_only_xgboost_stops_early_on_held_out_rows():
    assert [name for name in FAMILIES if FAMILIES[name].stops_early] == ["xgboost"]


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)).astype(np.float32) + y[:, None] * 2.0
    return X, y


def test_strong_regularization_collapses_and_weak_does_not():
    X, y = _blobs()
    train, test = np.arange(200), np.arange(200, 300)
    collapsed, _ = fit_one(ModelConfig("logreg", "a", {"C": 1e-6, "max_iter": 100}),
                           X * 0.01, y, train, {"id_test": test}, 2)
    healthy, predictions = fit_one(ModelConfig("logreg", "b", {"C": 1.0, "max_iter": 100}),
                                   X, y, train, {"id_test": test}, 2)
    assert collapsed.splits["id_test"].collapsed
    assert not healthy.splits["id_test"].collapsed
    assert healthy.splits["id_test"].accuracy > 0.9
    assert predictions["id_test"].dtype == np.int8 and predictions["id_test"].shape == (100,)
    assert np.mean(predictions["id_test"] == y[test]) == healthy.splits["id_test"].accuracy


def test_classes_missing_from_training_keep_global_codes():
    X, y = _blobs()
    y = y + 1  # codes 1 and 2 of a 3-class target: class 0 never trains
    result, predictions = fit_one(ModelConfig("xgboost", "x", {"n_estimators": 5}), X, y,
                                  np.arange(200), {"id_test": np.arange(200, 300)}, 3)
    assert set(np.unique(predictions["id_test"])) <= {1, 2}
    dist = result.splits["id_test"].predicted_distribution
    assert len(dist) == 3 and dist[0] == 0.0
    assert result.splits["id_test"].accuracy > 0.9


def test_run_grid_matches_configs_across_representations_and_is_deterministic():
    X, y = _blobs()
    features = {"raw": X, "te": X[:, ::-1].copy()}
    configs = sample_configs(["logreg", "xgboost"], 2, seed=0)
    seen = []
    kwargs = {"n_classes": 2, "collapse_threshold": 0.99, "seed": 0}
    tests = {"id_test": np.arange(200, 300), "ood:b": np.arange(250, 300)}
    run_one = run_grid(configs, features, y, np.arange(200), tests, n_jobs=2,
                       progress=lambda d, t: seen.append((d, t)), **kwargs)
    run_two = run_grid(configs, features, y, np.arange(200), tests, n_jobs=1, **kwargs)
    one, two = run_one.models, run_two.models
    assert len(run_one.predictions) == len(one)
    assert all(np.array_equal(a[s], b[s]) for a, b in zip(run_one.predictions, run_two.predictions)
               for s in tests)
    assert [(m.config_id, m.representation) for m in one] == \
        [(c.config_id, r) for c in configs for r in ("raw", "te")]
    assert [m.splits for m in one] == [m.splits for m in two]
    pairs = {}
    for m in one:
        pairs.setdefault(m.config_id, []).append(m.params)
    assert all(p[0] == p[1] for p in pairs.values())
    assert seen == [(done, 8) for done in range(9)]


def test_unlabelled_splits_get_label_free_metrics_only():
    X, y = _blobs()
    y = y.copy()
    y[250:] = -1  # unlabelled rows carry a placeholder code that no metric may read
    result, predictions = fit_one(ModelConfig("logreg", "b", {"C": 1.0}), X, y, np.arange(200),
                                  {"id_test": np.arange(200, 250), "ood": np.arange(250, 300)},
                                  2, frozenset({"ood"}), representation="te")
    ood = result.splits["ood"]
    assert isinstance(ood, PredictionMetrics) and not is_labelled(ood)
    assert is_labelled(result.splits["id_test"])
    assert ood.majority_class_rate == pytest.approx(max(np.bincount(predictions["ood"], minlength=2)) / 50)
    assert sum(ood.predicted_distribution) == pytest.approx(1.0)


def test_validation_split_holds_out_a_tenth_of_each_class_and_keeps_small_classes_whole():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 9)
    fit, held = validation_split(labels, seed=0)
    assert np.bincount(labels[held], minlength=3).tolist() == [5, 3, 0]
    assert np.array_equal(np.sort(np.concatenate([fit, held])), np.arange(labels.size))
    _, held_again = validation_split(labels, seed=0)
    assert np.array_equal(held, held_again)
    assert not np.array_equal(held, validation_split(labels, seed=1)[1])


@pytest.fixture
def xgboost_spy():
    """XGBoost under another name, keeping every booster it builds."""
    built = []

    def build(settings, seed):
        built.append(FAMILIES["xgboost"].build(settings, seed))
        return built[-1]

    with registered(replace(FAMILIES["xgboost"], name="xgb-spy", build=build)):
        yield built


def test_xgboost_stops_early_on_held_out_training_rows(xgboost_spy):
    X, y = _blobs()
    config = ModelConfig("xgb-spy", "x", {"n_estimators": 300, "learning_rate": 1.0, "max_depth": 6})
    fit_one(config, X, y, np.arange(200), {"id_test": np.arange(200, 300)}, 2)
    (booster,) = xgboost_spy
    assert booster.best_iteration < 299  # stopped before using every tree
    assert booster.n_features_in_ == 5


def test_xgboost_without_rows_to_hold_out_fits_without_early_stopping(xgboost_spy):
    X, y = _blobs(n=18)
    _, predictions = fit_one(ModelConfig("xgb-spy", "x", {"n_estimators": 5}), X, y, np.arange(12),
                             {"id_test": np.arange(12, 18)}, 2)
    assert predictions["id_test"].shape == (6,)
    (booster,) = xgboost_spy
    assert booster.get_params()["early_stopping_rounds"] is None
