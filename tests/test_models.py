"""The matched grid: sampling, matching raw/te configurations, determinism, parallel order."""

import numpy as np
import pytest

from tecurate.models import GRIDS, build_estimator, fit_and_score, run_grid, sample_configs


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
    from tecurate.models import ModelConfig

    collapsed = fit_and_score(ModelConfig("logreg", "a", {"C": 1e-6, "max_iter": 100}), "raw",
                              X * 0.01, y, train, {"id_test": test}, 2, 0.99, 0)
    healthy = fit_and_score(ModelConfig("logreg", "b", {"C": 1.0, "max_iter": 100}), "raw",
                            X, y, train, {"id_test": test}, 2, 0.99, 0)
    assert collapsed.splits["id_test"].collapsed
    assert not healthy.splits["id_test"].collapsed
    assert healthy.splits["id_test"].accuracy > 0.9


def test_classes_missing_from_training_keep_global_codes():
    X, y = _blobs()
    y = y + 1  # codes 1 and 2 of a 3-class target: class 0 never trains
    from tecurate.models import ModelConfig

    result = fit_and_score(ModelConfig("xgboost", "x", {"n_estimators": 5}), "raw", X, y,
                           np.arange(200), {"id_test": np.arange(200, 300)}, 3, 0.99, 0)
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
    one = run_grid(configs, features, y, np.arange(200), tests, n_jobs=2,
                   progress=lambda d, t: seen.append((d, t)), **kwargs)
    two = run_grid(configs, features, y, np.arange(200), tests, n_jobs=1, **kwargs)
    assert [(m.config_id, m.representation) for m in one] == \
        [(c.config_id, r) for c in configs for r in ("raw", "te")]
    assert [m.splits for m in one] == [m.splits for m in two]
    pairs = {}
    for m in one:
        pairs.setdefault(m.config_id, []).append(m.params)
    assert all(p[0] == p[1] for p in pairs.values())
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
