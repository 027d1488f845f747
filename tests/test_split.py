import numpy as np
import pandas as pd
import pytest

from tecurate.config import AuditConfig
from tecurate.data import (
    OodSplit,
    ShiftInfo,
    Splits,
    id_keys,
    row_keys,
    split_by_column,
    split_by_mask,
    split_synthetic,
    stratified_sample,
)
from tecurate.errors import TecurateError

DEFAULTS = AuditConfig(target="y")
"""The split knobs have no defaults of their own: the pipeline passes the config's."""
SPLIT = dict(test_size=DEFAULTS.test_size, seed=DEFAULTS.seed)


def distinct_keys(n: int) -> np.ndarray:
    """Keys of n distinct rows (a row number is their content), as the pipeline passes them."""
    return row_keys(pd.DataFrame({"row": np.arange(n)}), ["row"])


def by_column(values, codes, **knobs) -> Splits:
    return split_by_column(values, codes, **{"min_domain_rows": DEFAULTS.min_domain_rows, "keys": distinct_keys(len(codes)),
                                             **SPLIT, **knobs})


def by_mask(codes, mask, **knobs) -> Splits:
    return split_by_mask(codes, mask, **{"keys": distinct_keys(len(codes)), **SPLIT, **knobs})


def synthetic(X, codes, **knobs) -> Splits:
    return split_synthetic(X, codes, **{"quantile": DEFAULTS.synthetic_quantile, "keys": distinct_keys(len(codes)),
                                        **SPLIT, **knobs})


def sample(strata, max_rows, seed, keys=None):
    return stratified_sample(strata, max_rows, keys=distinct_keys(len(strata)) if keys is None else keys, seed=seed)


def domains(sizes: dict[str, int], seed: int = 0) -> tuple[pd.Series, np.ndarray]:
    values = np.concatenate([[name] * n for name, n in sizes.items()])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(values))
    return pd.Series(values[order]), rng.integers(0, 2, len(values))


def assert_partition(splits: Splits, n_rows: int, excluded: int = 0) -> None:
    parts = [splits.id_train, splits.id_test, *splits.ood.values()]
    for part in parts:
        assert part.dtype == np.int64
        assert np.all(np.diff(part) > 0)
    everything = np.concatenate(parts)
    assert len(everything) == len(set(everything.tolist())) == n_rows - excluded


def test_stratified_sample_keeps_shares_and_rare_strata():
    strata = np.array([0] * 900 + [1] * 95 + [2] * 5)
    chosen = sample(strata, 100, seed=1)
    assert len(chosen) == 100 and chosen.dtype == np.int64
    assert np.all(np.diff(chosen) > 0)
    counts = np.bincount(strata[chosen], minlength=3)
    assert counts.tolist() == [90, 9, 1]
    assert np.array_equal(chosen, sample(strata, 100, seed=1))
    assert not np.array_equal(chosen, sample(strata, 100, seed=2))


def test_stratified_sample_returns_all_rows_when_big_enough():
    strata = np.array(["a", "b", "a"])
    assert sample(strata, 3, seed=0).tolist() == [0, 1, 2]
    assert sample(strata, 10, seed=0).tolist() == [0, 1, 2]


def test_stratified_sample_more_strata_than_rows():
    strata = np.arange(10)
    chosen = sample(strata, 3, seed=0)
    assert len(chosen) == 3 and len(set(chosen.tolist())) == 3


def test_split_by_column_domains_and_skips():
    values, codes = domains({"a": 600, "b": 300, "c": 250, "d": 50})
    splits = by_column(values, codes, column="region", seed=3)
    shift = splits.shift
    assert isinstance(shift, ShiftInfo)
    assert shift.kind == "column" and shift.column == "region"
    assert shift.id_values == ("a",)
    assert list(splits.ood) == ["ood:b", "ood:c"]
    assert shift.ood_splits == (
        OodSplit("ood:b", 300, "rows where region = 'b'", "b"),
        OodSplit("ood:c", 250, "rows where region = 'c'", "c"),
    )
    assert shift.skipped_domains == {"d": 50}
    assert any("fewer than 200 rows" in w for w in shift.warnings)
    assert len(splits.id_train) + len(splits.id_test) == 600
    id_codes = codes[values.to_numpy() == "a"]
    for c in (0, 1):  # exactly stratified: round(0.3 x n_c) test rows per class
        assert (codes[splits.id_test] == c).sum() == int(np.floor(0.3 * (id_codes == c).sum() + 0.5))
    assert (values.to_numpy()[splits.ood["ood:b"]] == "b").all()
    assert (values.to_numpy()[splits.id_train] == "a").all()
    assert_partition(splits, 1200, excluded=50)


def test_split_by_column_is_stratified_and_deterministic():
    values, codes = domains({"a": 1000, "b": 400})
    first = by_column(values, codes, column="g", seed=7)
    again = by_column(values, codes, column="g", seed=7)
    other = by_column(values, codes, column="g", seed=8)
    for left, right in [(first.id_train, again.id_train), (first.id_test, again.id_test)]:
        assert np.array_equal(left, right)
    assert np.array_equal(first.ood["ood:b"], again.ood["ood:b"])
    assert not np.array_equal(first.id_test, other.id_test)
    id_rows = np.flatnonzero(values.to_numpy() == "a")
    share_all = codes[id_rows].mean()
    assert abs(codes[first.id_test].mean() - share_all) < 0.01
    assert not first.shift.warnings


def test_default_id_is_most_frequent_with_lexicographic_ties():
    values, codes = domains({"b": 300, "a": 300, "c": 250})
    splits = by_column(values, codes, column="g")
    assert splits.shift.id_values == ("a",)
    assert list(splits.ood) == ["ood:b", "ood:c"]


def test_explicit_id_values_and_numeric_text_matching():
    values = pd.Series([2019.0] * 300 + [2020.0] * 300 + [2021.0] * 300 + [np.nan] * 10)
    codes = np.tile([0, 1], len(values) // 2)
    splits = by_column(
        values, codes, column="year", id_values=["2019", "2020"], min_domain_rows=100
    )
    assert splits.shift.id_values == ("2019", "2020")
    assert list(splits.ood) == ["ood:2021"]
    assert len(splits.id_train) + len(splits.id_test) == 600
    assert any("10 rows with a missing 'year'" in w for w in splits.shift.warnings)
    assert_partition(splits, len(values), excluded=10)


def test_unknown_id_value_lists_values():
    values, codes = domains({"a": 300, "b": 300})
    message = r"'zz'.*do not occur in column 'g'; values: 'a' \(300\)"
    with pytest.raises(TecurateError, match=message):
        by_column(values, codes, column="g", id_values=["zz"])


def test_no_ood_domain_big_enough():
    values, codes = domains({"a": 500, "b": 57, "c": 12})
    with pytest.raises(TecurateError) as err:
        by_column(values, codes, column="x")
    assert str(err.value) == (
        "no OOD domain of column 'x' has at least 200 rows (largest: 'b' with 57); "
        "lower --min-domain-rows"
    )
    splits = by_column(values, codes, column="x", min_domain_rows=50)
    assert list(splits.ood) == ["ood:b"]


def test_only_id_values():
    values, codes = domains({"a": 500})
    with pytest.raises(TecurateError, match="no rows are left for OOD"):
        by_column(values, codes, column="x")


def test_id_part_too_small():
    values, codes = domains({"a": 300, "b": 3})
    with pytest.raises(TecurateError, match="ID part has only 3 rows"):
        by_column(values, codes, column="x", id_values=["b"])


def test_rare_class_falls_back_to_unstratified():
    values, codes = domains({"a": 300, "b": 300})
    codes = codes.copy()
    rare = np.flatnonzero(values.to_numpy() == "a")[0]
    codes[rare] = 2
    splits = by_column(values, codes, column="x")
    assert any("not stratified" in w for w in splits.shift.warnings)
    assert len(splits.id_train) + len(splits.id_test) == 300


def test_split_by_mask():
    codes = np.tile([0, 1], 100)
    mask = np.zeros(200, dtype=bool)
    mask[150:] = True
    splits = by_mask(codes, mask, description="rows of other.csv", seed=1)
    assert splits.shift.kind == "file" and splits.shift.column is None
    assert list(splits.ood) == ["ood"]
    assert splits.ood["ood"].tolist() == list(range(150, 200))
    assert splits.shift.ood_splits == (OodSplit("ood", 50, "rows of other.csv"),)
    assert len(splits.id_test) == 46  # 23 of each class's 75 ID rows (22.5 rounds half up)
    assert_partition(splits, 200)
    with pytest.raises(TecurateError, match="has no rows"):
        by_mask(codes, np.zeros(200, dtype=bool), description="other.csv")


def synthetic_data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    X = np.column_stack(
        [latent * 10 + rng.normal(size=n), latent + rng.normal(size=n) * 0.1, rng.normal(size=n)]
    )
    codes = (latent + rng.normal(size=n) > 0).astype(np.int64)
    return X, codes


def test_split_synthetic():
    X, codes = synthetic_data()
    splits = synthetic(X, codes, seed=0)
    shift = splits.shift
    assert shift.kind == "synthetic" and shift.column is None
    assert list(splits.ood) == ["ood:synthetic"]
    assert len(splits.ood["ood:synthetic"]) == 200
    assert "synthetic" in shift.warnings[0]
    assert "first principal component" in shift.description
    assert "80th percentile" in shift.description
    assert shift.ood_splits[0].n_rows == 200
    assert_partition(splits, 1000)
    # The sign is fixed so OOD is the high end of the dominant direction.
    assert X[splits.ood["ood:synthetic"], 0].mean() > X[splits.id_train, 0].mean()


def test_split_synthetic_deterministic_and_sign_stable():
    X, codes = synthetic_data()
    first = synthetic(X, codes, seed=4)
    again = synthetic(X.copy(), codes.copy(), seed=4)
    flipped = synthetic(X[:, ::-1].copy(), codes, seed=4)
    for name in ("id_train", "id_test"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert np.array_equal(first.ood["ood:synthetic"], again.ood["ood:synthetic"])
    assert np.array_equal(first.ood["ood:synthetic"], flipped.ood["ood:synthetic"])


def test_split_synthetic_handles_nan_and_rejects_constant():
    X, codes = synthetic_data(200)
    X[::10, 1] = np.nan
    X = np.column_stack([X, np.full(len(X), np.nan)])
    splits = synthetic(X, codes, quantile=0.5)
    assert len(splits.ood["ood:synthetic"]) == 100
    with pytest.raises(TecurateError, match="do not vary"):
        synthetic(np.ones((50, 3)), np.tile([0, 1], 25))


def test_shift_column_missing_everywhere():
    values = pd.Series([None] * 40, dtype=object)
    with pytest.raises(TecurateError, match="missing in every row"):
        by_column(values, np.tile([0, 1], 20), column="g")


def test_stratified_sample_keeps_the_smallest_seeded_keys_whatever_the_order():
    strata = np.repeat([0, 1], [700, 300])
    keys = distinct_keys(1000)
    chosen = sample(strata, 100, seed=3, keys=keys)
    order = np.random.default_rng(0).permutation(1000)
    moved = sample(strata[order], 100, seed=3, keys=keys[order])
    assert sorted(order[moved].tolist()) == chosen.tolist()
    grown = np.r_[strata, [0] * 10]  # ten rows appended: the old sample changes only at the margin
    more = sample(grown, 100, seed=3, keys=distinct_keys(1010))
    assert len(set(chosen.tolist()) & set(more.tolist())) >= 95


def test_equal_keys_are_never_cut_apart():
    codes = np.tile([0, 1], 60)
    group_of = np.arange(120) // 8  # blocks of 4 rows per class; 15 test rows per class cut into one
    keys = row_keys(pd.DataFrame({"group": group_of}), ["group"])
    for seed in range(20):
        splits = by_mask(codes, np.r_[np.zeros(100, bool), np.ones(20, bool)], keys=keys, seed=seed,
                         description="x")
        test = np.isin(np.arange(120), splits.id_test)
        for group in range(13):
            for c in (0, 1):
                members = (group_of == group) & (codes == c) & (np.arange(120) < 100)
                assert test[members].all() or not test[members].any()


def test_a_class_with_two_id_rows_gets_one_test_row():
    values, codes = domains({"a": 300, "b": 300})
    codes = codes.copy()
    codes[np.flatnonzero(values.to_numpy() == "a")[:2]] = 2
    for seed in range(5):
        splits = by_column(values, codes, column="x", seed=seed)
        assert (codes[splits.id_test] == 2).sum() == 1 and (codes[splits.id_train] == 2).sum() == 1
        assert not splits.shift.warnings


def test_id_keys_missing_is_an_error_duplicates_within_a_part_a_warning():
    keys, notes = id_keys(pd.Series([1, 2, 3, 1]), "id", parts=np.array([False, False, True, True]))
    assert keys[0] == keys[3] and len(set(keys.tolist())) == 3 and notes == []  # one id per file
    _, notes = id_keys(pd.Series(["a", "b", "a"]), "id")
    assert notes == ["--id-col 'id' is not unique: 2 rows share their id with another row (e.g. 'a'); "
                     "rows sharing an id are placed together"]
    with pytest.raises(TecurateError, match="--id-col 'id' is missing in 2 rows"):
        id_keys(pd.Series(["a", " ", None, "b"]), "id")
