"""Cached predictions of fitted models, so an audit of unchanged data refits nothing.

Embedding is only half of a cold audit's cost; the model grid is most of a warm one (~10 s of
the credit_data example's ~14 s once its embeddings were cached). A fit is a pure function of
the estimator code, its parameters and seed, and the exact training and test matrices, so its
test-split predictions (class codes, int8, and class probabilities, float32) are cached under a
key built from all of them: any changed byte of the data, split, seed, family spec, fitting code
or library version is a miss, never a stale hit. Code is keyed by the source of the functions that fit (named below and in each family's
builder), not by a file name, so moving it between modules neither invalidates nor hides an
edit. Entries live in the embedding cache's folder, written and verified the same way
(sha256-named ``.npz`` files read with ``allow_pickle=False``); a corrupt or mismatched entry
is simply refitted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from tecurate import __version__
from tecurate.grid._families import FAMILIES
from tecurate.grid._family import Family
from tecurate.grid._fitting import Fitted, ModelConfig, fit_predict, validation_split

if TYPE_CHECKING:
    from tecurate.embedding import ContentStore

_KIND = "fit"
_SUFFIX = ".npz"
_LAYOUT = "tecurate-fits-v3"
"""v3 added the class probabilities: a v2 entry (codes only) is under another key, never misread."""
_FITTING_CODE = (fit_predict, validation_split, Family.estimator)
"""What every fit runs besides its family's builder."""
_FITTING_PACKAGES = ("numpy",)
"""Packages the fitting code itself uses (each family names its own)."""
_NOT_FITTED = frozenset({"default"})
"""Family fields that do not change a fit: editing them keeps the cached fits."""


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
            "versions": _versions(_FITTING_PACKAGES),
            "seed": seed,
            "y_train": array_digest(np.asarray(y)[train]),
            "train": array_digest(np.asarray(train)),
            "tests": [[name, array_digest(np.asarray(rows))] for name, rows in tests.items()],
        }
        self._identity = {rep: _digest({**shared, "representation": rep, "X": array_digest(X)})
                          for rep, X in features.items()}
        self._families: dict[str, str] = {}
        self.n_unwritten = 0
        """Fits :meth:`store` could not write (a read-only or full cache folder): the audit warns."""

    def load(self, config: ModelConfig, representation: str) -> Fitted | None:
        """The cached predictions and probabilities per test split and the original fit time, or
        None on a miss."""
        data = self._store.load_file(self._identity[representation], self._entry(config), _SUFFIX)
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                flat = archive["predictions"]
                probs = archive["probabilities"]
                seconds = float(archive["seconds"])
        except (ValueError, OSError, EOFError, KeyError):
            return None
        n_rows = sum(self._sizes.values())
        if (flat.dtype != np.int8 or flat.shape != (n_rows,) or probs.dtype != np.float32
                or probs.ndim != 2 or probs.shape[0] != n_rows or not seconds >= 0):
            return None
        bounds = np.cumsum([0, *self._sizes.values()])
        parts = [slice(bounds[i], bounds[i + 1]) for i in range(len(self._sizes))]
        return ({name: flat[part] for name, part in zip(self._sizes, parts)},
                {name: probs[part] for name, part in zip(self._sizes, parts)}, seconds)

    def store(self, config: ModelConfig, representation: str, predictions: Mapping[str, np.ndarray],
              seconds: float, probabilities: Mapping[str, np.ndarray]) -> bool:
        """Keep one fit's predictions and probabilities; False when the cache folder is not writable."""
        flat = np.concatenate([np.asarray(predictions[name], dtype=np.int8) for name in self._sizes])
        probs = np.concatenate([np.asarray(probabilities[name], dtype=np.float32) for name in self._sizes])
        buffer = io.BytesIO()
        np.savez(buffer, predictions=flat, probabilities=probs, seconds=np.float64(seconds))
        written = self._store.store_file(self._identity[representation], self._entry(config), _SUFFIX,
                                         buffer.getvalue())
        self.n_unwritten += not written
        return written

    def _entry(self, config: ModelConfig) -> str:
        """File-name prefix of one configuration: its family's spec and its parameters, hashed.

        The family is read from the registry now, so a family re-registered with another
        grid or fixed setting misses; its digest is taken once per grid.
        """
        if config.family not in self._families:
            self._families[config.family] = _digest(_family_record(FAMILIES[config.family]))
        return f"{_KIND}-{_digest({'family': self._families[config.family], 'params': config.params})[:32]}"


def _digest(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=repr).encode()).hexdigest()


def _family_record(family: Family) -> dict[str, Any]:
    """Every field of the spec that a fit depends on, the builder as its source, and the versions
    of the family's packages."""
    record = {f.name: getattr(family, f.name) for f in dataclasses.fields(family) if f.name not in _NOT_FITTED}
    record["build"] = _source(family.build)
    record["packages"] = _versions(family.packages)
    return record


@cache
def _recipe() -> str:
    """Digest of the code every fit runs: an edit to it (a new default, a changed validation
    split) invalidates every cached fit, even within one tecurate version."""
    return hashlib.sha256("\n".join(_source(code) for code in _FITTING_CODE).encode()).hexdigest()


def _source(code: Any) -> str:
    """The source of a function; where there is none to read (a REPL, a ``partial``), its repr,
    which names the object's address: a miss in every new process, never a stale hit."""
    try:
        return inspect.getsource(code)
    except (OSError, TypeError):
        return repr(code)


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    # Imported here: the embedding stage imports the configuration, which reads the family registry.
    from tecurate.embedding import package_version

    return {package: package_version(package) for package in packages}
