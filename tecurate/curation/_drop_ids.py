"""``drop-ids``: leave identifier-like columns out of the text. A row number or a customer code
is unique per row: it costs tokens, tells a model nothing that holds on new rows, and makes
rows that agree on everything else look different to the embedder. Judged on ID-train only:

- a text (categorical) column whose values are distinct on at least 90% of the rows;
- an integer column whose values are all distinct and span about as many numbers as there are
  rows (a counter: 1, 2, 3, ... in any order, with gaps of up to one missing number in two).

Floats are never identifiers (a continuous measurement is unique per row too). The raw route
keeps every column: only the text changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tecurate._lazy import lazy
from tecurate.curation._operation import Fitted, FitContext, WithoutParameter
from tecurate.curation._table import TextTable
from tecurate.data import column_kind

pd = lazy("pandas")

DISTINCT_SHARE = 0.9
"""A text column with at least this share of distinct values (on ID-train) is an identifier."""
MIN_ROWS = 20
"""Fewer ID-train rows say too little about uniqueness: nothing is dropped."""


def is_identifier(column: pd.Series) -> bool:
    """Whether ``column`` (its ID-train rows) looks like an identifier (see the module docstring)."""
    present = column.dropna()
    if len(present) < MIN_ROWS:
        return False
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = present.to_numpy(dtype=np.int64)
        distinct = np.unique(values).size == values.size
        return bool(distinct and values.max() - values.min() + 1 <= 2 * values.size)
    if column_kind(column) != "categorical":
        return False
    return present.astype(str).nunique() >= DISTINCT_SHARE * len(present)


@dataclass(frozen=True)
class DropIds(WithoutParameter):
    name: ClassVar[str] = "drop-ids"
    syntax: ClassVar[str] = "drop-ids"
    description: ClassVar[str] = ("Leave identifier-like columns out of the text (text columns >= 90% distinct, "
                                  "integer counters), judged on ID-train; the raw route keeps them.")

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        dropped = [c for c in train.columns if is_identifier(train.frame[c])]
        if len(dropped) == len(train.columns):
            dropped = dropped[:-1]  # a text needs one column: keep the last

        def apply(table: TextTable) -> TextTable:
            return table.with_columns([c for c in table.columns if c not in dropped])

        return Fitted(apply, {"dropped": dropped})
