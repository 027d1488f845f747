"""Read the input table (CSV, Parquet, JSONL, stdin, or a DataFrame already in memory) once,
hash it, and fail early and clearly.

The file's bytes are read a single time: the same bytes are hashed for the report (so a reader
can tell which exact file was audited) and parsed from memory (so stdin works like a file and
the input is never touched). That also makes a pipe (`<(...)`) as good as a file: the pipeline
loads once and every `--repeats` seed reuses the table.

Object columns holding lists, dicts, arrays, bytes or mixed types become their text here
(:func:`tecurate.data._columns.plain_columns`), so later stages see plain values.

A frame the caller holds (pandas, polars, a pyarrow Table; :func:`read_frame`) takes the same
checks with the same messages; having no bytes, it is identified by a hash of its content.

Columns the audit drops (``skip``) are not read from a CSV or Parquet file (:mod:`._projected`).
"""

from __future__ import annotations

import codecs
import fnmatch
import gzip
import hashlib
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Union


if TYPE_CHECKING:
    import polars
    import pyarrow

from tecurate._lazy import lazy
from tecurate.data._columns import plain_columns
from tecurate.errors import TecurateError

pd = lazy("pandas")

INPUT_FORMATS = ("csv", "parquet", "jsonl")
"""Formats `read_table` understands; `--input-format` takes one of these."""

FRAME_FORMATS = ("pandas", "polars", "arrow")
"""What the report's ``input.format`` says of a table given in memory (:func:`read_frame`)."""

Source = Union[str, "os.PathLike[str]", "pd.DataFrame", "polars.DataFrame", "pyarrow.Table"]
"""What an audit reads: a file path, "-" for stdin, or a table in memory."""

_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class LoadedTable:
    """A parsed table plus the identity of the bytes it came from, for the report."""

    frame: pd.DataFrame
    path: str
    sha256: str
    n_rows: int
    n_columns: int
    """Columns of the input, the skipped ones included."""
    input_format: str
    skipped: tuple[str, ...] = ()
    """Columns of the input left out of ``frame`` (``skip``), in input order."""


def read_table(
    path: str,
    *,
    input_format: str | None = None,
    encoding: str = "utf-8",
    stdin: BinaryIO | None = None,
    skip: Sequence[str] = (),
) -> LoadedTable:
    """Load `path` (or stdin when `path` is "-") into a DataFrame.

    The format comes from `input_format` or else the extension (`.csv`, `.parquet`/`.pq`,
    `.jsonl`/`.ndjson`, each optionally `.gz`); stdin defaults to CSV. Every problem a user can
    fix raises `TecurateError` with a one-line message naming the file. ``skip``: columns (or
    patterns such as ``emb_*``) left out; one that matches nothing is the caller's to judge.
    """
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise TecurateError(
            f"unknown --input-format '{input_format}'; use one of {', '.join(INPUT_FORMATS)}"
        )
    _check_encoding(encoding)
    if path != "-" and os.path.isfile(path):  # a pipe can be read only once: whole, below
        from tecurate.data._projected import read_projected  # noqa: PLC0415 - it builds on this module
        if (projected := read_projected(path, input_format, encoding, skip)) is not None:
            return projected
    if path == "-":
        label = "<stdin>"
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read()
        fmt = input_format or "csv"
    else:
        label = f"'{path}'"
        _check_path(path)
        fmt = input_format or _format_from_extension(path)
        data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():
        raise TecurateError(f"input {label} is empty; pass a file with a header row and data rows")
    payload = _maybe_gunzip(data, label)
    if fmt != "parquet" and payload.startswith(_PARQUET_MAGIC):
        raise TecurateError(
            f"input {label} looks like a Parquet file; pass --input-format parquet"
        )
    if fmt == "parquet":
        frame = _parse_parquet(payload, label)
    else:
        text = _decode(payload, encoding, label)
        frame = _parse_csv(text, label) if fmt == "csv" else _parse_jsonl(text, label)
    _check_frame(frame, label)
    skipped = matching(list(frame.columns), skip)
    return loaded_table(frame.drop(columns=skipped), path, digest, fmt, skipped, n_columns=int(frame.shape[1]))


def loaded_table(frame: pd.DataFrame, path: str, digest: str, fmt: str, skipped: Sequence[str], *,
                 n_columns: int) -> LoadedTable:
    """The checked table of ``frame``, already without its ``skipped`` columns."""
    return LoadedTable(frame=plain_columns(frame), path=path, sha256=digest, n_rows=int(frame.shape[0]),
                       n_columns=n_columns, input_format=fmt, skipped=tuple(skipped))


def matching(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The ``names`` some pattern matches (a plain name, or ``fnmatch`` wildcards), in order."""
    wild = [p for p in patterns if any(ch in p for ch in "*?[")]
    plain = set(patterns) - set(wild)
    return [n for n in names if n in plain or any(fnmatch.fnmatchcase(n, p) for p in wild)]


def load_table(source: Source, *, input_format: str | None = None, encoding: str = "utf-8",
               skip: Sequence[str] = ()) -> LoadedTable:
    """The table of ``source``: a file (:func:`read_table`) or a frame in memory (:func:`read_frame`)."""
    if isinstance(source, (str, os.PathLike)):
        return read_table(os.fspath(source), input_format=input_format, encoding=encoding, skip=skip)
    if input_format is not None:
        raise TecurateError(f"--input-format {input_format} is for files; DATA is a {type(source).__name__} "
                            "already in memory")
    return read_frame(source, skip=skip)


def read_frame(data: Any, *, skip: Sequence[str] = ()) -> LoadedTable:
    """A pandas or polars DataFrame or a pyarrow Table (or any Arrow stream) as the audit's table.

    Checked like a file, with the same messages. The index of a pandas frame is not data (the
    file readers never make one), so it is dropped; column names become text, as a file's are.
    The report's ``sha256`` is :func:`frame_sha256` of the result: the same rows and columns
    give the same hash whichever index or library held them. The caller's frame is never changed.
    ``skip``: columns (names or patterns) left out before anything else, the hash included.
    """
    frame, fmt, label = _as_pandas(data)
    if isinstance(frame.columns, pd.MultiIndex):
        raise TecurateError(f"input {label} has multi-level column names; flatten them to one name per column")
    frame = frame.set_axis([str(name) for name in frame.columns], axis=1).reset_index(drop=True)
    n_columns = int(frame.shape[1])
    skipped = matching(list(frame.columns), skip)
    frame = frame.drop(columns=skipped)
    _check_frame(frame, label)
    frame = plain_columns(frame)
    return LoadedTable(frame=frame, path=label, sha256=frame_sha256(frame), n_rows=int(frame.shape[0]),
                       n_columns=n_columns, input_format=fmt, skipped=tuple(skipped))


def _as_pandas(data: Any) -> tuple[pd.DataFrame, str, str]:
    """The pandas frame of ``data``, its format and how messages name it ("<polars.DataFrame>").

    polars and other Arrow producers go through Arrow, converted as a Parquet file's columns are
    (so the same data gives the same dtypes from a file and from memory); polars itself is never
    imported, so it need not be installed.
    """
    if isinstance(data, pd.DataFrame):
        return _numpy_backed(data), "pandas", "<pandas.DataFrame>"
    import pyarrow  # noqa: PLC0415 - pandas input needs no Arrow

    kind = type(data)
    label = f"<{kind.__module__.split('.')[0]}.{kind.__name__}>"
    advice = {"LazyFrame": " (a LazyFrame: .collect() it first)", "Series": " (one column: pass the DataFrame)"}
    polars = kind.__module__.startswith("polars.") and kind.__name__ == "DataFrame"
    arrow = isinstance(data, (pyarrow.Table, pyarrow.RecordBatch)) or hasattr(data, "__arrow_c_stream__")
    if kind.__name__ in advice or not (polars or arrow):
        raise TecurateError(f"cannot audit a {kind.__name__}{advice.get(kind.__name__, '')}; pass a file path, "
                            "'-' for stdin, a pandas or polars DataFrame or a pyarrow Table")
    try:
        if polars:
            return data.to_arrow().to_pandas(), "polars", "<polars.DataFrame>"
        table = data if isinstance(data, (pyarrow.Table, pyarrow.RecordBatch)) else pyarrow.table(data)
        return table.to_pandas(), "arrow", label
    except (pyarrow.ArrowException, TypeError, ValueError) as exc:
        raise TecurateError(f"cannot read {label} as a table: {_first_line(exc)}") from None


def _numpy_backed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its Arrow-backed columns (``dtype_backend="pyarrow"``) converted as a
    Parquet file's columns are, so that lists and structs become text like a file's do."""
    arrow = [i for i, dtype in enumerate(frame.dtypes) if isinstance(dtype, pd.ArrowDtype)]
    if not arrow:
        return frame
    import pyarrow  # noqa: PLC0415

    frame = frame.copy(deep=False)
    for i in arrow:
        frame.isetitem(i, pyarrow.array(frame.iloc[:, i]).to_pandas().set_axis(frame.index))
    return frame


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a table in memory: column names, dtypes and every value, not the index.

    pandas' own row hashing (:func:`pandas.util.hash_pandas_object`, fixed key) column by
    column, so values of any dtype hash without a text copy of the table.
    """
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        digest.update(json.dumps([name, str(column.dtype)]).encode())
        digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TecurateError(
            f"unknown --encoding '{encoding}'; use a Python codec name such as utf-8 or latin-1"
        ) from None


def _format_from_extension(path: str) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _EXTENSIONS:
        shown = ext or "no extension"
        raise TecurateError(
            f"cannot tell the format of '{path}' ({shown}); use a .csv, .parquet or .jsonl file "
            f"or pass --input-format {{{','.join(INPUT_FORMATS)}}}"
        )
    return _EXTENSIONS[ext]


def _check_path(path: str) -> None:
    if os.path.isdir(path):
        raise TecurateError(f"input '{path}' is a directory; pass a CSV, Parquet or JSONL file")
    if not os.path.exists(path):
        raise TecurateError(f"input file '{path}' not found; check the path")


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise TecurateError(f"cannot read input '{path}': {exc.strerror or exc}") from None


def _maybe_gunzip(data: bytes, label: str) -> bytes:
    """Decompress gzip by content rather than by name, so `.csv.gz` and gzipped stdin both work."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise TecurateError(
            f"input {label} is a damaged gzip file ({exc}); re-compress it"
        ) from None


def _wide_encoding(data: bytes) -> str | None:
    """"utf-16"/"utf-32" (or "utf-16-le"/"-be" without a BOM) when `data` looks like it, else None.

    Such text decodes "successfully" as latin-1 into a NUL between every letter, so it must be
    recognised from the bytes: by its byte-order mark, or by NULs in every other byte (ASCII
    letters in UTF-16), at least a quarter of the first 4 KiB.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[:4096]
    nuls = sample.count(0)
    if nuls < max(2, len(sample) // 4):
        return None
    odd = sample[1::2].count(0)
    if odd >= 0.9 * nuls:
        return "utf-16-le"
    return "utf-16-be" if nuls - odd >= 0.9 * nuls else None


def _decode(data: bytes, encoding: str, label: str) -> str:
    name = codecs.lookup(encoding).name
    wide = _wide_encoding(data)
    if wide is not None and not name.startswith(("utf-16", "utf-32")):
        raise TecurateError(
            f"input {label} looks like {wide.upper()} text, not {encoding}; pass --encoding {wide}"
        )
    # utf-8-sig accepts a leading BOM (common from Excel exports) and is otherwise plain utf-8.
    codec = "utf-8-sig" if name == "utf-8" else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        advice = f"--encoding {wide}" if wide is not None else "--encoding (e.g. --encoding latin-1)"
        raise TecurateError(
            f"input {label} is not valid {encoding} (byte {exc.start}); re-save it as UTF-8 or pass {advice}"
        ) from None
    # A codec that names its byte order (utf-16-le) keeps the byte-order mark as a character.
    return text.removeprefix("\ufeff")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _parse_csv(text: str, label: str) -> pd.DataFrame:
    if not text.strip():
        raise TecurateError(f"input {label} is empty; pass a file with a header row and data rows")
    try:
        # pandas silently renames duplicate headers ("a", "a.1"); read the raw header to catch them.
        header = pd.read_csv(
            io.StringIO(text), header=None, nrows=1, dtype=str, keep_default_na=False
        )
        frame = pd.read_csv(io.StringIO(text), low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise TecurateError(f"cannot parse CSV {label}: {_first_line(exc)}") from None
    # Blank header cells become distinct "Unnamed: N" columns, so only named ones can clash.
    _check_unique([name for name in header.iloc[0] if name.strip()], label)
    return frame


def _parse_parquet(data: bytes, label: str) -> pd.DataFrame:
    import pyarrow  # noqa: PLC0415 - only Parquet input needs it
    import pyarrow.parquet  # noqa: PLC0415

    try:
        # Check names on the schema first: pyarrow's own error for duplicates is cryptic.
        names = pyarrow.parquet.ParquetFile(io.BytesIO(data)).schema_arrow.names
        _check_unique(names, label)
        return pd.read_parquet(io.BytesIO(data))
    except (pyarrow.ArrowException, ValueError, OSError) as exc:
        raise TecurateError(f"cannot parse Parquet {label}: {_first_line(exc)}") from None


def _parse_jsonl(text: str, label: str) -> pd.DataFrame:
    """Parse line by line so an error can say which line is broken."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TecurateError(
                f"cannot parse JSONL {label}: line {number} is not valid JSON ({exc.msg})"
            ) from None
        except RecursionError:
            raise TecurateError(f"cannot parse JSONL {label}: line {number} is nested too deeply") from None
        if not isinstance(record, dict):
            raise TecurateError(
                f"cannot parse JSONL {label}: line {number} is a JSON {type(record).__name__}, "
                "not an object; write one {\"column\": value} object per line"
            )
        records.append(record)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def _check_unique(columns: list[object], label: str) -> None:
    seen: set[object] = set()
    duplicates = []
    for column in columns:
        if column in seen and column not in duplicates:
            duplicates.append(column)
        seen.add(column)
    if duplicates:
        names = ", ".join(f"'{c}'" for c in duplicates)
        raise TecurateError(f"input {label} has duplicate column names: {names}; rename them")


def _check_frame(frame: pd.DataFrame, label: str) -> None:
    if frame.shape[1] == 0:
        raise TecurateError(f"input {label} has no columns; pass a table with a header row")
    if frame.shape[0] == 0:
        raise TecurateError(f"input {label} has a header but no data rows")
    _check_unique(list(frame.columns), label)
