"""Property tests (hypothesis): random frames written as CSV, JSONL or Parquet go through
load -> validate -> serialize, and the only outcomes allowed are a result or a `TecurateError`.

Bounded (`max_examples`, no deadline) so the suite stays fast.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tecurate.data import (
    BUILTIN_TEMPLATES,
    column_kind,
    feature_columns,
    make_serializer,
    prepare_target,
    read_table,
)
from tecurate.errors import TecurateError
from tecurate.grid import encode_raw

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = "\x00\x1b[31m\u202e\u2066\u200b\r\n\t,;\"'{}\\é中🙂"
text = st.text(alphabet=st.sampled_from(HOSTILE) | st.characters(codec="utf-8"), max_size=8)
names = st.sampled_from(["a", "a ", "A", " a", "", " ", "y", "{b}", "a.1", "\u202eevil", "x\x1b"]) | text
scalars = st.none() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True) \
    | st.booleans() | text
cells = scalars | st.lists(scalars, max_size=3) | st.dictionaries(text, scalars, max_size=2)


label_kinds = [
    st.sampled_from(["yes", "no", " yes", "", "1", "1.0"]) | st.none(),
    st.integers(0, 2) | st.none(),
    st.booleans(),
    st.sampled_from([0.0, 1.0, 1.5]) | st.none(),
    st.sampled_from(["yes", 1, True]),  # mixed: JSONL and CSV only
]
typed_columns = [
    scalars,  # mixed types: JSONL and CSV only
    cells,
    text,
    st.integers(-3, 3) | st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans() | st.none(),
    st.lists(st.integers(0, 3) | st.none(), max_size=3) | st.none(),
    st.fixed_dictionaries({"k": st.integers(0, 2) | st.none(), "v": text}) | st.none(),
]


@st.composite
def frames(draw: st.DrawFn) -> tuple[list[str], list[list[object]]]:
    """Duplicate-ish column names (sometimes one truly repeated) and rows: the first column a
    label-like target, the others each of one kind, mixed types included."""
    n_cols = draw(st.integers(2, 5))
    columns = draw(st.lists(names, min_size=n_cols, max_size=n_cols, unique=True))
    if draw(st.integers(0, 9)) == 0:
        columns[-1] = columns[0]
    n_rows = draw(st.integers(1, 12))
    kinds = [draw(st.sampled_from(label_kinds)), *(draw(st.sampled_from(typed_columns)) for _ in columns[1:])]
    rows = [[draw(kind) for kind in kinds] for _ in range(n_rows)]
    return columns, rows


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _write(columns: list[str], rows: list[list[object]], fmt: str) -> bytes | None:
    """The file's bytes, or None when that format cannot hold this frame (then nothing to test)."""
    if fmt == "jsonl":
        return "\n".join(json.dumps({c: _jsonable(v) for c, v in zip(columns, row)}) for row in rows).encode()
    frame = pd.DataFrame(rows, columns=columns)
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8", "surrogatepass")
    try:
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    return buffer.getvalue()


def _load_validate_serialize(data: bytes, fmt: str, template: str) -> list[str]:
    table = read_table("-", input_format=fmt, stdin=io.BytesIO(data))
    target = table.frame.columns[0]
    features = feature_columns(table.frame, target)
    kept, _ = prepare_target(table.frame, target)
    for name in features:
        column_kind(kept[name])
    if template == "custom":
        template = "".join("{" + "".join("\\" + ch if ch in "{}\\" else ch for ch in str(c)) + "}"
                           for c in features)
    serializer = make_serializer(template, features)
    texts = serializer.serialize(kept)
    assert len(texts) == len(kept) and all(isinstance(t, str) for t in texts)
    reversed_rows = kept.iloc[::-1].reset_index(drop=True)
    assert serializer.serialize(reversed_rows) == texts[::-1], "a cell's text depends on row order"
    encoded = encode_raw(kept, features, np.arange(len(kept)))
    assert encoded.shape[0] == len(kept) and np.isfinite(encoded).all()
    return texts


@SETTINGS
@given(frames(), st.sampled_from(["csv", "jsonl", "parquet"]), st.sampled_from([*BUILTIN_TEMPLATES, "custom"]))
def test_load_validate_serialize_gives_texts_or_a_user_error(frame, fmt, template):
    data = _write(*frame, fmt)
    if data is None:
        return
    try:
        _load_validate_serialize(data, fmt, template)
    except TecurateError as exc:
        assert str(exc)


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from(["csv", "jsonl", "parquet"]),
       st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_arbitrary_bytes_load_or_fail_cleanly(data, fmt, encoding):
    try:
        read_table("-", input_format=fmt, encoding=encoding, stdin=io.BytesIO(data))
    except TecurateError as exc:
        assert str(exc)
