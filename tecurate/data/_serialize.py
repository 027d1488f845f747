"""Turn table rows into text, the input of the embedding route.

Values are data, never code: custom templates are parsed by our own small parser (no
`str.format`, so no `{x.__class__}` attribute access) and values are inserted verbatim. Numbers
print compactly and deterministically so the same table always yields the same texts (and the
same embedding-cache keys). Formatting is vectorized per column: each column is formatted once,
then rows are joined, so 50k rows take a fraction of a second.

Value formatting (`format_value`):
- missing (None, NaN, pd.NA, NaT, empty or blank string) -> skipped;
- ints -> "39"; integral floats -> "129" (not "129.0");
- other floats -> at most 6 significant digits (more only for the integer part), positional
  notation for 1e-4 <= |x| < 1e16 ("0.1 + 0.2" -> "0.3", 265.1 -> "265.1"), "%.6g" outside it;
- bools -> "true" / "false" (lower case, as in JSON, so every template reads the same);
- strings -> stripped of surrounding whitespace, otherwise verbatim;
- dates -> ISO 8601 ("2020-01-05", or "2020-01-05 13:45:00" when there is a time of day; a
  tz-aware time keeps its offset, "2020-01-05 13:45:00+01:00");
- bytes -> their UTF-8 text; bytes that are not UTF-8 are binary data, which no text can stand
  for, so a column holding them is rejected (exit 2, naming it; `--drop-cols` it);
- lists, tuples, numpy arrays (Parquet list columns), dicts (Parquet structs, JSON objects) ->
  compact JSON-like text: '[1, "a", null]', '{"k": 0.3}', with the number rules above inside,
  strings JSON-quoted verbatim, dict keys sorted (equal dicts read the same whatever their key
  order); sets sorted too;
- anything else (decimals, timedeltas, periods, intervals, times) -> `str(value)`, stripped;
- numpy scalars format exactly like the Python ones.

Every cell's text depends on that cell alone, never on row order: string and typed columns are
formatted once per distinct value; object columns holding anything else (mixed types, where
`1 == True == 1.0` would make distinct cells look equal) are formatted cell by cell.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tecurate._lazy import lazy
from tecurate.errors import TecurateError

pd = lazy("pandas")

BUILTIN_TEMPLATES = ("sentence", "kv", "json")
"""Named templates; any other template string must contain `{column}` fields."""

_POSITIONAL_MIN = 1e-4
_POSITIONAL_MAX = 1e16
_SIGNIFICANT_DIGITS = 6
_TOKEN = re.compile(r"\{\{|\}\}|\{((?:\\[{}\\]|[^{}])*)\}|[{}]")
_FIELD_ESCAPE = re.compile(r"\\([{}\\])")


def format_value(value: object) -> str | None:
    """Text of one cell, or None when the cell is missing (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _format_floats(np.array([value], dtype=np.float64))[0]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return format_value(_decode_bytes(value))
    if isinstance(value, _CONTAINERS):
        return _nested_text(value)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None and value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip() or None


_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)
_BARE = (bool, np.bool_, int, np.integer, float, np.floating)


def _decode_bytes(value: bytes | bytearray | memoryview) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise TecurateError("binary data that is not UTF-8 text") from None


def _nested_text(value: object) -> str:
    """JSON-like text of a value inside a container: numbers and bools bare, strings quoted."""
    if isinstance(value, np.ndarray):
        value = list(value)
    if isinstance(value, dict):
        pairs = sorted((json.dumps(str(k), ensure_ascii=False), _nested_text(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_nested_text(v) for v in value]
        return "[" + ", ".join(sorted(items) if isinstance(value, (set, frozenset)) else items) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = format_value(value)
    if text is None:
        return "null"
    finite = isinstance(value, _BARE) and text not in ("inf", "-inf")
    if finite or isinstance(value, decimal.Decimal) and value.is_finite():
        return text
    return json.dumps(text, ensure_ascii=False)


def _format_floats(values: np.ndarray) -> np.ndarray:
    """Vectorized float formatting; the only copy of the float rules (`format_value` uses it).

    Positional values are rounded numerically to their significant digits; `repr` of the
    rounded double is then the shortest text that reads back the same, i.e. the trimmed decimal.
    """
    out = np.full(values.shape, None, dtype=object)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        magnitude = np.abs(values)
        finite = np.isfinite(values)
        integral = finite & (values == np.floor(values)) & (magnitude < _POSITIONAL_MAX)
        in_range = (magnitude >= _POSITIONAL_MIN) & (magnitude < _POSITIONAL_MAX)
        positional = finite & ~integral & in_range
        digits = np.floor(np.log10(np.where(positional, magnitude, 1.0))).astype(np.int64) + 1
        scale = 10.0 ** (np.maximum(_SIGNIFICANT_DIGITS, digits) - digits)
        rounded = np.where(positional, np.rint(values * scale) / scale, values)
    integral |= positional & (rounded == np.floor(rounded))
    positional &= ~integral
    outside = finite & ~integral & ~positional
    infinite = np.isinf(values)
    out[infinite] = np.where(values[infinite] > 0, "inf", "-inf")
    out[integral] = rounded[integral].astype(np.int64).astype(str)
    out[positional] = list(map(repr, rounded[positional].tolist()))
    out[outside] = [f"{v:.{_SIGNIFICANT_DIGITS}g}" for v in values[outside].tolist()]
    return out


def column_texts(column: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Distinct texts of a column and each row's index into them (-1 where missing).

    Formatting and decorating per distinct value, not per cell, is what keeps serialization fast.
    Object columns of anything but strings are formatted per cell first: their values may be
    unhashable (lists) or equal across types (`1 == True`). Raises `TecurateError` naming a
    column that has no text (non-UTF-8 bytes, nesting deeper than Python can follow).
    """
    dtype = column.dtype
    if dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        try:
            cells = [format_value(v) for v in column.tolist()]
        except (TecurateError, RecursionError) as exc:
            problem = "nested too deeply" if isinstance(exc, RecursionError) else f"holds {exc}"
            raise TecurateError(
                f"column '{column.name}' {problem}; drop it with --drop-cols '{column.name}'"
            ) from None
        codes, uniques = pd.factorize(np.array(cells, dtype=object))
        return codes, uniques.tolist()
    codes, uniques = pd.factorize(column)
    if pd.api.types.is_bool_dtype(dtype):
        texts = ["true" if flag else "false" for flag in np.asarray(uniques, dtype=bool).tolist()]
    elif pd.api.types.is_integer_dtype(dtype):
        texts = np.asarray(uniques).astype(str).tolist()
    elif pd.api.types.is_float_dtype(dtype):
        texts = _format_floats(np.asarray(uniques, dtype=np.float64)).tolist()
    else:
        texts = [format_value(u) for u in uniques]
        blank = [i for i, text in enumerate(texts) if text is None]
        if blank:
            codes = np.where(np.isin(codes, blank), -1, codes)
    return codes, texts


def _json_texts(column: pd.Series, texts: list[str | None]) -> list[str | None]:
    """JSON encoding of formatted values: numbers and bools bare, everything else quoted."""
    bare = pd.api.types.is_numeric_dtype(column.dtype)
    return [
        None if t is None
        else t if bare and t not in ("inf", "-inf")
        else json.dumps(t, ensure_ascii=False)
        for t in texts
    ]


def _pieces(
    prefix: str, encoded: tuple[np.ndarray, list[str | None]], suffix: str
) -> list[str]:
    """`prefix + text + suffix` for each present cell, "" for each missing one."""
    codes, texts = encoded
    table = np.array(
        ["" if t is None else f"{prefix}{t}{suffix}" for t in texts] + [""], dtype=object
    )
    return table[codes].tolist()


def _parse_template(template: str, columns: tuple[str, ...]) -> tuple[tuple[bool, str], ...]:
    """Split a custom template into (is_field, text) segments; literal `{{`/`}}` are braces.

    Inside a field, `\\{`, `\\}` and `\\\\` stand for a brace or backslash of the column's name
    (`{a\\{b\\}}` is column "a{b}"); a name is matched as written, else ignoring surrounding
    whitespace on either side (`{pad}` is column " pad " when no other name strips to "pad").
    """
    allowed = {str(c): c for c in columns}
    clashes = Counter(name.strip() for name in allowed)
    stripped = {name.strip(): name for name in allowed if clashes[name.strip()] == 1}
    segments: list[tuple[bool, str]] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        literal.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if token in ("{", "}"):
            raise TecurateError(
                f"template has an unmatched '{token}' at position {match.start()}; "
                "write {{ or }} for a literal brace, \\{ or \\} for one in a column name"
            )
        name = _FIELD_ESCAPE.sub(r"\1", match.group(1))
        if name not in allowed:
            name = stripped.get(name.strip(), name.strip())
        if name not in allowed:
            raise TecurateError(
                f"template field '{{{_field_name(name)}}}' is not a feature column; use one of: "
                f"{_short_list([_field_name(n) for n in allowed])}"
            )
        segments.append((False, "".join(literal)))
        literal = []
        segments.append((True, name))
    literal.append(template[position:])
    segments.append((False, "".join(literal)))
    if not any(is_field for is_field, _ in segments):
        raise TecurateError(
            f"template '{template}' has no {{column}} fields; use one of "
            f"{', '.join(BUILTIN_TEMPLATES)} or a template such as 'age: {{age}}'"
        )
    return tuple((is_field, text) for is_field, text in segments if is_field or text)


def _field_name(name: str) -> str:
    """How `name` is written inside a template field: braces and backslashes escaped."""
    return re.sub(r"([{}\\])", r"\\\1", name)


def _short_list(names: Sequence[object], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


@dataclass(frozen=True)
class Serializer:
    """A fixed (template, column order) pair: the same table always gives the same texts.

    ``labels`` (one per column) are the names the built-in templates write instead of the
    columns' own (a curation's human descriptions); a custom template writes its own labels."""

    template: str
    columns: tuple[str, ...]
    labels: tuple[str, ...] | None = None
    _segments: tuple[tuple[bool, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.columns:
            raise TecurateError("no feature columns to serialize")
        names = [str(c) for c in self.columns]
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise TecurateError(f"column(s) listed twice for serialization: {', '.join(repeated)}")
        if self.labels is not None and len(self.labels) != len(self.columns):
            raise ValueError("a serializer needs one label per column")
        if self.template in BUILTIN_TEMPLATES:
            segments: tuple[tuple[bool, str], ...] = ()
        elif "{" in self.template or "}" in self.template:
            segments = _parse_template(self.template, self.columns)
        else:
            raise TecurateError(
                f"unknown template '{self.template}'; use one of {', '.join(BUILTIN_TEMPLATES)} "
                "or a template with {column} fields"
            )
        object.__setattr__(self, "_segments", segments)

    def serialize(self, df: pd.DataFrame) -> list[str]:
        """One text per row of `df`, in row order."""
        opening, layout, cut, closing = self._layout(df)
        rows = map("".join, zip(*(pieces for _, pieces in layout)))
        if not cut and not opening and not closing:
            return list(rows)
        return [opening + row[: len(row) - cut] + closing for row in rows]

    def column_starts(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Where each column's text (its label included) starts in each row's text, -1 where the
        cell is missing: which columns a model that reads only the first characters never sees."""
        opening, layout, _, _ = self._layout(df)
        offset = np.full(len(df), len(opening), dtype=np.int64)
        starts: dict[str, np.ndarray] = {}
        for column, pieces in layout:
            lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(df))
            if column is not None:
                starts[column] = np.where(lengths > 0, offset, -1)
            offset += lengths
        return starts

    def _layout(self, df: pd.DataFrame) -> tuple[str, list[tuple[str | None, list[str]]], int, str]:
        """(opening, pieces, cut, closing): a row's text is the opening, then its pieces in order
        (each with the column it shows, None for a template's literal text) joined, less the last
        ``cut`` characters (the trailing separator), then the closing."""
        missing = [str(c) for c in self.columns if c not in df.columns]
        if missing:
            raise TecurateError(f"column(s) to serialize not in the table: {_short_list(missing)}")
        if self._segments:
            by_name = {str(c): c for c in self.columns}
            return "", [(text, _pieces("", column_texts(df[by_name[text]]), "")) if is_field
                        else (None, [text] * len(df)) for is_field, text in self._segments], 0, ""
        # Each present cell becomes "<prefix><value><separator>", a missing one "".
        encoded = {c: column_texts(df[c]) for c in self.columns}
        named = dict(zip(self.columns, self.labels)) if self.labels is not None else {}
        if self.template == "json":
            pieces = [(str(c), _pieces(f"{json.dumps(str(named.get(c, c)), ensure_ascii=False)}: ",
                                       (codes, _json_texts(df[c], texts)), ", "))
                      for c, (codes, texts) in encoded.items()]
            return "{", pieces, 2, "}"
        if self.template == "kv":
            return "", [(str(c), _pieces(f"{named.get(c, c)}: ", e, "; ")) for c, e in encoded.items()], 2, ""
        return "", [(str(c), _pieces(f"The {named.get(c, str(c).replace('_', ' '))} is ", e, ". "))
                    for c, e in encoded.items()], 1, ""


def make_serializer(
    template: str, columns: Sequence[str], *, shuffle_seed: int | None = None,
    labels: Sequence[str] | None = None,
) -> Serializer:
    """Build a `Serializer`; `shuffle_seed` fixes a seeded column order (same seed, same order);
    `labels` name the columns in a built-in template's text.

    Validates the template against `columns` now, so a typo fails before any embedding.
    """
    order = list(columns)
    names = None if labels is None else list(labels)
    if shuffle_seed is not None:
        permutation = np.random.default_rng(shuffle_seed).permutation(len(order))
        order = [order[i] for i in permutation]
        names = None if names is None else [names[i] for i in permutation]
    return Serializer(template=template, columns=tuple(order), labels=None if names is None else tuple(names))
