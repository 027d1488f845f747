"""The real data a simulation draws from: the ID-train pool, fixed real test splits, features.

The table goes through the audit's own first stages (:func:`tecurate.pipeline.load` and
:func:`~tecurate.pipeline.choose_rows`): the same rows, sample and ID/OOD split as an audit. Every used
row is serialized and embedded once, up front, through the cache: no generation embeds a row,
so no text is ever embedded twice across generations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tecurate.data import (
    ShiftInfo,
    Target,
)
from tecurate.embedding import (
    ContentStore,
    Embedder,
    EmbeddingInfo,
    default_batch_size,
    default_cache_dir,
    embed_texts,
    make_embedder,
)
from tecurate.grid import encode_raw


@dataclass(frozen=True)
class Pool:
    """Real rows, renumbered from 0: ``train`` is the pool every generation draws real rows from."""

    target: Target
    codes: np.ndarray
    train: np.ndarray
    tests: dict[str, np.ndarray]
    """``id_test`` then each OOD split: fixed real rows no generation trains on."""
    features: dict[str, np.ndarray]
    shift: ShiftInfo
    embedding: EmbeddingInfo | None
    input: dict[str, Any]
    example: str
    warnings: tuple[str, ...]


def load_pool(path: str, config: Any, representations: tuple[str, ...], embedder: Embedder | None,
              progress: Callable[[int, int], None]) -> Pool:
    """Load, split and featurize; ``config`` is an ``AuditConfig`` (its input, split and embedding knobs)."""
    # Imported here: the settings table imports this package, and the pipeline imports the table.
    from tecurate.pipeline import choose_rows, load

    loaded = load(path, config)
    rows = choose_rows(loaded, config)
    table, target, serializer = loaded.table, loaded.target, loaded.serializer
    frame, codes, sampled, warnings = rows.frame, rows.codes, rows.sampled, rows.warnings
    positions = dict(rows.splits)
    train = positions.pop("id_train")
    features: dict[str, np.ndarray] = {}
    if "raw" in representations:
        features["raw"] = encode_raw(frame, serializer.columns, train)
    texts = serializer.serialize(frame)
    info = None
    if "te" in representations:
        store = ContentStore(config.cache_dir or default_cache_dir()) if config.use_cache else None
        model = embedder or make_embedder(config.embedder, device=config.device, precision=config.precision,
                                          store=store)
        features["te"], info = embed_texts(texts, model, batch_size=config.batch_size or default_batch_size(model),
                                           cache=store, progress=progress)
    return Pool(target=target, codes=codes, train=train, tests=positions, features=features,
                shift=rows.shift, embedding=info,
                input={"path": table.path, "sha256": table.sha256, "format": table.input_format,
                       "n_rows": table.n_rows, "n_rows_used": int(len(codes)), "sampled": sampled},
                example=texts[0] if texts else "", warnings=tuple(warnings))
