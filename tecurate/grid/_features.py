"""Raw-feature encoding: the route the embeddings are compared against.

The raw route must be a fair, ordinary baseline: median-imputed and standardized
numerics, one-hot categoricals (rare levels pooled, unseen levels ignored). Which columns are
which, and how times, dates, decimals and lists are read, is :mod:`tecurate.data._columns`'s call,
the one the text route follows too. It is fitted
on ID-train rows only, so no statistic of the test or OOD rows leaks into it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tecurate._lazy import lazy
from tecurate.data import column_kind

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

pd = lazy("pandas")

MAX_CATEGORIES = 32
"""Per-column one-hot width cap; rarer levels share one 'infrequent' column."""
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def split_column_kinds(df: pd.DataFrame, columns: Sequence[str]) -> tuple[list[int], list[int]]:
    """Positions in `columns` of the numeric and of the categorical ones, as
    :func:`tecurate.data.column_kind` says. Positions, not names: sklearn mangles some names
    (a NUL character, say)."""
    numeric, categorical = [], []
    for position, col in enumerate(columns):
        (numeric if column_kind(df[col]) == "numeric" else categorical).append(position)
    return numeric, categorical


def _as_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Numerics as float64: times in seconds (tz-aware ones as UTC instants), dates in days,
    decimals as floats; a value the float32 feature matrix cannot hold (inf, or beyond 3.4e38)
    is missing, for the imputer to fill."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, (_, column) in enumerate(frame.items()):
        out[:, j] = _column_numbers(column)
    with np.errstate(invalid="ignore"):
        out[~(np.abs(out) <= _FLOAT32_MAX)] = np.nan
    return out


def _column_numbers(column: pd.Series) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        epoch = pd.Timestamp(0, tz="UTC" if getattr(dtype, "tz", None) is not None else None)
        return ((column - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return (column / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    if dtype == object:
        if pd.api.types.infer_dtype(column, skipna=True) == "date":
            column = column.map(datetime.date.toordinal, na_action="ignore")
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categoricals as strings with an explicit '<missing>' level."""
    return frame.astype(object).where(frame.notna(), "<missing>").astype(str).to_numpy()


def raw_encoder(df: pd.DataFrame, columns: Sequence[str]) -> ColumnTransformer:
    """An unfitted encoder for ``df[columns]`` producing a dense float32 matrix."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric, categorical = split_column_kinds(df, columns)
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(FunctionTransformer(_as_numbers),
                                           SimpleImputer(strategy="median", keep_empty_features=True),
                                           StandardScaler()), numeric))
    if categorical:
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES,
                                sparse_output=False, dtype=np.float32)
        parts.append(("cat", make_pipeline(FunctionTransformer(_as_text), encoder), categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def encode_raw(df: pd.DataFrame, columns: Sequence[str], fit_rows: np.ndarray) -> np.ndarray:
    """Fit the raw encoder on ``fit_rows`` and transform every row of ``df``."""
    encoder = raw_encoder(df, columns)
    encoder.fit(df.iloc[fit_rows][list(columns)])
    return np.asarray(encoder.transform(df[list(columns)]), dtype=np.float32)

