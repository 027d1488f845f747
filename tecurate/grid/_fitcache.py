"""Cached predictions of fitted models, so an audit of unchanged data refits nothing.

Embedding is only half of a cold audit's cost; the model grid is most of a warm one (~10 s of
the credit_data example's ~14 s once its embeddings were cached). A fit is a pure function of
the estimator code, its parameters and seed, and the exact training and test matrices, so its
test-split predictions are cached under a key built from all of them: any changed byte of the
data, split, seed, grid or library version is a miss, never a stale hit. Entries live in the
embedding cache's folder, written and verified the same way (sha256-named ``.npz`` files read
with ``allow_pickle=False``); a corrupt or mismatched entry is simply refitted.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from tecurate import __version__
from tecurate.embedding import ContentStore, package_version

_KIND = "fit"
_SUFFIX = ".npz"
_LAYOUT = "tecurate-fits-v1"
_VERSIONED = ("scikit-learn", "xgboost", "xgboost-cpu", "numpy", "scipy")
"""Packages whose upgrade could change a fitted model's predictions."""


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes: equal digests mean equal arrays."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}:{array.shape}".encode())
    digest.update(array.data)
    return digest.hexdigest()


class FitCache:
    """The predictions of every (configuration, representation) fit on one dataset and split.

    Built once per grid: the matrices are hashed here, once, not once per model.
    """

    def __init__(
        self,
        store: ContentStore,
        features: Mapping[str, np.ndarray],
        y: np.ndarray,
        train: np.ndarray,
        tests: Mapping[str, np.ndarray],
        seed: int,
    ) -> None:
        self._store = store
        self._sizes = {name: int(rows.size) for name, rows in tests.items()}
        shared = {
            "layout": _LAYOUT,
            "tecurate": __version__,
            "recipe": _recipe(),
            "versions": {pkg: package_version(pkg) for pkg in _VERSIONED},
            "seed": seed,
            "y_train": array_digest(np.asarray(y)[train]),
            "train": array_digest(np.asarray(train)),
            "tests": [[name, array_digest(np.asarray(rows))] for name, rows in tests.items()],
        }
        self._identity = {rep: _digest({**shared, "representation": rep, "X": array_digest(X)})
                          for rep, X in features.items()}

    def load(self, family: str, params: Mapping[str, Any], fixed: Mapping[str, Any],
             representation: str) -> tuple[dict[str, np.ndarray], float] | None:
        """The cached predictions per test split and the original fit time, or None on a miss."""
        data = self._store.load_file(self._identity[representation],
                                     _entry(family, params, fixed), _SUFFIX)
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                flat = archive["predictions"]
                seconds = float(archive["seconds"])
        except (ValueError, OSError, EOFError, KeyError):
            return None
        if flat.dtype != np.int8 or flat.shape != (sum(self._sizes.values()),) or not seconds >= 0:
            return None
        bounds = np.cumsum([0, *self._sizes.values()])
        return ({name: flat[bounds[i]:bounds[i + 1]] for i, name in enumerate(self._sizes)},
                seconds)

    def store(self, family: str, params: Mapping[str, Any], fixed: Mapping[str, Any],
              representation: str, predictions: Mapping[str, np.ndarray], seconds: float) -> bool:
        """Keep one fit's predictions; False when the cache folder is not writable."""
        flat = np.concatenate([np.asarray(predictions[name], dtype=np.int8) for name in self._sizes])
        buffer = io.BytesIO()
        np.savez(buffer, predictions=flat, seconds=np.float64(seconds))
        return self._store.store_file(self._identity[representation],
                                      _entry(family, params, fixed), _SUFFIX, buffer.getvalue())


def _entry(family: str, params: Mapping[str, Any], fixed: Mapping[str, Any]) -> str:
    """File-name prefix of one configuration: the estimator's complete settings, hashed."""
    return f"{_KIND}-{_digest({'family': family, 'params': params, 'fixed': fixed})[:32]}"


def _digest(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=repr).encode()).hexdigest()


@cache
def _recipe() -> str:
    """Digest of the code that builds and fits the estimators: an edit to it (a new default, a
    changed validation split) invalidates every cached fit, even within one tecurate version."""
    return hashlib.sha256(Path(__file__).with_name("_fitting.py").read_bytes()).hexdigest()
