import json
import math
import warnings
from dataclasses import asdict

import numpy as np
import pytest
from sklearn import metrics as skm

import tecurate.analysis._metrics as metrics
from tecurate import AuditConfig
from tecurate.analysis import (
    SplitMetrics,
    accuracy,
    balanced_accuracy,
    base_rate,
    class_shares,
    is_collapsed,
    lift,
    macro_f1,
    majority_class_rate,
    n_predicted_classes,
    prediction_entropy,
    prediction_shift_tv,
    split_metrics,
)

# Shared toy split, K = 3:
#   y_true = [0, 0, 0, 1, 1, 2]   π = (3/6, 2/6, 1/6)
#   y_pred = [0, 0, 1, 1, 0, 0]   p̂ = (4/6, 2/6, 0)
# Matches at positions 0, 1, 3 -> 3 of 6.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 0, 0])
K = 3
T = AuditConfig(target="y").collapse_threshold
"""The audit's default collapse threshold (0.99), which the settings table owns."""


def test_public_names_match_all():
    defined = {
        name
        for name, obj in vars(metrics).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == metrics.__name__
    }
    assert set(metrics.__all__) == defined


def test_accuracy_hand_computed():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 6)


def test_balanced_accuracy_hand_computed():
    # recall_0 = 2/3 (positions 0,1 of 0,1,2), recall_1 = 1/2 (position 3 of 3,4),
    # recall_2 = 0/1 -> mean = (2/3 + 1/2 + 0) / 3 = 7/18
    assert balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 18)


def test_balanced_accuracy_ignores_classes_only_predicted():
    # y_true has only class 0; class 1 is predicted but has no recall.
    # recall_0 = 1/2 -> 0.5 (sklearn warns and ignores class 1 the same way)
    y_true, y_pred = [0, 0], [0, 1]
    assert balanced_accuracy(y_true, y_pred) == pytest.approx(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert balanced_accuracy(y_true, y_pred) == pytest.approx(
            skm.balanced_accuracy_score(y_true, y_pred)
        )


def test_macro_f1_hand_computed():
    # class 0: TP=2 FP=2 (pos 4,5) FN=1 (pos 2) -> F1 = 4 / (4+2+1) = 4/7
    # class 1: TP=1 FP=1 (pos 2)   FN=1 (pos 4) -> F1 = 2 / (2+1+1) = 1/2
    # class 2: TP=0 FP=0           FN=1 (pos 5) -> F1 = 0
    # mean = (4/7 + 1/2 + 0) / 3 = 15/42
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(15 / 42)


def test_macro_f1_label_only_predicted_counts_as_zero():
    # labels {0, 1}: class 0 TP=1 FP=0 FN=1 -> 2/3; class 1 TP=0 FP=1 FN=0 -> 0; mean 1/3
    assert macro_f1([0, 0], [0, 1]) == pytest.approx(1 / 3)


def test_class_shares_hand_computed():
    np.testing.assert_allclose(class_shares(Y_TRUE, K), [3 / 6, 2 / 6, 1 / 6])
    # class 2 never predicted still gets a slot
    np.testing.assert_allclose(class_shares(Y_PRED, K), [4 / 6, 2 / 6, 0.0])
    np.testing.assert_allclose(class_shares([1, 1], 4), [0.0, 1.0, 0.0, 0.0])


def test_collapse_metrics_hand_computed():
    assert majority_class_rate(Y_PRED, K) == pytest.approx(4 / 6)
    # H = -(2/3 ln 2/3 + 1/3 ln 1/3) / ln 3 = 0.6365141682948128 / 1.0986122886681098
    expected_h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(3)
    assert prediction_entropy(Y_PRED, K) == pytest.approx(expected_h)
    assert expected_h == pytest.approx(0.5793801642856950)
    assert n_predicted_classes(Y_PRED) == 2
    assert base_rate(Y_TRUE, K) == pytest.approx(3 / 6)
    # lift = 3/6 - 3/6 = 0
    assert lift(Y_TRUE, Y_PRED, K) == pytest.approx(0.0)
    # TV = ½ (|4/6-3/6| + |2/6-2/6| + |0-1/6|) = ½ (1/6 + 0 + 1/6) = 1/6
    assert prediction_shift_tv(Y_TRUE, Y_PRED, K) == pytest.approx(1 / 6)
    assert not is_collapsed(Y_PRED, K, T)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, size=50)
    y_pred = rng.integers(0, 4, size=50)
    y_pred[:10] = 0
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert balanced_accuracy(y_true, y_pred) == pytest.approx(
        skm.balanced_accuracy_score(y_true, y_pred)
    )
    assert macro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )


def test_macro_f1_agrees_with_sklearn_when_a_class_is_missing():
    # class 2 absent from y_true, class 3 absent from y_pred
    y_true = np.array([0, 1, 1, 3, 0, 1])
    y_pred = np.array([0, 2, 1, 0, 0, 2])
    assert macro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )


def test_one_predicted_class():
    y_pred = np.zeros(10, dtype=int)
    assert prediction_entropy(y_pred, 3) == 0.0
    assert math.copysign(1.0, prediction_entropy(y_pred, 3)) == 1.0  # not -0.0
    assert majority_class_rate(y_pred, 3) == 1.0
    assert n_predicted_classes(y_pred) == 1
    assert is_collapsed(y_pred, 3, T)
    # the single-class rule holds whatever the threshold
    assert is_collapsed(y_pred, 3, threshold=1.0)


def test_uniform_predictions_have_entropy_one():
    assert prediction_entropy([0, 1, 2, 0, 1, 2], 3) == pytest.approx(1.0)
    assert prediction_entropy([0, 1], 2) == pytest.approx(1.0)
    # only 2 of 4 training classes predicted, evenly: ln 2 / ln 4 = 1/2
    assert prediction_entropy([0, 1], 4) == pytest.approx(0.5)


def test_collapse_threshold_boundary_is_inclusive():
    at = np.array([0] * 99 + [1])  # majority rate 99/100 = 0.99 exactly
    below = np.array([0] * 98 + [1, 1])  # 0.98
    assert majority_class_rate(at, 2) == 0.99
    assert is_collapsed(at, 2, threshold=0.99)
    assert is_collapsed(at, 2, T) and T == 0.99
    assert not is_collapsed(below, 2, T)
    assert not is_collapsed(at, 2, threshold=0.995)


def test_collapsed_model_metrics():
    # always predicts class 1; y_true π = (0.25, 0.75)
    y_true = np.array([0, 1, 1, 1])
    y_pred = np.array([1, 1, 1, 1])
    m = split_metrics(y_true, y_pred, 2, T)
    assert m.accuracy == pytest.approx(0.75)
    assert m.balanced_accuracy == pytest.approx(0.5)  # (0 + 1) / 2
    # class 0: F1 0; class 1: TP=3 FP=1 FN=0 -> 6/7; mean 3/7
    assert m.macro_f1 == pytest.approx(3 / 7)
    assert m.base_rate == pytest.approx(0.75)
    assert m.lift == pytest.approx(0.0)
    # TV = ½ (|0-0.25| + |1-0.75|) = 0.25
    assert m.prediction_shift_tv == pytest.approx(0.25)
    assert m.collapsed
    assert m.predicted_distribution == (0.0, 1.0)


def test_split_metrics_matches_individual_functions_and_is_json_ready():
    m = split_metrics(Y_TRUE, Y_PRED, K, T)
    assert isinstance(m, SplitMetrics)
    assert m.accuracy == accuracy(Y_TRUE, Y_PRED)
    assert m.balanced_accuracy == balanced_accuracy(Y_TRUE, Y_PRED)
    assert m.macro_f1 == macro_f1(Y_TRUE, Y_PRED)
    assert m.majority_class_rate == majority_class_rate(Y_PRED, K)
    assert m.prediction_entropy == prediction_entropy(Y_PRED, K)
    assert m.n_predicted_classes == 2
    assert m.base_rate == base_rate(Y_TRUE, K)
    assert m.lift == lift(Y_TRUE, Y_PRED, K)
    assert m.prediction_shift_tv == prediction_shift_tv(Y_TRUE, Y_PRED, K)
    assert m.collapsed is False
    assert m.predicted_distribution == pytest.approx((4 / 6, 2 / 6, 0.0))
    for name, value in asdict(m).items():
        values = value if isinstance(value, tuple) else (value,)
        assert all(type(v) in (float, int, bool) for v in values), name
    json.dumps(asdict(m))


def test_split_metrics_collapse_threshold_is_passed_through():
    y_true = np.array([0, 1, 0, 1])
    y_pred = np.array([0, 0, 0, 1])  # majority rate 0.75
    assert not split_metrics(y_true, y_pred, 2, T).collapsed
    assert split_metrics(y_true, y_pred, 2, collapse_threshold=0.75).collapsed


def test_return_types_are_plain_python():
    assert type(accuracy(Y_TRUE, Y_PRED)) is float
    assert type(n_predicted_classes(Y_PRED)) is int
    assert type(is_collapsed(Y_PRED, K, T)) is bool


@pytest.mark.parametrize(
    "call",
    [
        lambda: accuracy([], []),
        lambda: balanced_accuracy([], []),
        lambda: macro_f1([], []),
        lambda: class_shares([], 2),
        lambda: majority_class_rate([], 2),
        lambda: prediction_entropy([], 2),
        lambda: n_predicted_classes([]),
        lambda: base_rate([], 2),
        lambda: lift([], [], 2),
        lambda: prediction_shift_tv([], [], 2),
        lambda: is_collapsed([], 2, T),
        lambda: split_metrics([], [], 2, T),
    ],
)
def test_empty_inputs_raise(call):
    with pytest.raises(ValueError, match="empty"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: accuracy([0, 1], [0]),
        lambda: class_shares([0, 3], 3),
        lambda: class_shares([-1, 0], 3),
        lambda: class_shares([0.0, 1.0], 2),
        lambda: class_shares([0, 1], 1),
        lambda: class_shares([[0, 1]], 2),
        lambda: is_collapsed([0, 1], 2, threshold=0.0),
        lambda: is_collapsed([0, 1], 2, threshold=1.5),
    ],
)
def test_malformed_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
