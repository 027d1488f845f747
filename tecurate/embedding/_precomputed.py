"""Vectors the user brings: an embedding source that reads rows instead of encoding texts.

Users with big tables embed them on their own GPUs, clusters or hosted APIs and have the vectors
on disk already. ``--embeddings vectors.npy`` (row i for row i of the table, e.g. written by
``tecurate embed``) or ``--embedding-col emb`` (a list column of the table, or ``emb_*``: one
numeric column per dimension) makes them the audit's te representation; everything after the
embed stage (grid, metrics, AotL, gates) is the built-in route's. Each way of bringing vectors
is a :class:`VectorSource` in :data:`VECTOR_SOURCES`, chosen by the setting that names it.

Everything is checked when the table is loaded, before any fitting: the row count against the
table's, a numeric dtype, a dimension of at least one, equal lengths (no ragged lists) and
finite values. A ``.npy`` file is memory-mapped and checked chunk by chunk, so its size costs
no memory; only the rows the audit uses (after ``--max-rows``) become a float32 matrix.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tecurate._digest import file_sha256
from tecurate.embedding._embed import EmbeddingInfo
from tecurate.errors import TecurateError
from tecurate.registry import Registry

PRECOMPUTED = "precomputed"
"""What the report's ``embedding.precision`` and ``device`` say of vectors brought by the user."""
_CHECK_ROWS = 65_536
"""Rows checked for NaN/inf at a time: a bounded slice of a memory-mapped matrix."""


@dataclass(frozen=True)
class Precomputed:
    """One row's vector per row of the table, as the user gave them; ``source`` says from where."""

    matrix: np.ndarray
    """``(n_rows, dim)``, numeric; a read-only memory map for a ``.npy`` file."""
    source: dict[str, Any]
    name: str = field(default=PRECOMPUTED)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, EmbeddingInfo]:
        """The float32 vectors of the table's ``rows`` (positions in the file), in that order."""
        started = time.perf_counter()
        vectors = np.ascontiguousarray(self.matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
        identity = f"{self.source['kind']}:{self.source.get('sha256') or ','.join(self.source['columns'])}"
        info = EmbeddingInfo(model=self.name, identity=identity, dim=self.dim, device=PRECOMPUTED, batch_size=0,
                             n_texts=len(vectors), n_unique_texts=len(vectors), cache_hits=0, cache_misses=0,
                             cache_dir=None, seconds=time.perf_counter() - started, precision=PRECOMPUTED,
                             source=dict(self.source))
        return vectors, info


class VectorSource(Protocol):
    """One way of bringing vectors, selected by the audit setting named ``setting``."""

    setting: str
    flag: str

    def columns(self, value: str, names: Sequence[str]) -> list[str]:
        """Columns of the table that hold the vectors: never serialized, never raw features."""
        ...

    def open(self, value: str, data: Any, n_rows: int, columns: list[str]) -> Precomputed:
        """The checked vectors for a table of ``n_rows`` rows (``data``: the path or frame audited)."""
        ...


VECTOR_SOURCES: Registry[VectorSource] = Registry("vector source")
"""Every way to bring vectors; :func:`open_vectors` asks the one whose setting is set."""


def check_matrix(matrix: np.ndarray, n_rows: int, what: str) -> np.ndarray:
    """``matrix`` if it can stand for the table's rows; else the one-line error saying why."""
    if matrix.dtype.kind not in "iuf":
        raise TecurateError(f"{what} holds {matrix.dtype} values, not numbers; give a numeric (float) matrix")
    if matrix.ndim != 2:
        raise TecurateError(f"{what} has shape {matrix.shape}; give a 2-d matrix, one row per row of DATA")
    if matrix.shape[0] != n_rows:
        raise TecurateError(f"{what} has {matrix.shape[0]} rows but DATA has {n_rows}; row i of the vectors "
                            "must be row i of DATA (rows without a target included)")
    if matrix.shape[1] == 0:
        raise TecurateError(f"{what} has vectors of dimension 0")
    if matrix.dtype.kind == "f":
        for start in range(0, n_rows, _CHECK_ROWS):
            finite = np.isfinite(matrix[start:start + _CHECK_ROWS]).all(axis=1)
            if not finite.all():
                row = start + int(np.argmin(finite))
                raise TecurateError(f"{what} has NaN or infinite values (first in row {row}); every vector "
                                    "must be finite")
    return matrix


class NpyFile:
    """``--embeddings vectors.npy``: a NumPy matrix on disk, row i for row i of the table."""

    setting = "embeddings"
    flag = "--embeddings"

    def columns(self, value: str, names: Sequence[str]) -> list[str]:
        return []

    def open(self, value: str, data: Any, n_rows: int, columns: list[str]) -> Precomputed:
        what = f"--embeddings {value}"
        if not value.lower().endswith(".npy"):
            raise TecurateError(f"{what}: give a .npy file (np.save of a rows x dim matrix, or 'tecurate embed')")
        if not os.path.isfile(value):
            raise TecurateError(f"{what} not found; check the path")
        try:
            matrix = np.load(value, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise TecurateError(f"{what} is not a readable .npy matrix ({str(exc).splitlines()[0]})") from None
        check_matrix(matrix, n_rows, what)
        return Precomputed(matrix, {"kind": "file", "path": value, "sha256": file_sha256(value),
                                    "dtype": str(matrix.dtype), "dim": int(matrix.shape[1])})


class TableColumns:
    """``--embedding-col emb`` (a list or fixed-size list column) or ``emb_*`` (one column per dimension)."""

    setting = "embedding_col"
    flag = "--embedding-col"

    def columns(self, value: str, names: Sequence[str]) -> list[str]:
        if _is_pattern(value):
            found = [n for n in names if fnmatch.fnmatchcase(n, value)]
        else:
            found = [n for n in names if n == value]
        if not found:
            shown = ", ".join(list(names)[:12])
            raise TecurateError(f"--embedding-col {value} matches no column of DATA; available: {shown}")
        return found

    def open(self, value: str, data: Any, n_rows: int, columns: list[str]) -> Precomputed:
        what = f"--embedding-col {value}"
        arrays = _read_columns(data, columns, what)
        if _is_pattern(value):
            matrix = np.column_stack([_numeric(arrays[c], f"{what} column '{c}'") for c in columns])
        else:
            matrix = _stack(arrays[columns[0]], what)
        check_matrix(matrix, n_rows, what)
        return Precomputed(matrix, {"kind": "column", "columns": columns, "dtype": str(matrix.dtype),
                                    "dim": int(matrix.shape[1])})


VECTOR_SOURCES.register("npy", NpyFile())
VECTOR_SOURCES.register("column", TableColumns())


def vector_source(settings: Any) -> tuple[VectorSource, str] | None:
    """The source ``settings`` (an AuditConfig) selects and its value; None: embed the rows."""
    chosen = [(source, getattr(settings, source.setting, None)) for source in VECTOR_SOURCES.values()]
    chosen = [(source, value) for source, value in chosen if value]
    if len(chosen) > 1:
        raise TecurateError(f"use one of {' or '.join(source.flag for source, _ in chosen)}, not both")
    return chosen[0] if chosen else None


def _is_pattern(value: str) -> bool:
    return any(ch in value for ch in "*?[")


def _read_columns(data: Any, columns: list[str], what: str) -> dict[str, Any]:
    """The ``columns`` of the audited table, read again by themselves (an Arrow column or a Series)."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if path == "-" or not os.path.isfile(path):
            raise TecurateError(f"{what} needs DATA to be a file (or a frame in memory), not a stream")
        if _is_parquet(path):
            import pyarrow.parquet  # noqa: PLC0415

            table = pyarrow.parquet.read_table(path, columns=columns)
            return {name: table.column(name) for name in columns}
        if not path.lower().endswith((".csv", ".csv.gz")):
            raise TecurateError(f"{what} reads Parquet or CSV files; write DATA as Parquet")
        import pandas as pd  # noqa: PLC0415

        frame = pd.read_csv(path, usecols=columns, encoding="utf-8-sig", low_memory=False)
        return {name: frame[name] for name in columns}
    import pandas as pd  # noqa: PLC0415

    if isinstance(data, pd.DataFrame):
        return {name: data[name] for name in columns}
    import pyarrow  # noqa: PLC0415

    if hasattr(data, "to_arrow"):  # polars
        data = data.to_arrow()
    table = data if isinstance(data, (pyarrow.Table, pyarrow.RecordBatch)) else pyarrow.table(data)
    return {name: table.column(name) for name in columns}


def _is_parquet(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _numeric(column: Any, what: str) -> np.ndarray:
    """One column per dimension: it must hold numbers, and every row one."""
    values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    if values.dtype.kind not in "iufb":
        raise TecurateError(f"{what} holds {values.dtype} values, not numbers")
    return values.astype(np.float64, copy=False) if values.dtype.kind == "b" else values


def _stack(column: Any, what: str) -> np.ndarray:
    """A list column (Arrow list / fixed-size list, or a Series of arrays) as a rows x dim matrix."""
    if hasattr(column, "combine_chunks"):  # a pyarrow ChunkedArray
        return _stack_arrow(column.combine_chunks(), what)
    values = list(column)
    if values and all(hasattr(v, "__len__") and not isinstance(v, (str, bytes)) for v in values):
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise TecurateError(f"{what} holds vectors of different lengths ({', '.join(map(str, sorted(lengths)[:5]))}); "
                                "every row needs one of the same dimension")
        try:
            return np.asarray([np.asarray(v) for v in values])
        except (ValueError, TypeError):
            raise TecurateError(f"{what} holds values that are not numbers") from None
    kinds = sorted({type(v).__name__ for v in values[:100]})
    raise TecurateError(f"{what} holds {', '.join(kinds)} values, not vectors; give a list column, or "
                        "one numeric column per dimension with a pattern such as 'emb_*'")


def _stack_arrow(array: Any, what: str) -> np.ndarray:
    import pyarrow  # noqa: PLC0415
    import pyarrow.compute  # noqa: PLC0415

    kind = array.type
    if not (pyarrow.types.is_list(kind) or pyarrow.types.is_large_list(kind)
            or pyarrow.types.is_fixed_size_list(kind)):
        raise TecurateError(f"{what} is a column of {kind}, not of vectors; give a list column, or one numeric "
                            "column per dimension with a pattern such as 'emb_*'")
    if array.null_count:
        raise TecurateError(f"{what} has {array.null_count} rows without a vector; every row needs one")
    value_type = kind.value_type
    if not (pyarrow.types.is_integer(value_type) or pyarrow.types.is_floating(value_type)):
        raise TecurateError(f"{what} holds lists of {value_type}, not of numbers")
    lengths = pyarrow.compute.list_value_length(array).to_numpy(zero_copy_only=False)
    if len(lengths) and lengths.min() != lengths.max():
        raise TecurateError(f"{what} holds vectors of different lengths ({int(lengths.min())} to "
                            f"{int(lengths.max())}); every row needs one of the same dimension")
    flat = array.flatten()
    if flat.null_count:
        raise TecurateError(f"{what} has missing numbers inside its vectors")
    dim = int(lengths[0]) if len(lengths) else 0
    return flat.to_numpy(zero_copy_only=False).reshape(len(array), dim)

