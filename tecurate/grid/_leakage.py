"""The leakage guard: a feature column that gives the target away makes the verdict meaningless.

A column that is the target under another name (``"y "`` next to ``"y"``), a recoding of it, or
a score that thresholds into it lets both routes read the label off one column: every model
looks healthy and the audit says nothing about the embedding. The guard runs before embedding,
on the raw values, at the cost of one factorize (and one sort for a numeric column) per column.

"Predicts the target perfectly by itself" must generalize: a mapping learned on ID-train alone
has to be right on every ID-train row and on every ID-test row it covers, and cover nearly all of
them. An id-like column (unique per row) is a perfect lookup of the training labels too, but
its ID-test values were never seen, so it covers nothing and is not flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tecurate._lazy import lazy

pd = lazy("pandas")

MIN_COVERAGE = 0.9
"""Share of ID-test rows a learned lookup must cover to count as generalizing."""
MIN_TEST_ROWS = 10
"""Fewer ID-test rows than this prove nothing about a learned mapping (a plain copy is still found)."""

_HOW = {
    "copy": "is a copy of the target '{target}' under another name",
    "lookup": "predicts the target '{target}' perfectly by itself: each of its values belongs to one "
              "class, on the ID-test rows as on ID-train (a recoding of the target)",
    "threshold": "predicts the target '{target}' perfectly by itself: each class is one interval of "
                 "its values, on the ID-test rows as on ID-train (a score of the target)",
}


@dataclass(frozen=True)
class Leak:
    """One feature column that gives the target away, and how."""

    column: str
    how: str
    """``copy``, ``lookup`` or ``threshold``."""

    def describe(self, target: str) -> str:
        return f"column '{self.column}' {_HOW[self.how].format(target=target)}"


def find_leaks(
    frame: pd.DataFrame,
    columns: Sequence[str],
    labels: np.ndarray,
    classes: Sequence[str],
    train: np.ndarray,
    test: np.ndarray,
) -> list[Leak]:
    """The feature ``columns`` of ``frame`` that leak the target, in column order.

    ``labels`` are class codes into ``classes`` for every row; only the ``train`` and ``test``
    rows (ID-train, ID-test) are read.
    """
    labels = np.asarray(labels)
    names = np.asarray([str(c) for c in classes], dtype=object)
    leaks = []
    for column in columns:
        how = _leak(frame[column], labels, names, train, test)
        if how is not None:
            leaks.append(Leak(str(column), how))
    return leaks


def _leak(values: pd.Series, labels: np.ndarray, names: np.ndarray, train: np.ndarray,
          test: np.ndarray) -> str | None:
    keys = _keys(values)
    rows = np.concatenate([train, test])
    if _is_copy(values, keys, labels, names, rows):
        return "copy"
    if test.size < MIN_TEST_ROWS:
        return None
    if _lookup_generalizes(keys, labels, train, test):
        return "lookup"
    if _intervals_generalize(values, labels, train, test):
        return "threshold"
    return None


def _keys(values: pd.Series) -> np.ndarray:
    """One code per distinct value, missing values included; object cells are compared by their
    text, so lists or dicts in a cell cannot break the guard."""
    hashable = values.astype(str).where(values.notna()) if values.dtype == object else values
    return pd.factorize(hashable, use_na_sentinel=False)[0]


def _is_copy(values: pd.Series, keys: np.ndarray, labels: np.ndarray, names: np.ndarray, rows: np.ndarray) -> bool:
    """The column's text is the class name on every labelled row (the text is built only for a
    column with no more distinct values than there are classes)."""
    if np.count_nonzero(np.bincount(keys[rows])) > names.size:
        return False
    picked = values.iloc[rows]
    return bool(picked.notna().all() and (picked.astype(str).to_numpy(dtype=object) == names[labels[rows]]).all())


def _lookup_generalizes(keys: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> bool:
    """Each value seen on ID-train has one class there, and that class is right on the ID-test rows."""
    n_classes = int(labels[train].max()) + 1
    # Distinct (value, class) pairs by counting, not sorting: keys are small integers.
    pairs = np.flatnonzero(np.bincount(keys[train].astype(np.int64) * n_classes + labels[train]))
    seen = pairs // n_classes
    if (seen[1:] == seen[:-1]).any():
        return False
    mapping = np.full(int(keys.max()) + 1, -1, dtype=np.int64)
    mapping[seen] = pairs % n_classes
    predicted = mapping[keys[test]]
    covered = predicted >= 0
    return covered.mean() >= MIN_COVERAGE and bool((predicted[covered] == labels[test][covered]).all())


def _intervals_generalize(values: pd.Series, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> bool:
    """Along a numeric column, ID-train's classes are one interval each, and ID-test falls in them."""
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return False
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(numbers[train]).any() or np.isnan(numbers[test]).any():
        return False
    order = np.argsort(numbers[train], kind="stable")
    ordered, classes = numbers[train][order], labels[train][order]
    changes = np.flatnonzero(classes[1:] != classes[:-1])
    runs = classes[np.r_[0, changes + 1]]
    if runs.size != np.unique(runs).size or (ordered[changes] == ordered[changes + 1]).any():
        return False
    boundaries = (ordered[changes] + ordered[changes + 1]) / 2
    return bool((runs[np.searchsorted(boundaries, numbers[test])] == labels[test]).all())
