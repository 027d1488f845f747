"""Reading a CSV or Parquet file from its path without the columns the audit drops.

Parquet by column projection, CSV with ``usecols``; the file is hashed in chunks rather than held
in memory, so an audit's memory follows the columns it reads, not the file's width. A
:class:`ChunkedFile` reads it a chunk of rows at a time, for a table too long to hold
(:mod:`tecurate.data._chunked`). What only the
whole-bytes reader of :mod:`tecurate.data._load` can read (gzip, JSONL, UTF-16/32 and other
encodings than UTF-8, stdin and pipes) goes there.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tecurate._digest import file_sha256
from tecurate._lazy import lazy
from tecurate.data._load import (
    _GZIP_MAGIC,
    INPUT_FORMATS,
    _PARQUET_MAGIC,
    LoadedTable,
    Source,
    _as_pandas as as_pandas,
    _check_encoding,
    _check_frame,
    _check_path,
    _check_unique,
    _first_line,
    _format_from_extension,
    _wide_encoding,
    loaded_table,
    matching,
    read_table,
)
from tecurate.data._columns import plain_columns
from tecurate.errors import TecurateError

pd = lazy("pandas")

_HEAD = 4096
"""Bytes read first from a file: enough to tell gzip, Parquet and UTF-16/32 text apart."""
CHUNK_ROWS = 1 << 16
"""Rows per chunk of :class:`ChunkedFile`: what its memory follows (a chunk of every column read)."""


def column_names(source: Source, *, input_format: str | None = None, encoding: str = "utf-8") -> list[str]:
    """The column names of ``source``, from a file's header or schema alone where it can be read so."""
    if not isinstance(source, (str, os.PathLike)):
        if isinstance(source, pd.DataFrame):
            return [str(name) for name in source.columns]
        names = getattr(source, "column_names", None)  # pyarrow; polars has a list of str as columns
        return [str(name) for name in (names if names is not None else getattr(source, "columns", None)
                                       or as_pandas(source)[0].columns)]
    path = os.fspath(source)
    if path != "-" and os.path.isfile(path):
        fmt = input_format or _format_from_extension(path)
        head = _read_head(path)
        label = f"'{path}'"
        if fmt == "parquet" and head.startswith(_PARQUET_MAGIC):
            return [str(n) for n in _parquet_reader(path, label)[0]]
        if fmt == "csv" and not head.startswith(_GZIP_MAGIC) and _wide_encoding(head) is None \
                and codecs.lookup(encoding).name == "utf-8":
            return _csv_reader(path, label)[0]
    return [str(c) for c in read_table(path, input_format=input_format, encoding=encoding).frame.columns]


def read_projected(path: str, input_format: str | None, encoding: str,
                    skip: Sequence[str]) -> LoadedTable | None:
    """An uncompressed UTF-8 CSV or a Parquet file read without its ``skip`` columns, hashed in
    chunks; None where only the whole-bytes route can read it (gzip, JSONL, other encodings)."""
    opened = _open(path, input_format, encoding, skip)
    if opened is None:
        return None
    fmt, label, names, skipped, digest = opened
    read = (_parquet_reader if fmt == "parquet" else _csv_reader)(path, label)[1]
    frame = read(set(skipped))
    if frame.shape[1]:
        _check_frame(frame, label)
    elif not frame.shape[0]:
        raise TecurateError(f"input {label} has a header but no data rows")
    return loaded_table(frame, path, digest, fmt, skipped, n_columns=len(names))


def open_chunked(path: str, input_format: str | None, encoding: str,
                 skip: Sequence[str]) -> ChunkedFile | None:
    """The file of :func:`read_projected` as chunks of rows instead of one frame; None where
    :func:`read_projected` would give None."""
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise TecurateError(f"unknown --input-format '{input_format}'; use one of {', '.join(INPUT_FORMATS)}")
    _check_encoding(encoding)
    opened = _open(path, input_format, encoding, skip)
    if opened is None:
        return None
    fmt, label, names, skipped, digest = opened
    return ChunkedFile(path, label, fmt, names, tuple(skipped), digest)


class ChunkedFile:
    """A CSV or Parquet file read ``CHUNK_ROWS`` rows at a time, each chunk parsed as the whole file is.

    A chunk's column may come out of the parser with another dtype than the whole file's (an int
    column with a gap elsewhere is float in the whole file). :meth:`chunks` records each chunk's
    dtypes; :meth:`take` reads only the rows asked for and casts them to the whole file's dtypes,
    so they equal the whole file's rows; where no cast can say what the whole file would hold
    (a column of numbers in one chunk and text in another), :meth:`whole_dtypes` is None.
    """

    def __init__(self, path: str, label: str, input_format: str, names: list[str], skipped: tuple[str, ...],
                 sha256: str) -> None:
        self.path, self.label, self.input_format, self.sha256 = path, label, input_format, sha256
        self.skipped, self.n_columns = skipped, len(names)
        self._kept = [n for n in names if n not in set(skipped)]
        self._seen: dict[str, set[Any]] = {}
        self._gaps: set[str] = set()

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Every row, chunk by chunk in file order (plain columns, fresh index), dtypes recorded."""
        self._seen, self._gaps = {}, set()
        for chunk in self._parsed():
            for name in chunk.columns:
                if chunk[name].isna().all():
                    self._gaps.add(name)
                else:
                    self._seen.setdefault(name, set()).add(chunk[name].dtype)
            yield plain_columns(chunk)

    def whole_dtypes(self) -> dict[str, Any] | None:
        """Each column's dtype in the whole file, from the chunks :meth:`chunks` read; None where
        the chunks disagree beyond ints with and without gaps."""
        whole: dict[str, Any] = {}
        for name, seen in self._seen.items():
            kinds = {_kind(dtype) for dtype in seen}
            if len(seen) == 1 and not (name in self._gaps and kinds & {"int", "bool"}):
                whole[name] = next(iter(seen))
            elif kinds <= {"int", "float"}:
                whole[name] = np.dtype(np.float64)
            else:
                return None
        return whole

    def take(self, positions: np.ndarray) -> pd.DataFrame | None:
        """The rows at ``positions`` (ascending) as the whole file's rows: its dtypes, plain columns;
        None where :meth:`whole_dtypes` is."""
        whole = self.whole_dtypes()
        if whole is None:
            return None
        positions = np.asarray(positions, dtype=np.int64)
        pieces, offset = [], 0
        for chunk in self._parsed():
            start, stop = np.searchsorted(positions, [offset, offset + len(chunk)])
            if stop > start:
                pieces.append(chunk.iloc[positions[start:stop] - offset])
            offset += len(chunk)
        return _typed(pd.concat(pieces, ignore_index=True), whole)

    def typed_chunks(self) -> Iterator[pd.DataFrame]:
        """Every row again, chunk by chunk, each as the whole file's rows (its dtypes, plain columns),
        once :meth:`chunks` has read them all and :meth:`whole_dtypes` is not None."""
        whole = self.whole_dtypes()
        if whole is None:
            raise ValueError("the chunks' dtypes leave the whole file's open; read it whole")
        for chunk in self._parsed():
            yield _typed(chunk, whole)

    def _parsed(self) -> Iterator[pd.DataFrame]:
        if self.input_format == "parquet":
            yield from _parquet_chunks(self.path, self.label, self._kept)
        else:
            yield from _csv_chunks(self.path, self.label, set(self.skipped))


def _typed(frame: pd.DataFrame, whole: dict[str, Any]) -> pd.DataFrame:
    """``frame``'s rows as the whole file's: cast to its dtypes, then plain columns."""
    cast = {name: dtype for name, dtype in whole.items() if frame[name].dtype != dtype}
    return plain_columns(frame.astype(cast) if cast else frame)


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    return "float" if pd.api.types.is_float_dtype(dtype) else str(dtype)


def _open(path: str, input_format: str | None, encoding: str,
          skip: Sequence[str]) -> tuple[str, str, list[str], list[str], str] | None:
    """Format, label, column names, the ``skip`` columns among them and the sha256 of a file the
    projected readers can read; None where only the whole-bytes route can."""
    _check_path(path)
    fmt = input_format or _format_from_extension(path)
    label = f"'{path}'"
    head = _read_head(path)
    wide = fmt == "csv" and _wide_encoding(head) is not None
    if head.startswith(_GZIP_MAGIC) or fmt == "jsonl" or wide or (fmt == "csv" and (
            head.startswith(_PARQUET_MAGIC) or codecs.lookup(encoding).name != "utf-8")):
        return None
    if not head or (len(head) < _HEAD and head.isspace()):
        raise TecurateError(f"input {label} is empty; pass a file with a header row and data rows")
    digest = _file_sha256(path)
    names = (_parquet_reader if fmt == "parquet" else _csv_reader)(path, label)[0]
    _check_unique([n for n in names if str(n).strip()] if fmt == "csv" else names, label)
    if not names:
        raise TecurateError(f"input {label} has no columns; pass a table with a header row")
    return fmt, label, names, matching([str(n) for n in names], skip), digest


def _read_head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD)
    except OSError as exc:
        raise TecurateError(f"cannot read input '{path}': {exc.strerror or exc}") from None


def _file_sha256(path: str) -> str:
    try:
        return file_sha256(path)
    except OSError as exc:
        raise TecurateError(f"cannot read input '{path}': {exc.strerror or exc}") from None


def _parquet_reader(path: str, label: str) -> tuple[list[str], Callable[[set[str]], pd.DataFrame]]:
    import pyarrow  # noqa: PLC0415 - only Parquet input needs it
    import pyarrow.parquet  # noqa: PLC0415

    try:
        names = list(pyarrow.parquet.ParquetFile(path).schema_arrow.names)
    except (pyarrow.ArrowException, ValueError, OSError) as exc:
        raise TecurateError(f"cannot parse Parquet {label}: {_first_line(exc)}") from None

    def read(skipped: set[str]) -> pd.DataFrame:
        try:
            return pd.read_parquet(path, columns=[n for n in names if n not in skipped])
        except (pyarrow.ArrowException, ValueError, OSError) as exc:
            raise TecurateError(f"cannot parse Parquet {label}: {_first_line(exc)}") from None

    return names, read


def _parquet_chunks(path: str, label: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The file's record batches, each converted as ``pd.read_parquet`` converts the whole file: it
    reads a one-batch Parquet file in memory (same schema and pandas metadata), so no dtype rule of
    its own can drift from pandas'."""
    import pyarrow  # noqa: PLC0415 - only Parquet input needs it
    import pyarrow.parquet  # noqa: PLC0415

    try:
        file = pyarrow.parquet.ParquetFile(path)
        metadata = file.schema_arrow.metadata
        for batch in file.iter_batches(batch_size=CHUNK_ROWS, columns=columns, use_pandas_metadata=False):
            buffer = io.BytesIO()
            pyarrow.parquet.write_table(pyarrow.Table.from_batches([batch]).replace_schema_metadata(metadata),
                                        buffer)
            yield pd.read_parquet(io.BytesIO(buffer.getvalue()))
    except (pyarrow.ArrowException, ValueError, OSError) as exc:
        raise TecurateError(f"cannot parse Parquet {label}: {_first_line(exc)}") from None


def _csv_chunks(path: str, label: str, skipped: set[str]) -> Iterator[pd.DataFrame]:
    """The file's rows ``CHUNK_ROWS`` at a time, each chunk parsed with the whole-file reader's options."""
    options: dict[str, Any] = {"usecols": lambda name: name not in skipped} if skipped else {}
    with _csv_errors(label), pd.read_csv(path, encoding="utf-8-sig", low_memory=False, chunksize=CHUNK_ROWS,
                                         **options) as reader:
        for chunk in reader:
            yield chunk.reset_index(drop=True)


@contextmanager
def _csv_errors(label: str) -> Iterator[None]:
    """A parser's errors as the user's, naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise TecurateError(f"input {label} is not valid utf-8 (near byte {exc.start}); re-save it as "
                            "UTF-8 or pass --encoding (e.g. --encoding latin-1)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise TecurateError(f"cannot parse CSV {label}: {_first_line(exc)}") from None


def _csv_reader(path: str, label: str) -> tuple[list[str], Callable[[set[str]], pd.DataFrame]]:
    def parsed(**options: Any) -> pd.DataFrame:
        with _csv_errors(label):
            return pd.read_csv(path, encoding="utf-8-sig", **options)

    # pandas silently renames duplicate headers ("a", "a.1"); read the raw header to catch them.
    header = parsed(header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(n) for n in header.iloc[0]] if len(header) else []

    def read(skipped: set[str]) -> pd.DataFrame:
        if not skipped:
            return parsed(low_memory=False)
        return parsed(low_memory=False, usecols=lambda name: name not in skipped)

    return names, read
