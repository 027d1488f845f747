"""An embedding matrix written to disk window by window, so that no process holds all of it.

Two formats, by the file's suffix: ``.npy`` (a float32 ``(rows, dim)`` matrix; row i is the
table's row i) and ``.parquet`` (columns ``row_id``, int64, and ``vector``, a fixed-size list of
float32; one row group per window). Written to a hidden temporary file beside the target and
renamed over it only when every row is in: an interrupted or failed run leaves no half file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from tecurate.errors import TecurateError

VECTOR_SUFFIXES = (".npy", ".parquet")


class VectorFile:
    """Use as ``with VectorFile(path) as out: out.write(vectors, first_row, n_rows)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in VECTOR_SUFFIXES:
            raise TecurateError(f"--output {path} must end in .npy (a float32 matrix) or .parquet "
                                "(row_id, vector)")
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        self._handle: Any = None
        self._written = 0
        self._rows: int | None = None

    def write(self, vectors: np.ndarray, first_row: int, n_rows: int) -> None:
        """Append the vectors of rows ``first_row``.. of a table of ``n_rows`` rows, in order."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if first_row != self._written:
            raise ValueError(f"rows must come in order: expected row {self._written}, got {first_row}")
        if self._handle is None:
            self._open(n_rows, vectors.shape[1])
        if self.format == ".npy":
            self._handle.write(vectors.data)  # the array's own buffer: no copy of the window
        else:
            self._handle.write_table(_parquet_rows(vectors, first_row))
        self._written += len(vectors)

    def _open(self, n_rows: int, dim: int) -> None:
        self._rows = n_rows
        if self.format == ".npy":
            self._handle = open(self._tmp, "wb")
            np.lib.format.write_array_header_2_0(
                self._handle, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                               "shape": (n_rows, dim)})
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([("row_id", pa.int64()), ("vector", pa.list_(pa.float32(), dim))])
            self._handle = pq.ParquetWriter(self._tmp, schema)

    def __enter__(self) -> VectorFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if self._handle is not None:
                self._handle.close()
            if kind is None:
                if self._rows is None or self._written != self._rows:
                    raise ValueError(f"{self._written} rows written of {self._rows}")
                os.replace(self._tmp, self.path)
        finally:
            if self._tmp.exists():
                self._tmp.unlink()


def _parquet_rows(vectors: np.ndarray, first_row: int) -> Any:
    import pyarrow as pa

    ids = pa.array(np.arange(first_row, first_row + len(vectors), dtype=np.int64))
    flat = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    return pa.table({"row_id": ids, "vector": flat})
