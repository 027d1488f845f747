"""``describe``: column names as people say them. From ``--describe cols.toml`` (a phrase and a
unit per column) where it names the column, else the name humanized (``capital_gain``,
``CapitalGain`` and ``capital.gain`` all read "capital gain"). Only the built-in templates write
column names; a custom template writes its own, so there describe adds only the units.

The file::

    capital_gain = "capital gain"                       # a phrase
    age = { phrase = "age of the applicant", unit = "years" }
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tecurate.curation._operation import Description, Fitted, FitContext, WithoutParameter
from tecurate.curation._table import TextTable
from tecurate.errors import TecurateError

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_.\-\s]+")


def humanize(name: str) -> str:
    """``capital_gain`` -> "capital gain"; an all-caps word (``ID``, ``GDP``) keeps its case."""
    words = _SEPARATORS.split(_CAMEL.sub(" ", str(name)).strip())
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words if w) or str(name)


def read_descriptions(path: str | Path | None, columns: Sequence[str]) -> dict[str, Description]:
    """The ``--describe`` file's descriptions of feature ``columns``; any other name is an error
    (a typo must not silently fall back to the humanized name)."""
    if path is None:
        return {}
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise TecurateError(f"--describe file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TecurateError(f"cannot read --describe file {path}: {exc}") from None
    unknown = [name for name in data if name not in columns]
    if unknown:
        raise TecurateError(f"--describe file {path} describes {', '.join(unknown[:5])}, not feature column(s); "
                            f"the feature columns are {', '.join(map(str, list(columns)[:20]))}")
    return {name: _description(path, name, value) for name, value in data.items()}


def _description(path: str | Path, name: str, value: Any) -> Description:
    if isinstance(value, str):
        value = {"phrase": value}
    if not isinstance(value, Mapping) or set(value) - {"phrase", "unit"} or \
            not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise TecurateError(f"--describe file {path}: '{name}' must be a phrase or "
                            "{ phrase = \"...\", unit = \"...\" } (non-empty texts)")
    return Description(phrase=value.get("phrase", "").strip() or None, unit=value.get("unit", "").strip() or None)


@dataclass(frozen=True)
class Describe(WithoutParameter):
    name: ClassVar[str] = "describe"
    syntax: ClassVar[str] = "describe"
    description: ClassVar[str] = ("Write column names as phrases: from --describe cols.toml (phrase, unit), "
                                  "else humanized (capital_gain -> capital gain); units follow each value.")

    def fit(self, train: TextTable, context: FitContext) -> Fitted:
        given = context.descriptions
        labels = {c: (given[c].phrase if c in given and given[c].phrase else humanize(c)) for c in train.columns}
        units = {c: given[c].unit for c in train.columns if c in given and given[c].unit}

        def apply(table: TextTable) -> TextTable:
            from dataclasses import replace

            kept = set(table.columns)
            return replace(table, labels={**table.labels, **{c: v for c, v in labels.items() if c in kept}},
                           units={**table.units, **{c: v for c, v in units.items() if c in kept}})

        return Fitted(apply, {"labels": labels, "units": units})
