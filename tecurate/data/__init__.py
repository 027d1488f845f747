"""Stage 1: the table. Load it (a file or a frame in memory), check the target, split ID/OOD, serialize rows to text.

Nothing here knows about embeddings or models; every function raises :class:`TecurateError`
for input a user can fix, before any expensive stage runs.
"""

from tecurate.data._chunked import Pooled, pooled_sample
from tecurate.data._columns import ColumnKind, check_columns, column_kind
from tecurate.data._keys import id_keys, row_keys
from tecurate.data._load import (
    FRAME_FORMATS,
    INPUT_FORMATS,
    LoadedTable,
    Source,
    load_table,
    read_table,
)
from tecurate.data._projected import ChunkedFile, column_names, open_chunked
from tecurate.data._serialize import BUILTIN_TEMPLATES, Serializer, column_texts, format_value, make_serializer
from tecurate.data._split import (
    ID_TEST,
    OodSplit,
    ShiftInfo,
    Splits,
    split_by_column,
    split_by_mask,
    split_synthetic,
    stratified_sample,
)
from tecurate.data._validate import MAX_CLASSES, Target, check_column, feature_columns, prepare_target

__all__ = [
    "BUILTIN_TEMPLATES",
    "ChunkedFile",
    "ColumnKind",
    "FRAME_FORMATS",
    "ID_TEST",
    "INPUT_FORMATS",
    "MAX_CLASSES",
    "LoadedTable",
    "OodSplit",
    "Pooled",
    "Serializer",
    "ShiftInfo",
    "Source",
    "Splits",
    "Target",
    "check_column",
    "check_columns",
    "column_kind",
    "column_names",
    "column_texts",
    "feature_columns",
    "format_value",
    "id_keys",
    "load_table",
    "make_serializer",
    "open_chunked",
    "pooled_sample",
    "prepare_target",
    "read_table",
    "row_keys",
    "split_by_column",
    "split_by_mask",
    "split_synthetic",
    "stratified_sample",
]
