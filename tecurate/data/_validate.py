"""Check the target and choose the feature columns, before anything expensive runs.

`feature_columns` is where the no-leakage guarantee lives: the target and the shift column are
never features, so they never reach the raw models or the serialized text.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tecurate._lazy import lazy
from tecurate.data._columns import check_columns
from tecurate.data._serialize import column_texts, format_value
from tecurate.errors import TecurateError

pd = lazy("pandas")

MAX_CLASSES = 50
"""Most classes a target may have; beyond this it is more likely an id or a number than a label."""

_LIST_LIMIT = 15


@dataclass(frozen=True)
class Target:
    """The encoded target: `codes[i]` indexes `classes` for the i-th kept row."""

    name: str
    classes: tuple[str, ...]
    codes: np.ndarray
    n_dropped_missing: int


def check_column(df: pd.DataFrame, column: str, role: str) -> None:
    """Raise a one-line error naming the available columns when `column` is not in `df`."""
    if column in df.columns:
        return
    names = [str(c) for c in df.columns]
    hint = difflib.get_close_matches(str(column), names, n=1)
    if not hint:
        hint = [n for n in names if n.lower() == str(column).lower()][:1]
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    shown = ", ".join(names[:_LIST_LIMIT])
    if len(names) > _LIST_LIMIT:
        shown += f", ... ({len(names) - _LIST_LIMIT} more)"
    raise TecurateError(f"unknown {role} column '{column}'{suggestion}; available: {shown}")


def prepare_target(
    df: pd.DataFrame, target: str, *, max_classes: int = MAX_CLASSES
) -> tuple[pd.DataFrame, Target]:
    """Drop rows with a missing target and encode the rest as class codes.

    Returns the kept rows (fresh RangeIndex, so positions and labels agree) and the `Target`.
    Classes are the labels' text (ints "0", "1"; integral floats such as 1.0 as "1", which is
    what a 0/1 column with gaps becomes; bools "false"/"true"), sorted numerically when every
    label is a number (so "2" precedes "10") and alphabetically otherwise.
    """
    check_column(df, target, "target")
    column = df[target]
    codes_all, labels = column_texts(column)
    missing = codes_all < 0
    kept = df.loc[~missing].reset_index(drop=True)
    if kept.empty:
        raise TecurateError(f"target '{target}' is missing in all {len(df)} rows; nothing to audit")
    codes_raw = codes_all[~missing]
    if pd.api.types.is_float_dtype(column.dtype):
        _check_integral(column.to_numpy(dtype=np.float64, na_value=np.nan)[~missing], target)
    classes = target_classes({label for label in labels if label is not None}, target, max_classes=max_classes)
    position = {label: i for i, label in enumerate(classes)}
    lookup = np.array([position.get(label, -1) for label in labels], dtype=np.int64)
    target_info = Target(
        name=target,
        classes=tuple(classes),
        codes=lookup[codes_raw],
        n_dropped_missing=int(missing.sum()),
    )
    return kept, target_info


def target_classes(present: set[str], target: str, *, max_classes: int = MAX_CLASSES) -> list[str]:
    """The classes of the labels ``present``, in order (numerically when every label is a number);
    one class, or more than ``max_classes``, is not a classification to audit."""
    classes = sorted(present, key=_numeric_key if all(map(_is_number, present)) else None)
    if len(classes) == 1:
        raise TecurateError(
            f"target '{target}' has a single class '{classes[0]}': nothing to audit"
        )
    if len(classes) > max_classes:
        raise TecurateError(
            f"target '{target}' has {len(classes)} classes (more than {max_classes}); "
            "tecurate audits classification — pick a categorical target or group its values"
        )
    return classes


def _is_number(label: str) -> bool:
    try:
        float(label)
    except ValueError:
        return False
    return True


def _numeric_key(label: str) -> tuple[float, str]:
    return float(label), label


def _check_integral(values: np.ndarray, target: str) -> None:
    bad = values[~np.isfinite(values) | (values != np.round(values))]
    if bad.size:
        raise TecurateError(
            f"target '{target}' has non-integer values such as {format_value(bad[0])}: looks like "
            "regression; tecurate audits classification — bin it first"
        )


def feature_columns(
    df: pd.DataFrame, target: str, *, shift_col: str | None = None, drop: Sequence[str] = ()
) -> list[str]:
    """All columns except the target, the shift column and `drop`, in table order.

    Every column the audit uses (these, the target, the shift column) must be usable by both
    routes (:func:`tecurate.data._columns.check_columns`); one that is not fails here, by name.
    """
    check_column(df, target, "target")
    if shift_col is not None:
        check_column(df, shift_col, "shift")
        if shift_col == target:
            raise TecurateError(
                f"shift column '{shift_col}' is the target; pick another --shift-col"
            )
    for column in drop:
        check_column(df, column, "--drop")
    excluded = {target, *drop} | ({shift_col} if shift_col is not None else set())
    features = [c for c in df.columns if c not in excluded]
    check_columns(df, [target, *([shift_col] if shift_col is not None else []), *features])
    if not features:
        raise TecurateError(
            f"no feature columns left after excluding the target '{target}'"
            + (f", the shift column '{shift_col}'" if shift_col is not None else "")
            + (" and the --drop columns" if drop else "")
            + "; keep at least one column"
        )
    return features
