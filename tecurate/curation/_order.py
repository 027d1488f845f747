"""``order``: columns in order of importance, most important first, so what matters is read
first and is the last thing a token limit cuts. Importance is measured on the raw route's view of
each column, on ID-train only: the mutual information (in nats) between the target and the
column, numbers in ID-train deciles, text in its 31 most frequent values plus "other", a
missing value its own level. Deterministic (no sampling); ties keep the table's order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tecurate._lazy import lazy
from tecurate.curation._operation import Fitted, FitContext, WithoutParameter
from tecurate.curation._table import TextTable
from tecurate.data import column_kind

pd = lazy("pandas")

LEVELS = 32
"""Levels a text column keeps (like the raw route's one-hot cap)."""


def column_levels(column: pd.Series) -> np.ndarray:
    """Each row's level (0..L-1): decile of a number, frequent value of a text, missing its own."""
    if column_kind(column) == "numeric" and pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(values)
        if not finite.any():
            return np.zeros(len(values), dtype=np.int64)
        edges = np.unique(np.quantile(values[finite], np.linspace(0, 1, 11)[1:-1]))
        levels = np.searchsorted(edges, values, side="right")
        return np.where(finite, levels, edges.size + 1)
    codes, uniques = pd.factorize(column.astype(object).where(column.notna(), None).map(
        lambda v: None if v is None else str(v)), use_na_sentinel=False)
    counts = np.bincount(codes)
    keep = np.argsort(-counts, kind="stable")[: LEVELS - 1]
    remap = np.full(counts.size, LEVELS - 1)
    remap[keep] = np.arange(keep.size)
    return remap[codes]


def mutual_information(levels: np.ndarray, codes: np.ndarray) -> float:
    """Plug-in mutual information of two discrete variables, in nats."""
    joint = np.array(pd.crosstab(levels, codes).to_numpy(dtype=np.float64))
    joint /= joint.sum()
    px, py = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = joint * np.log(joint / (px * py))
    return float(np.nansum(terms))


@dataclass(frozen=True)
class Order(WithoutParameter):
    name: ClassVar[str] = "order"
    syntax: ClassVar[str] = "order"
    description: ClassVar[str] = ("Order columns by importance, most important first: mutual information "
                                  "with the target on ID-train (numbers in deciles).")

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        scores = {c: mutual_information(column_levels(train.frame[c]), context.codes) for c in train.columns}
        ranked = sorted(train.columns, key=lambda c: -round(scores[c], 12))

        def apply(table: TextTable) -> TextTable:
            return table.with_columns([c for c in ranked if c in table.columns])

        return Fitted(apply, {"order": list(ranked), "importance": {c: round(scores[c], 6) for c in ranked}})
