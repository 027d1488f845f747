"""Row keys: what places a row in the split and the sample, so that it stays put.

A row's key is a 64-bit hash of its content as the audit reads it (or of its ``--id-col``);
:func:`seeded` mixes the audit seed in. Keys, not positions, decide every row's side.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from tecurate._lazy import lazy
from tecurate.data._serialize import column_texts, format_value
from tecurate.errors import TecurateError

pd = lazy("pandas")

_HASH_KEY = "tecurate-rows-v1"
"""siphash key of the cell hashes (16 characters); changing it moves every row."""
_MISSING = "\x00missing"


def row_keys(frame: pd.DataFrame, columns: Sequence[Hashable]) -> np.ndarray:
    """Each row's 64-bit key: a hash of its values in `columns`, the identity splits and samples use.

    A cell counts by its text as serialization writes it (:func:`format_value`: 129, 129.0 and
    "129" are one value; every missing value is one value), tagged with its column's name; columns
    are combined in name order. So the key does not depend on dtypes, on the file's column order
    or on the row's position, and identical rows have identical keys.
    """
    keys = np.zeros(len(frame), dtype=np.uint64)
    for name in sorted(columns, key=str):
        codes, texts = column_texts(frame[name].reset_index(drop=True))
        tagged = [f"{name}\x1f{_MISSING if t is None else t}" for t in [*texts, None]]
        hashes = pd.util.hash_array(np.array(tagged, dtype=object), hash_key=_HASH_KEY, categorize=False)
        keys = _mix(keys ^ hashes[codes])  # code -1 (missing) picks the appended None
    return keys


def id_keys(values: pd.Series, column: str, parts: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Keys from an `--id-col`, so an edited row keeps its place; rows sharing an id share a key.

    A missing id is an error (such rows would all share one key); duplicated ids (within one
    of `parts`, e.g. the main and the ``--ood`` file) are a warning, since those rows then move
    together and an edit among them cannot be told from a new row.
    """
    codes, texts = column_texts(values.reset_index(drop=True))
    missing = int(np.array([t is None for t in [*texts, None]])[codes].sum())
    if missing:
        raise TecurateError(f"--id-col '{column}' is missing in {missing} rows; an id column must identify "
                            "every row (fill it, or leave out --id-col to place rows by their content)")
    keys = row_keys(values.to_frame(name=column), [column])
    part = np.zeros(len(keys), dtype=np.int64) if parts is None else np.asarray(parts).astype(np.int64)
    shared = pd.DataFrame({"part": part, "key": keys}).duplicated(keep=False).to_numpy()
    if not shared.any():
        return keys, []
    example = format_value(values.iloc[int(np.flatnonzero(shared)[0])])
    return keys, [f"--id-col '{column}' is not unique: {int(shared.sum())} rows share their id with another "
                  f"row (e.g. '{example}'); rows sharing an id are placed together"]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 whose every output bit depends on every input bit."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def seeded(keys: np.ndarray, seed: int) -> np.ndarray:
    """The keys hashed with the seed: a fresh, independent-looking order of the rows for each seed."""
    salt = _mix(np.array([seed % 2**64], dtype=np.uint64) ^ np.uint64(0x9E3779B97F4A7C15))
    return _mix(np.asarray(keys, dtype=np.uint64) ^ salt)
