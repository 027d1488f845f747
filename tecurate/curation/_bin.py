"""``bin[:k]``: a numeric column as its quantile word ("low", "medium", "high"), with the quantile
edges fitted on ID-train only: the words say where a value stands among the training rows,
which an embedder reads better than digits, and no test or OOD value moves an edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tecurate._lazy import lazy
from tecurate.curation._operation import Fitted, FitContext, whole_number
from tecurate.curation._round import is_number_column
from tecurate.curation._table import TextTable

pd = lazy("pandas")

WORDS = {2: ("low", "high"), 3: ("low", "medium", "high"), 4: ("low", "medium-low", "medium-high", "high"),
         5: ("very low", "low", "medium", "high", "very high")}
"""The words of k bins; 10 bins are deciles ("decile 3"), any other k "quantile 3 of 7"."""


def bin_words(k: int) -> tuple[str, ...]:
    if k in WORDS:
        return WORDS[k]
    if k == 10:
        return tuple(f"decile {i}" for i in range(1, 11))
    return tuple(f"quantile {i} of {k}" for i in range(1, k + 1))


@dataclass(frozen=True)
class Bin:
    name: ClassVar[str] = "bin"
    syntax: ClassVar[str] = "bin[:k]"
    description: ClassVar[str] = ("Replace every numeric column with more than k distinct ID-train values by "
                                  "its quantile word (k=3: low / medium / high; k=10: decile 1..10); edges "
                                  "fitted on ID-train only (default k=3).")
    bins: int = 3

    @classmethod
    def parse(cls, argument: str | None) -> Bin:
        return cls(whole_number(argument, name=cls.name, default=3, low=2, high=20))

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.bins}"

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        edges: dict[str, np.ndarray] = {}
        for name in train.columns:
            column = train.frame[name]
            if not is_number_column(column):
                continue
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[np.isfinite(values)]
            if np.unique(values).size <= self.bins:
                continue
            inner = np.unique(np.quantile(values, np.linspace(0, 1, self.bins + 1)[1:-1]))
            edges[name] = inner

        def apply(table: TextTable) -> TextTable:
            words = {}
            for name, inner in edges.items():
                values = table.frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
                index = np.searchsorted(inner, values, side="right")
                names = np.array([*bin_words(inner.size + 1), None], dtype=object)
                words[name] = pd.Series(np.where(np.isnan(values), names[-1], names[np.minimum(index, inner.size)]),
                                        index=table.frame.index, dtype=object)
            return table.with_values(words)

        return Fitted(apply, {"bins": self.bins,
                              "edges": {name: [float(f"{e:.6g}") for e in inner] for name, inner in edges.items()}})
