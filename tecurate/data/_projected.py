"""Reading a CSV or Parquet file from its path without the columns the audit drops.

Parquet by column projection, CSV with ``usecols``; the file is hashed in chunks rather than held
in memory, so an audit's memory follows the columns it reads, not the file's width. What only the
whole-bytes reader of :mod:`tecurate.data._load` can read (gzip, JSONL, UTF-16/32 and other
encodings than UTF-8, stdin and pipes) goes there.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable, Sequence
from typing import Any


from tecurate._lazy import lazy
from tecurate.data._load import (
    _GZIP_MAGIC,
    _PARQUET_MAGIC,
    LoadedTable,
    Source,
    _as_pandas as as_pandas,
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
from tecurate.errors import TecurateError

pd = lazy("pandas")

_HEAD = 4096
"""Bytes read first from a file: enough to tell gzip, Parquet and UTF-16/32 text apart."""
_CHUNK = 1 << 22


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
    if fmt == "parquet":
        names, read = _parquet_reader(path, label)
    else:
        names, read = _csv_reader(path, label)
    _check_unique([n for n in names if str(n).strip()] if fmt == "csv" else names, label)
    skipped = matching([str(n) for n in names], skip)
    if not names:
        raise TecurateError(f"input {label} has no columns; pass a table with a header row")
    frame = read(set(skipped))
    if frame.shape[1]:
        _check_frame(frame, label)
    elif not frame.shape[0]:
        raise TecurateError(f"input {label} has a header but no data rows")
    return loaded_table(frame, path, digest, fmt, skipped, n_columns=len(names))


def _read_head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD)
    except OSError as exc:
        raise TecurateError(f"cannot read input '{path}': {exc.strerror or exc}") from None


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise TecurateError(f"cannot read input '{path}': {exc.strerror or exc}") from None
    return digest.hexdigest()


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


def _csv_reader(path: str, label: str) -> tuple[list[str], Callable[[set[str]], pd.DataFrame]]:
    def parsed(**options: Any) -> pd.DataFrame:
        try:
            return pd.read_csv(path, encoding="utf-8-sig", **options)
        except UnicodeDecodeError as exc:
            raise TecurateError(f"input {label} is not valid utf-8 (near byte {exc.start}); re-save it as "
                                "UTF-8 or pass --encoding (e.g. --encoding latin-1)") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise TecurateError(f"cannot parse CSV {label}: {_first_line(exc)}") from None

    # pandas silently renames duplicate headers ("a", "a.1"); read the raw header to catch them.
    header = parsed(header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(n) for n in header.iloc[0]] if len(header) else []

    def read(skipped: set[str]) -> pd.DataFrame:
        if not skipped:
            return parsed(low_memory=False)
        return parsed(low_memory=False, usecols=lambda name: name not in skipped)

    return names, read
