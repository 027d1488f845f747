import numpy as np
import pandas as pd
import pytest

from tecurate.data import MAX_CLASSES, Target, check_column, feature_columns, prepare_target
from tecurate.errors import TecurateError


def frame(**columns):
    return pd.DataFrame(columns)


def test_string_target_drops_missing_and_encodes():
    df = frame(x=[1, 2, 3, 4, 5], y=["b", None, "a", "b", "  "], g=list("ppqqp"))
    kept, target = prepare_target(df, "y")
    assert isinstance(target, Target)
    assert target.name == "y"
    assert target.classes == ("a", "b")
    assert target.codes.tolist() == [1, 0, 1]
    assert target.codes.dtype == np.int64
    assert target.n_dropped_missing == 2
    assert kept["x"].tolist() == [1, 3, 4]
    assert list(kept.index) == [0, 1, 2]


def test_input_frame_is_not_modified():
    df = frame(x=[1, 2, 3], y=["a", None, "b"])
    before = df.copy()
    prepare_target(df, "y")
    pd.testing.assert_frame_equal(df, before)


def test_integral_float_target_with_gaps():
    df = frame(x=range(5), y=[0.0, 1.0, np.nan, 1.0, 0.0])
    kept, target = prepare_target(df, "y")
    assert target.classes == ("0", "1")
    assert target.codes.tolist() == [0, 1, 1, 0]
    assert target.n_dropped_missing == 1
    assert len(kept) == 4


def test_int_target_sorted_numerically():
    df = frame(x=range(4), y=[10, 2, 2, 10])
    _, target = prepare_target(df, "y")
    assert target.classes == ("2", "10")
    assert target.codes.tolist() == [1, 0, 0, 1]


def test_bool_target():
    df = frame(x=range(3), y=[True, False, True])
    _, target = prepare_target(df, "y")
    assert target.classes == ("false", "true")
    assert target.codes.tolist() == [1, 0, 1]


def test_nullable_int_target():
    df = frame(x=range(4), y=pd.array([1, None, 0, 1], dtype="Int64"))
    _, target = prepare_target(df, "y")
    assert target.classes == ("0", "1")
    assert target.n_dropped_missing == 1


def test_float_target_looks_like_regression():
    df = frame(x=range(3), y=[0.5, 1.25, 2.0])
    with pytest.raises(TecurateError, match="looks like regression.*bin it first"):
        prepare_target(df, "y")


def test_single_class():
    df = frame(x=range(3), y=["a", "a", None])
    with pytest.raises(TecurateError, match="target 'y' has a single class 'a': nothing to audit"):
        prepare_target(df, "y")


def test_too_many_classes():
    df = frame(x=range(60), y=[f"c{i}" for i in range(60)])
    with pytest.raises(TecurateError, match="60 classes"):
        prepare_target(df, "y")
    _, target = prepare_target(df, "y", max_classes=60)
    assert len(target.classes) == 60
    assert MAX_CLASSES == 50


def test_all_missing_target():
    df = frame(x=range(2), y=[None, None])
    with pytest.raises(TecurateError, match="missing in all 2 rows"):
        prepare_target(df, "y")


def test_unknown_target_lists_columns():
    df = frame(age=[1], income=["a"])
    with pytest.raises(TecurateError) as err:
        prepare_target(df, "incme")
    message = str(err.value)
    assert "unknown target column 'incme'" in message
    assert "did you mean 'income'" in message
    assert "available: age, income" in message


def test_check_column_truncates_long_lists():
    df = pd.DataFrame({f"col{i}": [0] for i in range(40)})
    with pytest.raises(TecurateError, match=r"unknown shift column 'zzz'.*\(25 more\)$"):
        check_column(df, "zzz", "shift")
    check_column(df, "col3", "shift")


def test_feature_columns_exclude_target_shift_and_drop():
    df = frame(a=[1], y=["x"], b=[2], g=["p"], c=[3])
    assert feature_columns(df, "y") == ["a", "b", "g", "c"]
    assert feature_columns(df, "y", shift_col="g") == ["a", "b", "c"]
    assert feature_columns(df, "y", shift_col="g", drop=["b"]) == ["a", "c"]


def test_no_leakage_target_and_shift_never_features():
    rng = np.random.default_rng(0)
    columns = [f"c{i}" for i in range(8)]
    df = pd.DataFrame({c: rng.integers(0, 3, 5) for c in columns})
    for target in columns:
        for shift in columns:
            if shift == target:
                continue
            features = feature_columns(df, target, shift_col=shift)
            assert target not in features and shift not in features
            assert len(features) == len(columns) - 2


def test_feature_columns_errors():
    df = frame(a=[1], y=["x"], g=["p"])
    with pytest.raises(TecurateError, match="unknown --drop column 'zz'"):
        feature_columns(df, "y", drop=["zz"])
    with pytest.raises(TecurateError, match="unknown shift column 'h'"):
        feature_columns(df, "y", shift_col="h")
    with pytest.raises(TecurateError, match="is the target"):
        feature_columns(df, "y", shift_col="y")
    with pytest.raises(TecurateError, match="no feature columns left"):
        feature_columns(df, "y", shift_col="g", drop=["a"])


def test_unhashable_and_mixed_targets_are_labelled_by_their_text():
    """A list-valued target crashed factorize; 1 and True were merged into one class."""
    lists = pd.DataFrame({"y": pd.Series([[1], [2], [1], None], dtype=object), "x": range(4)})
    kept, target = prepare_target(lists, "y")
    assert target.classes == ("[1]", "[2]") and target.codes.tolist() == [0, 1, 0]
    assert target.n_dropped_missing == 1 and len(kept) == 3
    mixed = pd.DataFrame({"y": pd.Series([True, 1, 1.0, "  "], dtype=object), "x": range(4)})
    _, target = prepare_target(mixed, "y")
    assert target.classes == ("1", "true") and target.codes.tolist() == [1, 0, 0]


def test_blank_categorical_level_is_a_missing_target():
    df = pd.DataFrame({"y": pd.Categorical(["a", "", "b", "a"]), "x": range(4)})
    kept, target = prepare_target(df, "y")
    assert target.classes == ("a", "b") and target.n_dropped_missing == 1
    assert kept["x"].tolist() == [0, 2, 3]
