"""Raw-feature encoding: the route the embeddings are compared against.

The raw route must be a fair, ordinary baseline: median-imputed and standardized
numerics, one-hot categoricals (rare levels pooled, unseen levels ignored). It is fitted
on ID-train rows only, so no statistic of the test or OOD rows leaks into it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MAX_CATEGORIES = 32
"""Per-column one-hot width cap; rarer levels share one 'infrequent' column."""


def split_column_kinds(df: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Numeric (incl. bool) vs categorical columns, in the given order."""
    numeric, categorical = [], []
    for col in columns:
        dtype = df[col].dtype
        is_num = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        (numeric if is_num else categorical).append(col)
    return numeric, categorical


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categoricals as strings with an explicit '<missing>' level."""
    return frame.astype(object).where(frame.notna(), "<missing>").astype(str).to_numpy()


def raw_encoder(df: pd.DataFrame, columns: Sequence[str]) -> ColumnTransformer:
    """An unfitted encoder for ``columns`` of ``df`` producing a dense float32 matrix."""
    numeric, categorical = split_column_kinds(df, columns)
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
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

