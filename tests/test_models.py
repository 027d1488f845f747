"""The matched grid: sampling, matching raw/te configurations, determinism, parallel order."""

import numpy as np
import pytest

from tecurate.grid import GRIDS, build_estimator, fit_predict, run_grid, sample_configs, score


def fit_and_score(config, representation, X, y, train, tests, n_classes, collapse_threshold, seed,
                  unlabelled=frozenset()):
    """One model fitted and scored, as run_grid does for each (configuration, representation)."""
    predictions, seconds = fit_predict(config, X, y, train, tests, seed)
    return score(config, representation, predictions, y, tests, n_classes=n_classes,
                 collapse_threshold=collapse_threshold, unlabelled=unlabelled,
                 fit_seconds=seconds), predictions


def test_sample_configs_is_seeded_and_distinct():
    a = sample_configs(["logreg", "xgboost", "mlp", "rf"], 5, seed=3)
    b = sample_configs(["logreg", "xgboost", "mlp", "rf"], 5, seed=3)
    c = sample_configs(["logreg", "xgboost", "mlp", "rf"], 5, seed=4)
    assert a == b
    assert a != c
    assert len(a) == 20
    for family in GRIDS:
        params = [tuple(sorted(cfg.params.items())) for cfg in a if cfg.family == family]
        assert len(set(params)) == 5
    assert len({cfg.config_id for cfg in a}) == 20


def test_grids_include_aggressive_settings():
    assert min(GRIDS["logreg"]["C"]) <= 1e-4
    assert max(GRIDS["mlp"]["alpha"]) >= 10
    assert max(GRIDS["xgboost"]["learning_rate"]) >= 1.0
    assert min(GRIDS["xgboost"]["learning_rate"]) <= 1e-3


@pytest.mark.parametrize("family", sorted(GRIDS))
def test_every_family_builds_with_every_grid_value(family):
    for key, values in GRIDS[family].items():
        for value in values:
            params = {k: v[0] for k, v in GRIDS[family].items()} | {key: value}
            assert build_estimator(family, params, seed=0).get_params()[key] == value


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)).astype(np.float32) + y[:, None] * 2.0
    return X, y


def test_strong_regularization_collapses_and_weak_does_not():
    X, y = _blobs()
    train, test = np.arange(200), np.arange(200, 300)
    from tecurate.grid import ModelConfig

    collapsed, _ = fit_and_score(ModelConfig("logreg", "a", {"C": 1e-6, "max_iter": 100}), "raw",
                                 X * 0.01, y, train, {"id_test": test}, 2, 0.99, 0)
    healthy, predictions = fit_and_score(ModelConfig("logreg", "b", {"C": 1.0, "max_iter": 100}), "raw",
                                         X, y, train, {"id_test": test}, 2, 0.99, 0)
    assert collapsed.splits["id_test"].collapsed
    assert not healthy.splits["id_test"].collapsed
    assert healthy.splits["id_test"].accuracy > 0.9
    assert predictions["id_test"].dtype == np.int8 and predictions["id_test"].shape == (100,)
    assert np.mean(predictions["id_test"] == y[test]) == healthy.splits["id_test"].accuracy


def test_classes_missing_from_training_keep_global_codes():
    X, y = _blobs()
    y = y + 1  # codes 1 and 2 of a 3-class target: class 0 never trains
    from tecurate.grid import ModelConfig

    result, predictions = fit_and_score(ModelConfig("xgboost", "x", {"n_estimators": 5}), "raw", X, y,
                                        np.arange(200), {"id_test": np.arange(200, 300)}, 3, 0.99, 0)
    assert set(np.unique(predictions["id_test"])) <= {1, 2}
    dist = result.splits["id_test"].predicted_distribution
    assert len(dist) == 3 and dist[0] == 0.0
    assert result.splits["id_test"].accuracy > 0.9


def test_run_grid_matches_configs_across_representations_and_is_deterministic():
    X, y = _blobs()
    features = {"raw": X, "te": X[:, ::-1].copy()}
    configs = sample_configs(["logreg", "xgboost"], 2, seed=0)
    seen = []
    kwargs = dict(n_classes=2, collapse_threshold=0.99, seed=0)
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
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)


def test_unlabelled_splits_get_label_free_metrics_only():
    X, y = _blobs()
    y = y.copy()
    y[250:] = -1  # unlabelled rows carry a placeholder code that no metric may read
    from tecurate.analysis import PredictionMetrics, is_labelled
    from tecurate.grid import ModelConfig

    result, predictions = fit_and_score(ModelConfig("logreg", "b", {"C": 1.0}), "te", X, y, np.arange(200),
                                        {"id_test": np.arange(200, 250), "ood": np.arange(250, 300)},
                                        2, 0.99, 0, frozenset({"ood"}))
    ood = result.splits["ood"]
    assert isinstance(ood, PredictionMetrics) and not is_labelled(ood)
    assert is_labelled(result.splits["id_test"])
    assert ood.majority_class_rate == pytest.approx(max(np.bincount(predictions["ood"], minlength=2)) / 50)
    assert sum(ood.predicted_distribution) == pytest.approx(1.0)


def test_validation_split_holds_out_a_tenth_of_each_class_and_keeps_small_classes_whole():
    from tecurate.grid import validation_split

    labels = np.array([0] * 50 + [1] * 30 + [2] * 9)
    fit, held = validation_split(labels, seed=0)
    assert np.bincount(labels[held], minlength=3).tolist() == [5, 3, 0]
    assert np.array_equal(np.sort(np.concatenate([fit, held])), np.arange(labels.size))
    again, held_again = validation_split(labels, seed=0)
    assert np.array_equal(held, held_again)
    assert not np.array_equal(held, validation_split(labels, seed=1)[1])


def test_xgboost_stops_early_on_held_out_training_rows(monkeypatch):
    import tecurate.grid._fitting as models
    from tecurate.grid import ModelConfig, fit_predict

    built = []
    real = models.build_estimator
    monkeypatch.setattr(models, "build_estimator", lambda *a: built.append(real(*a)) or built[-1])
    X, y = _blobs()
    config = ModelConfig("xgboost", "x", {"n_estimators": 300, "learning_rate": 1.0, "max_depth": 6})
    fit_predict(config, X, y, np.arange(200), {"id_test": np.arange(200, 300)}, seed=0)
    booster = built[0]
    assert booster.best_iteration < 299  # stopped before using every tree
    assert booster.n_features_in_ == 5


def test_xgboost_without_rows_to_hold_out_fits_without_early_stopping():
    from tecurate.grid import ModelConfig, fit_predict

    X, y = _blobs(n=18)
    predictions, _ = fit_predict(ModelConfig("xgboost", "x", {"n_estimators": 5}), X, y, np.arange(12),
                                 {"id_test": np.arange(12, 18)}, seed=0)
    assert predictions["id_test"].shape == (6,)
