"""``round[:k]``: numbers to k significant digits, so that digits no model should read (the 4th
decimal of an income) do not spend the embedder's attention and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tecurate._lazy import lazy
from tecurate.curation._operation import Fitted, FitContext, whole_number
from tecurate.curation._table import TextTable

pd = lazy("pandas")


def is_number_column(column: pd.Series) -> bool:
    """Ints and floats (nullable ones too), not bools: what rounding and binning apply to."""
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) \
        and not pd.api.types.is_complex_dtype(dtype)


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` (float64) rounded to ``digits`` significant digits; NaN, inf and 0 unchanged."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
        scale = 10.0 ** (digits - 1 - np.where(np.isfinite(magnitude), magnitude, 0))
        rounded = np.round(values * scale) / scale
    return np.where(np.isfinite(values) & (values != 0), rounded, values)


@dataclass(frozen=True)
class Round:
    name: ClassVar[str] = "round"
    syntax: ClassVar[str] = "round[:k]"
    description: ClassVar[str] = ("Round every numeric column to k significant digits (default 3; the text "
                                  "otherwise keeps up to 6): 48213.7 -> 48200.")
    digits: int = 3

    @classmethod
    def parse(cls, argument: str | None) -> Round:
        return cls(whole_number(argument, name=cls.name, default=3, low=1, high=6))

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.digits}"

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        columns = [c for c in train.columns if is_number_column(train.frame[c])]

        def apply(table: TextTable) -> TextTable:
            values = {}
            for name in columns:
                column = table.frame[name]
                rounded = round_significant(column.to_numpy(dtype=np.float64, na_value=np.nan), self.digits)
                integral = pd.api.types.is_integer_dtype(column.dtype)
                values[name] = pd.Series(rounded, index=column.index).astype("Int64" if integral else np.float64)
            return table.with_values(values)

        return Fitted(apply, {"columns": columns, "digits": self.digits})
