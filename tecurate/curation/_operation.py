"""What a curation operation is, and the one registry of them.

An operation is a small class with a ``name``, its ``syntax`` (``round[:k]``), a
``description`` and two steps, in scikit-learn's manner: ``fit`` reads the ID-train rows only
(bin edges, identifier columns, column importance: no statistic of a test or OOD row reaches
the text) and returns a :class:`Fitted` step whose ``apply`` transforms every row the same way.
Adding one is a module with the class and one ``CURATIONS.register`` line in
:mod:`tecurate.curation._chain`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self

import numpy as np

from tecurate.curation._table import TextTable
from tecurate.errors import TecurateError
from tecurate.registry import Registry


@dataclass(frozen=True)
class Description:
    """A column's human description from ``--describe cols.toml``: its phrase and unit."""

    phrase: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class FitContext:
    """What ``fit`` may read besides the ID-train rows of the table: their target codes (class
    indices) and the ``--describe`` file's descriptions."""

    codes: np.ndarray
    descriptions: Mapping[str, Description] = field(default_factory=dict)


@dataclass(frozen=True)
class Fitted:
    """A fitted step: ``apply`` is a pure function of the table, ``record`` what the report shows."""

    apply: Callable[[TextTable], TextTable]
    record: dict[str, Any]


class Operation(Protocol):
    """One curation operation, configured by its parameter (``round:3`` -> ``Round(3)``)."""

    name: ClassVar[str]
    syntax: ClassVar[str]
    description: ClassVar[str]

    @property
    def spec(self) -> str:
        """The canonical text of this configured operation (``round:3``)."""

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        """Learn from the ID-train rows; return the step applied to every row."""


ParseOperation = Callable[[str | None], Operation]
"""``parse(argument)``: the operation for ``name:argument`` (None when no ``:`` was written)."""

CURATIONS: Registry[ParseOperation] = Registry("curation")
"""Operation name -> its parser (each operation class's ``parse``)."""


def whole_number(text: str | None, *, name: str, default: int, low: int, high: int) -> int:
    """An operation's integer parameter, checked: ``round:3``; ``round`` alone gives the default."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise TecurateError(f"curation {name}:{text}: the parameter must be a whole number from {low} to {high}")
    return value


class WithoutParameter:
    """An operation written by its name alone (``describe``, ``drop-ids``, ``order``): its spec is
    its name, and a parameter is a user error."""

    name: ClassVar[str]

    @classmethod
    def parse(cls, argument: str | None) -> Self:
        if argument is not None:
            raise TecurateError(f"curation {cls.name} takes no parameter (got '{cls.name}:{argument}')")
        return cls()

    @property
    def spec(self) -> str:
        return self.name
