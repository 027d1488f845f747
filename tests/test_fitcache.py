"""The fit cache: a re-run refits nothing, and any change to what a fit depends on is a miss."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_grid import TOY, registered

from tecurate.embedding import ContentStore
from tecurate.grid import FitCache, array_digest, run_grid, sample_configs

KWARGS = {"n_classes": 2, "collapse_threshold": 0.99, "seed": 0, "n_jobs": 1}


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    X = rng.normal(size=(300, 5)).astype(np.float32) + y[:, None]
    return {"raw": X, "te": X[:, ::-1].copy()}, y


TRAIN = np.arange(200)
TESTS = {"id_test": np.arange(200, 260), "ood:b": np.arange(260, 300)}
CONFIGS = sample_configs(["logreg", "xgboost"], 2, seed=0)


def _run(tmp_path: Path, features, y, seed=0, tests=TESTS, configs=CONFIGS):
    cache = FitCache(ContentStore(tmp_path), features, y, TRAIN, tests, seed)
    return run_grid(configs, features, y, TRAIN, tests, cache=cache, **{**KWARGS, "seed": seed})


def test_second_run_refits_nothing_and_reports_the_same(tmp_path):
    built = []

    def build(settings, seed):
        built.append(settings)
        return TOY.build(settings, seed)

    features, y = _data()
    with registered(replace(TOY, name="counted", build=build)):
        configs = CONFIGS + sample_configs(["counted"], 2, seed=0)
        first = _run(tmp_path, features, y, configs=configs)
        assert not any(m.cached for m in first.models) and len(built) == 4
        second = _run(tmp_path, features, y, configs=configs)
    assert len(built) == 4  # nothing rebuilt, so nothing refitted
    assert all(m.cached for m in second.models)
    assert [replace(m, cached=False) for m in second.models] == first.models
    for a, b in zip(first.predictions, second.predictions):
        assert a.keys() == b.keys() and all(np.array_equal(a[s], b[s]) for s in a)
    for a, b in zip(first.probabilities, second.probabilities):
        assert a.keys() == b.keys() and all(np.array_equal(a[s], b[s]) for s in a)


@pytest.mark.parametrize("change", ["features", "labels", "seed", "tests"])
def test_anything_a_fit_depends_on_is_a_miss(tmp_path, change):
    features, y = _data()
    _run(tmp_path, features, y)
    tests = TESTS
    seed = 0
    if change == "features":
        features = {**features, "te": features["te"] + np.float32(1e-3)}
    elif change == "labels":
        y = y.copy()
        y[0] = 1 - y[0]
    elif change == "seed":
        seed = 1
    else:
        tests = {"id_test": np.arange(200, 261), "ood:b": np.arange(261, 300)}
    again = _run(tmp_path, features, y, seed=seed, tests=tests)
    cached = {m.representation: m.cached for m in again.models}
    if change == "features":
        assert [m.cached for m in again.models if m.representation == "raw"] == [True] * 4
        assert not any(m.cached for m in again.models if m.representation == "te")
    else:
        assert cached == {"raw": False, "te": False}


def _build_knn_again(settings, seed):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(**settings)


@pytest.mark.parametrize(("change", "hit"), [
    ({}, True),
    ({"default": True}, True),
    ({"fixed": {"leaf_size": 10}}, False),
    ({"grid": {**TOY.grid, "n_neighbors": [*TOY.grid["n_neighbors"], 99]}}, False),
    ({"build": _build_knn_again}, False),
    ({"packages": ("scikit-learn", "scipy")}, False),
], ids=["unchanged", "default", "fixed", "grid", "builder", "packages"])
def test_a_changed_family_spec_is_a_miss_for_that_family_only(tmp_path, change, hit):
    """The same configurations, fitted again after the family was re-registered with ``change``."""
    features, y = _data()
    with registered(TOY):
        configs = CONFIGS + sample_configs(["toy"], 2, seed=0)
        _run(tmp_path, features, y, configs=configs)
    with registered(replace(TOY, **change)):
        again = _run(tmp_path, features, y, configs=configs)
    assert {m.family: m.cached for m in again.models} == {"logreg": True, "xgboost": True, "toy": hit}


def test_a_corrupt_entry_is_refitted_not_trusted(tmp_path):
    features, y = _data()
    first = _run(tmp_path, features, y)
    entries = sorted(tmp_path.rglob("fit-*.npz"))
    assert len(entries) == len(first.models)
    entries[0].write_bytes(entries[0].read_bytes()[:-10])
    again = _run(tmp_path, features, y)
    assert sum(not m.cached for m in again.models) == 1
    assert [replace(m, cached=False, fit_seconds=0) for m in again.models] == \
        [replace(m, fit_seconds=0) for m in first.models]


def test_an_entry_without_probabilities_is_refitted_not_misread(tmp_path):
    """An entry holding codes only (as the layout before probabilities wrote them) is a miss."""
    import hashlib
    import io

    features, y = _data()
    first = _run(tmp_path, features, y)
    assert all(p["id_test"].shape == (60, 2) for p in first.probabilities)
    entry = sorted(tmp_path.rglob("fit-*.npz"))[0]
    with np.load(entry) as archive:
        codes, seconds = archive["predictions"], archive["seconds"]
    buffer = io.BytesIO()
    np.savez(buffer, predictions=codes, seconds=seconds)
    data = buffer.getvalue()
    kind = entry.name[:-len("-" + "0" * 64 + ".npz")]
    entry.unlink()  # replaced by an intact, correctly named entry that lacks the probabilities
    (entry.parent / f"{kind}-{hashlib.sha256(data).hexdigest()}.npz").write_bytes(data)
    again = _run(tmp_path, features, y)
    assert sum(not m.cached for m in again.models) == 1
    for a, b in zip(first.probabilities, again.probabilities):
        assert all(np.array_equal(a[s], b[s]) for s in a)


def test_an_unwritable_cache_still_fits(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    features, y = _data()
    run = _run(blocker, features, y)
    assert len(run.models) == 8 and not any(m.cached for m in run.models)


def test_array_digest_sees_dtype_shape_and_bytes():
    a = np.arange(6, dtype=np.int32)
    assert array_digest(a) == array_digest(a.copy())
    assert array_digest(a) != array_digest(a.astype(np.int64))
    assert array_digest(a) != array_digest(a.reshape(2, 3))
    assert array_digest(a[::2]) == array_digest(np.array([0, 2, 4], dtype=np.int32))
