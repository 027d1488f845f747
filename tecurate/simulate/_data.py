"""The real data a simulation draws from: the ID-train pool, fixed real test splits, features.

The table goes through the audit's own stages (:mod:`tecurate.data`): read, target, stratified
``--max-rows`` sample, ID/OOD split by ``--shift-col`` or else a synthetic shift. Every used
row is serialized and embedded once, up front, through the cache: no generation embeds a row,
so no text is ever embedded twice across generations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tecurate.data import (
    ID_TEST,
    ShiftInfo,
    Target,
    feature_columns,
    make_serializer,
    prepare_target,
    read_table,
    split_by_column,
    split_synthetic,
    stratified_sample,
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
    table = read_table(path, input_format=config.input_format, encoding=config.encoding)
    columns = feature_columns(table.frame, config.target, shift_col=config.shift_col, drop=config.drop_cols)
    frame, target = prepare_target(table.frame, config.target)
    codes, sampled = target.codes, False
    warnings = [f"dropped {target.n_dropped_missing} rows with a missing target"] if target.n_dropped_missing else []
    if config.max_rows is not None and len(frame) > config.max_rows:
        domain = (pd.factorize(frame[config.shift_col], use_na_sentinel=False)[0] if config.shift_col
                  else np.zeros(len(frame), dtype=np.int64))
        rows = stratified_sample(codes * (int(domain.max()) + 1) + domain, config.max_rows, config.seed)
        frame, codes, sampled = frame.iloc[rows].reset_index(drop=True), codes[rows], True
        warnings.append(f"sampled {len(frame)} of {target.codes.size} rows (--max-rows {config.max_rows})")
    common = {"test_size": config.test_size, "seed": config.seed}
    if config.shift_col:
        splits = split_by_column(frame[config.shift_col], codes, column=config.shift_col,
                                 id_values=config.id_values, min_domain_rows=config.min_domain_rows, **common)
    else:
        splits = split_synthetic(encode_raw(frame, columns, np.arange(len(frame))), codes,
                                 quantile=config.synthetic_quantile, **common)
    warnings.extend(splits.shift.warnings)
    named = {"id_train": splits.id_train, ID_TEST: splits.id_test, **splits.ood}
    used = np.unique(np.concatenate(list(named.values())))
    frame, codes = frame.iloc[used].reset_index(drop=True), codes[used]
    positions = {name: np.searchsorted(used, part) for name, part in named.items()}
    train = positions.pop("id_train")
    serializer = make_serializer(config.template, columns)
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
                shift=splits.shift, embedding=info,
                input={"path": table.path, "sha256": table.sha256, "format": table.input_format,
                       "n_rows": table.n_rows, "n_rows_used": int(len(codes)), "sampled": sampled},
                example=texts[0] if texts else "", warnings=tuple(warnings))
