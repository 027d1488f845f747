"""A curation: operations joined by ``+`` (``round:3+describe``), or a list of them; ``none`` is
the empty one. The registry of operations is filled here, one line each.

Operations run in the written order, each fitted on the ID-train rows as the previous ones left
them, then applied to every row; :func:`curate` returns the serializer and the frame the text
route reads, and a record of what each step did for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tecurate._lazy import lazy
from tecurate.curation._bin import Bin
from tecurate.curation._describe import Describe, read_descriptions
from tecurate.curation._drop_ids import DropIds
from tecurate.curation._missing import Missing
from tecurate.curation._operation import CURATIONS, FitContext, Operation
from tecurate.curation._order import Order
from tecurate.curation._round import Round
from tecurate.curation._table import TextTable
from tecurate.data import Serializer
from tecurate.errors import TecurateError

pd = lazy("pandas")

NONE = "none"
"""The curation that changes nothing: the serializer's own text."""

OPERATIONS = (Round, Bin, Describe, DropIds, Order, Missing)
for _operation in OPERATIONS:
    CURATIONS.register(_operation.name, _operation.parse)


@dataclass(frozen=True)
class Chain:
    """Configured operations, in the order they run."""

    operations: tuple[Operation, ...]

    @property
    def spec(self) -> str:
        """The canonical text: ``none``, or the operations' specs joined by ``+``."""
        return "+".join(op.spec for op in self.operations) or NONE


def parse_curation(curation: str | Sequence[str]) -> Chain:
    """``"round:3+describe"`` or ``["round:3", "describe"]`` -> a :class:`Chain`; a user error
    names the unknown operation or bad parameter."""
    parts = curation.split("+") if isinstance(curation, str) else [p for item in curation for p in str(item).split("+")]
    parts = [p.strip() for p in parts]
    if parts == [NONE] or parts == [""] or not parts:
        return Chain(())
    if NONE in parts or "" in parts:
        raise TecurateError(f"curation '{'+'.join(parts)}': 'none' and empty parts cannot be combined with operations")
    operations = []
    for part in parts:
        name, colon, argument = part.partition(":")
        if name.strip() not in CURATIONS:
            raise TecurateError(f"unknown curation '{name.strip()}'; choose from {', '.join(CURATIONS.names())} "
                                "(join them with +, e.g. round:3+describe)")
        operations.append(CURATIONS[name.strip()](argument.strip() if colon else None))
    names = [op.name for op in operations]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TecurateError(f"curation '{'+'.join(parts)}' names {', '.join(repeated)} twice")
    return Chain(tuple(operations))


@dataclass(frozen=True)
class Curated:
    """What the text route reads: the serializer and its frame, and what each step did."""

    serializer: Serializer
    frame: pd.DataFrame
    record: dict[str, Any]
    """``{"name": the canonical curation, "steps": [{"operation", ...what it did}]}`` (the report's
    ``serialization.curation``)."""


def curate(frame: pd.DataFrame, columns: Sequence[str], curation: str | Sequence[str] | Chain, *, template: str,
           train: np.ndarray, codes: np.ndarray, describe_file: str | Path | None = None) -> Curated:
    """Fit ``curation`` on the ``train`` rows of ``frame`` (their target ``codes``) and apply it to
    every row. Only ``columns`` (the feature columns) are read, so nothing else can reach the text."""
    chain = curation if isinstance(curation, Chain) else parse_curation(curation)
    table = TextTable.of(frame, columns)
    wants_file = any(op.name == Describe.name for op in chain.operations)
    context = FitContext(codes=np.asarray(codes)[train],
                         descriptions=read_descriptions(describe_file, list(columns)) if wants_file else {})
    steps = []
    for operation in chain.operations:
        fitted = operation.fit(table.rows(train), context)
        table = fitted.apply(table)
        steps.append({"operation": operation.spec, **fitted.record})
    serializer, text_frame = table.rendered(template)
    return Curated(serializer, text_frame, {"name": chain.spec, "steps": steps})
