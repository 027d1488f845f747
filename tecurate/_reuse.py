"""The report of an identical audit, reused: an audit of unchanged data answers in about a second.

An audit is a pure function of what it reads and runs: the bytes of its input (and of the files
its settings name: ``--ood``, ``--embeddings``, ``--describe``), its settings, the embedding model
(its identity: the weights' content, precision and runtime), tecurate's own code (every file of
the package, hashed) and the versions of the libraries that fit and analyse. The key hashes all
of them, so any changed byte is a miss, never a stale hit. A warm audit that missed here still
reuses every embedding and every fit (their own caches); what a hit saves is the rest: parsing,
the split, the features and the analysis, several seconds a run of a CI gate would pay each time.

Reused only where the key can be complete: a file (stdin is read once), the built-in embedder
(one passed in has no identity across processes) and the local engine (a Ray run's record
describes the cluster of that time). Entries live in the embedding cache's folder, checksummed
like everything there; ``--no-cache`` neither reads nor writes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from tecurate import __version__
from tecurate._digest import file_sha256
from tecurate.config import AuditConfig
from tecurate.embedding import ContentStore, Embedder, package_version, vector_source
from tecurate.engines import machine_cpus
from tecurate.grid import FAMILIES
from tecurate.reporting import AuditReport, created_now, dumps

_LAYOUT = "tecurate-reports-v1"
_KIND = "report"
_SUFFIX = ".json"
_FILES = ("ood_path", "embeddings", "describe_file")
"""Settings that name a file whose content the audit reads."""
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "joblib", "tokenizers", "onnxruntime",
              "torch", "transformers", "sentence-transformers")
"""Packages besides the model families' own whose upgrade could change a report."""


@dataclass(frozen=True)
class Reuse:
    """Where the report of one audit is kept, by its key."""

    store: ContentStore
    key: str

    def load(self) -> AuditReport | None:
        """The kept report, marked as reused, or None on a miss (or an entry this tecurate cannot read)."""
        started = time.perf_counter()
        data = self.store.load_file(self.key, _KIND, _SUFFIX)
        if data is None:
            return None
        try:
            kept = json.loads(data)
            report = AuditReport.from_dict(kept)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        seconds = round(time.perf_counter() - started, 3)
        note = (f"reused the report of the identical audit of {report.created_at}: the same input bytes, settings, "
                "model, tecurate code and library versions; --no-cache recomputes it")
        return replace(report, created_at=created_now(), timings={"reuse": seconds, "total": seconds},
                       warnings=[note, *report.warnings])

    def keep(self, report: AuditReport) -> bool:
        """Keep a fresh report for the next identical audit; False when the folder is not writable."""
        return self.store.store_file(self.key, _KIND, _SUFFIX, dumps(report.to_dict()).encode())


def reuse_for(data: Any, config: AuditConfig, store: ContentStore | None,
              embedder: Callable[[], Embedder]) -> Reuse | None:
    """The place of this audit's report, or None where it is never reused (see the module).

    ``embedder`` builds the settings' embedder (cheap: the model loads on first use); a file that
    cannot be read is None too, so that the audit itself says what is wrong with it.
    """
    if store is None or config.engine != "local" or not isinstance(data, (str, os.PathLike)) \
            or os.fspath(data) == "-":
        return None
    try:
        files = {"data": file_sha256(data), **{name: file_sha256(getattr(config, name))
                                              for name in _FILES if getattr(config, name)}}
    except OSError:
        return None
    model = None if vector_source(config) is not None else embedder()
    record = {
        "layout": _LAYOUT,
        "tecurate": __version__,
        "code": code_digest(),
        "libraries": {package: package_version(package) for package in _libraries()},
        "files": files,
        "config": config.to_dict(),
        "model": None if model is None else [model.identity, getattr(model, "precision_reason", None)],
        "cpus": machine_cpus(),
    }
    return Reuse(store, hashlib.sha256(json.dumps(record, sort_keys=True, default=repr).encode()).hexdigest())


@cache
def code_digest() -> str:
    """:func:`tree_digest` of the installed tecurate package: an edit anywhere in its code or
    package data, even one a test would call harmless, makes a new key."""
    return tree_digest(Path(__file__).resolve().parent)


def tree_digest(root: Path) -> str:
    """sha256 of every file under ``root``, names and bytes, in a fixed order; bytecode caches skipped."""
    digest = hashlib.sha256()
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(names):
            path = Path(folder) / name
            digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _libraries() -> tuple[str, ...]:
    return tuple(dict.fromkeys((*_LIBRARIES, *(p for family in FAMILIES.values() for p in family.packages))))
