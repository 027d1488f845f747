"""Per-split metrics that expose collapse: one function per metric, arrays in, numbers out.

Labels are integer class codes ``0..K-1`` where ``K`` is the number of *training* classes, so a
split in which some class never occurs still has a length-``K`` share vector. ``accuracy``,
``balanced_accuracy`` and ``macro_f1`` match their scikit-learn namesakes; the collapse metrics
(``majority_class_rate``, ``prediction_entropy``, ``prediction_shift_tv``, ``is_collapsed``) are
tecurate's own definitions, because the source paper (arXiv 2506.17989) publishes no formulas.

Every function returns plain Python numbers (never numpy scalars) so results serialize to JSON
as they are, and raises ``ValueError`` on empty or malformed input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "SplitMetrics",
    "accuracy",
    "balanced_accuracy",
    "base_rate",
    "class_shares",
    "is_collapsed",
    "lift",
    "macro_f1",
    "majority_class_rate",
    "n_predicted_classes",
    "prediction_entropy",
    "prediction_shift_tv",
    "split_metrics",
]

def _as_1d(y: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    return arr


def _as_pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} != {p.size}")
    return t, p


def _check_n_classes(n_classes: int) -> None:
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Confusion counts over the labels in y_true ∪ y_pred (rows true, columns predicted)."""
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    n_labels = labels.size
    t, p = codes[: y_true.size], codes[y_true.size :]
    return np.bincount(t * n_labels + p, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of exact matches; the headline number that collapse can make look respectable."""
    t, p = _as_pair(y_true, y_pred)
    return float(np.mean(t == p))


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean recall over classes present in y_true; a collapsed model scores 1/(#true classes).

    Classes that are only predicted have no recall and are ignored, as in scikit-learn.
    """
    cm = _confusion(*_as_pair(y_true, y_pred))
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Unweighted mean F1 over labels in y_true ∪ y_pred (sklearn ``average="macro"``).

    Every such label has 2·TP + FP + FN > 0, so the zero-division case never arises.
    """
    cm = _confusion(*_as_pair(y_true, y_pred))
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # = 2·TP + FP + FN
    return float(np.mean(2 * tp / denom))


def class_shares(y: ArrayLike, n_classes: int) -> np.ndarray:
    """Length-K share of each class code; K comes from training so absent classes count as 0."""
    _check_n_classes(n_classes)
    arr = _as_1d(y, "y")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be integer class codes, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= n_classes:
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got range {arr.min()}..{arr.max()}"
        )
    return np.bincount(arr, minlength=n_classes) / arr.size


def majority_class_rate(y_pred: ArrayLike, n_classes: int) -> float:
    """max_c p̂_c: how much of the split the most-predicted class swallows."""
    return float(class_shares(y_pred, n_classes).max())


def prediction_entropy(y_pred: ArrayLike, n_classes: int) -> float:
    """Entropy of p̂ normalized by ln K: 0 when one class is predicted, 1 when uniform.

    Normalizing by the number of training classes makes values comparable across datasets.
    """
    shares = class_shares(y_pred, n_classes)
    nonzero = shares[shares > 0]  # 0·ln 0 = 0
    entropy = -float(np.sum(nonzero * np.log(nonzero))) / math.log(n_classes)
    return min(1.0, max(0.0, entropy))


def n_predicted_classes(y_pred: ArrayLike) -> int:
    """Number of distinct predicted labels; 1 is collapse regardless of the threshold."""
    return int(np.unique(_as_1d(y_pred, "y_pred")).size)


def base_rate(y_true: ArrayLike, n_classes: int) -> float:
    """max_c π_c: the accuracy of always predicting the split's most common class."""
    return float(class_shares(y_true, n_classes).max())


def lift(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> float:
    """Accuracy minus base rate; near 0 or below means the model learned nothing usable."""
    return accuracy(y_true, y_pred) - base_rate(y_true, n_classes)


def prediction_shift_tv(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> float:
    """Total-variation distance ½ Σ|p̂_c − π_c| between predicted and true class shares.

    A collapsed model's distance is 1 − π of the class it predicts, however accurate it looks.
    """
    t, p = _as_pair(y_true, y_pred)
    diff = class_shares(p, n_classes) - class_shares(t, n_classes)
    return float(0.5 * np.abs(diff).sum())


def is_collapsed(y_pred: ArrayLike, n_classes: int, threshold: float) -> bool:
    """True when one class takes at least ``threshold`` of the predictions (boundary included).

    The separate ``n_predicted_classes == 1`` rule keeps a single-class model collapsed
    whatever threshold the user configures.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return majority_class_rate(y_pred, n_classes) >= threshold or n_predicted_classes(y_pred) == 1


@dataclass(frozen=True)
class SplitMetrics:
    """Every metric of one model on one split; plain Python values, ready for JSON."""

    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    majority_class_rate: float
    prediction_entropy: float
    n_predicted_classes: int
    base_rate: float
    lift: float
    prediction_shift_tv: float
    collapsed: bool
    predicted_distribution: tuple[float, ...]
    """p̂ in class-code order, length K."""


def split_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int,
    collapse_threshold: float,
) -> SplitMetrics:
    """All metrics for one (model, split) in one call, so every caller computes them alike."""
    t, p = _as_pair(y_true, y_pred)
    return SplitMetrics(
        accuracy=accuracy(t, p),
        balanced_accuracy=balanced_accuracy(t, p),
        macro_f1=macro_f1(t, p),
        majority_class_rate=majority_class_rate(p, n_classes),
        prediction_entropy=prediction_entropy(p, n_classes),
        n_predicted_classes=n_predicted_classes(p),
        base_rate=base_rate(t, n_classes),
        lift=lift(t, p, n_classes),
        prediction_shift_tv=prediction_shift_tv(t, p, n_classes),
        collapsed=is_collapsed(p, n_classes, collapse_threshold),
        predicted_distribution=tuple(float(s) for s in class_shares(p, n_classes)),
    )
