"""What a curation works on: the text route's view of the feature columns, before serialization.

A curation never edits the audit's frame (the raw route reads that one): it returns a new
:class:`TextTable` whose frame holds only the feature columns the text will show, so the target,
the shift column and the ``--id-col`` cannot reach the text whatever an operation does. Labels
(the column names the built-in templates write), units and the missing-value marker are kept
beside the frame and applied once, at :meth:`TextTable.rendered`, so the order in which
operations are written does not change what they mean (``describe+round:3`` = ``round:3+describe``
as far as units go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tecurate._lazy import lazy
from tecurate.data import Serializer, column_texts, make_serializer

pd = lazy("pandas")


@dataclass(frozen=True)
class TextTable:
    """The feature columns as the text route will show them."""

    frame: pd.DataFrame
    """Only the columns in :attr:`columns` (possibly transformed values), row-aligned with the audit's rows."""
    columns: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    """Column -> the name a built-in template writes (absent: the column's own name)."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Column -> a unit written after each present value ("39 years")."""
    missing: str | None = None
    """The text of a missing cell; None leaves the cell out (the serializer's default)."""

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: Sequence[str]) -> TextTable:
        """The feature ``columns`` of ``frame``, and nothing else of it."""
        return cls(frame=frame.loc[:, list(columns)], columns=tuple(columns))

    def rows(self, positions: np.ndarray) -> TextTable:
        """The same table on a subset of rows (what an operation is fitted on)."""
        return replace(self, frame=self.frame.iloc[positions].reset_index(drop=True))

    def with_columns(self, columns: Sequence[str]) -> TextTable:
        """Keep (and order) these columns."""
        kept = tuple(columns)
        return replace(self, frame=self.frame.loc[:, list(kept)], columns=kept,
                       labels={c: v for c, v in self.labels.items() if c in kept},
                       units={c: v for c, v in self.units.items() if c in kept})

    def with_values(self, values: Mapping[str, pd.Series]) -> TextTable:
        """Replace the values of some columns."""
        frame = self.frame.copy()
        for name, series in values.items():
            frame[name] = series.to_numpy() if isinstance(series, pd.Series) else series
        return replace(self, frame=frame)

    def rendered(self, template: str) -> tuple[Serializer, pd.DataFrame]:
        """The serializer and the frame it reads: units and the missing marker written into the
        cells, labels handed to the serializer (a custom template writes its own labels)."""
        frame = self.frame
        touched = [c for c in self.columns if c in self.units or self.missing is not None]
        if touched:
            frame = frame.copy()
            for name in touched:
                frame[name] = _decorated(frame[name], self.units.get(name), self.missing)
        labels = tuple(self.labels.get(c, c) for c in self.columns) if self.labels else None
        return make_serializer(template, self.columns, labels=labels), frame


def _decorated(column: pd.Series, unit: str | None, missing: str | None) -> pd.Series:
    """A column as text: each present value with its unit, each missing one as the marker."""
    codes, texts = column_texts(column)
    shown = [None if t is None else f"{t} {unit}" if unit else t for t in texts]
    table = np.array([missing if t is None else t for t in shown] + [missing], dtype=object)
    return pd.Series(table[codes], index=column.index, dtype=object)
