"""``missing[:word]``: say that a value is missing ("The income is unknown.") instead of leaving
the column out, so a missing value is information the embedding can carry; ``missing:skip``
names the serializer's default (a missing cell is left out) so a sweep can compare the two."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from tecurate.curation._operation import Fitted, FitContext
from tecurate.curation._table import TextTable
from tecurate.errors import TecurateError

DEFAULT_MARKER = "unknown"


@dataclass(frozen=True)
class Missing:
    name: ClassVar[str] = "missing"
    syntax: ClassVar[str] = "missing[:word|skip]"
    description: ClassVar[str] = ("Write missing cells as a word (default 'unknown'); missing:skip leaves them "
                                  "out (the default without this operation).")
    marker: str | None = DEFAULT_MARKER

    @classmethod
    def parse(cls, argument: str | None) -> Missing:
        if argument is None:
            return cls()
        word = argument.strip()
        if not word or not word.isprintable() or "+" in word:
            raise TecurateError(f"curation missing:{argument}: the marker must be a printable word")
        return cls(None if word == "skip" else word)

    @property
    def spec(self) -> str:
        return f"{self.name}:{'skip' if self.marker is None else self.marker}"

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        def apply(table: TextTable) -> TextTable:
            return replace(table, missing=self.marker)

        return Fitted(apply, {"marker": self.marker})
