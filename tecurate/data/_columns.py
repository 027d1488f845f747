"""What each kind of column a CSV, Parquet or JSONL file can hold becomes, on both routes.

The text route (:mod:`tecurate.data._serialize`) and the raw route (:mod:`tecurate.grid._features`)
must agree on which columns are usable, or a column could crash one route after the other has
run. Both ask :func:`column_kind`; :func:`check_columns` asks it for every column the audit uses
during validation, so a column neither route can use is exit 2 naming it, before any embedding.

| column holds                                   | text (serializer)          | raw route          |
|------------------------------------------------|----------------------------|--------------------|
| ints, floats, nullable Int64/Float64           | compact number             | numeric            |
| bools, nullable boolean                        | true / false               | numeric (0/1)      |
| strings, nullable string, categoricals         | stripped text              | one-hot            |
| datetimes (tz-aware too), timedeltas           | ISO 8601 / "1 days 02:00"  | numeric (seconds)  |
| dates (Parquet date32), decimals               | ISO 8601 / as written      | numeric            |
| lists, arrays, dicts/structs, mixed types      | JSON-like text             | one-hot of the text|
| bytes that are UTF-8                           | the decoded text           | one-hot            |
| bytes that are not UTF-8 (images, hashes, ...) | rejected: exit 2, `--drop-cols` it                 |

Numbers the raw route's float32 matrix cannot hold (inf, -inf, |x| > 3.4e38) are missing there
(median-imputed like NaN): a scaler cannot centre infinity. The text route still says "inf".

:func:`plain_columns` runs at load: object columns holding anything but strings, dates or decimals
become their text, so every later stage (target, shift column, sampling) sees hashable, plain
values, and each cell's text depends on that cell alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from tecurate._lazy import lazy
from tecurate.data._serialize import column_texts
from tecurate.errors import TecurateError

pd = lazy("pandas")

ColumnKind = Literal["numeric", "categorical"]

_NUMERIC_OBJECTS = ("decimal", "date")
"""Object columns whose values are numbers in all but dtype; they keep their own text."""
_PLAIN_OBJECTS = ("string", "empty", *_NUMERIC_OBJECTS)


def _inferred(column: pd.Series) -> str | None:
    """pandas' name for what an object column holds; None for any other dtype."""
    return pd.api.types.infer_dtype(column, skipna=True) if column.dtype == object else None


def plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every object column of mixed, container or bytes values replaced by its text.

    A column whose values have no text (bytes that are not UTF-8) is left as it is:
    :func:`check_columns` rejects it only if the audit uses it, so `--drop-cols` can skip it.
    """
    replaced = {}
    for name in frame.columns:
        if _inferred(frame[name]) in (None, *_PLAIN_OBJECTS):
            continue
        try:
            codes, texts = column_texts(frame[name])
        except TecurateError:
            continue
        replaced[name] = pd.Series(np.array(texts + [None], dtype=object)[codes], index=frame.index)
    if not replaced:
        return frame
    frame = frame.copy()
    for name, values in replaced.items():
        frame[name] = values
    return frame


def column_kind(column: pd.Series) -> ColumnKind:
    """How the raw route encodes `column`; raises `TecurateError` naming a column with no text."""
    dtype = column.dtype
    inferred = _inferred(column)
    if inferred not in (None, *_PLAIN_OBJECTS):
        column_texts(column)
    if inferred in _NUMERIC_OBJECTS:
        return "numeric"
    if pd.api.types.is_complex_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    numeric = (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
               or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype))
    return "numeric" if numeric else "categorical"


def check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Fail now, naming it, on the first of `columns` that neither route can use."""
    for name in columns:
        column_kind(frame[name])
