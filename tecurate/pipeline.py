"""``audit``: the whole pipeline, from a table on disk to an :class:`AuditReport`.

load -> validate -> sample -> split -> serialize -> embed -> matched grid -> metrics
-> summary -> accuracy-on-the-line and agreement-on-the-line -> verdict. Everything the user can get wrong is
checked before the first expensive stage (embedding). Nothing here prints or exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from tecurate import __version__
from tecurate.analysis import (
    SpuriousThresholds,
    assess_stability,
    class_shares,
    decide,
    fit_agreement,
    fit_aotl,
    summarize,
)
from tecurate.config import AuditConfig
from tecurate.data import (
    ID_TEST,
    LoadedTable,
    Splits,
    Target,
    check_column,
    feature_columns,
    make_serializer,
    prepare_target,
    read_table,
    split_by_column,
    split_by_mask,
    split_synthetic,
    stratified_sample,
)
from tecurate.embedding import (
    ContentStore,
    Embedder,
    EmbeddingInfo,
    SentenceTransformerEmbedder,
    default_batch_size,
    default_cache_dir,
    embed_texts,
)
from tecurate.errors import TecurateError
from tecurate.grid import FitCache, encode_raw, run_grid, sample_configs
from tecurate.reporting import AuditReport

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages are "embed" and "fit"."""


class _Clock:
    """Stage timings for the report."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.perf_counter() - self._start, 3)}


class _Model:
    """The embedder, loaded on first use (after validation) and then shared by every repeat."""

    def __init__(self, config: AuditConfig, given: Embedder | None) -> None:
        self._config = config
        self._embedder = given

    def get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(
                self._config.embedder, device=self._config.device, precision=self._config.precision,
                cache=_embedding_cache(self._config))
        return self._embedder


def _embedding_cache(config: AuditConfig) -> ContentStore | None:
    """The cache folder, which also keeps the model grid's predictions (:mod:`tecurate.grid._fitcache`)."""
    return ContentStore(config.cache_dir or default_cache_dir()) if config.use_cache else None


def audit(
    path: str,
    config: AuditConfig,
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the table at ``path`` (``"-"`` for stdin) and return the report.

    ``embedder`` replaces the sentence-transformers model named in ``config`` (tests use
    a small fake one; everything else about the run is unchanged). With ``config.repeats``
    K > 1 the audit runs with seeds seed … seed+K−1 and the report is the median seed's, with
    the spread over seeds and a stability gate (:mod:`tecurate.analysis._stability`). A table read from
    stdin can be read once only, so it cannot be repeated.
    """
    notify: Progress = progress or (lambda stage, done, total: None)
    model = _Model(config, embedder)
    if config.repeats == 1:
        return _audit_once(path, config, model, notify)
    if path == "-":
        raise TecurateError("--repeats needs a file: stdin can be read only once")
    reports = [_audit_once(path, replace(config, seed=config.seed + k), model, notify)
               for k in range(config.repeats)]
    return assess_stability(reports, config)


def serialize_table(path: str, config: AuditConfig, limit: int | None = None) -> list[str]:
    """The text of every row (or the first ``limit``), in file order, as the audit writes it:
    target, shift column and dropped columns left out."""
    table = read_table(path, input_format=config.input_format, encoding=config.encoding)
    check_column(table.frame, config.target, "target")
    if config.shift_col:
        check_column(table.frame, config.shift_col, "shift")
    columns = feature_columns(table.frame, config.target, shift_col=config.shift_col, drop=config.drop_cols)
    frame = table.frame if limit is None else table.frame.head(limit)
    return make_serializer(config.template, columns).serialize(frame)


def embed_table(
    path: str,
    config: AuditConfig,
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, EmbeddingInfo]:
    """The embedding of every row of the table, in file order, exactly as the audit makes it.

    Same serialization (:func:`serialize_table`), model, precision and cache as :func:`audit`,
    so the vectors equal the audit's for the same rows; rows whose target is missing are
    embedded too, since a matrix aligned with the file is the point.
    """
    notify: Progress = progress or (lambda stage, done, total: None)
    texts = serialize_table(path, config)
    model = _Model(config, embedder).get()
    return embed_texts(texts, model, batch_size=config.batch_size or default_batch_size(model),
                       cache=_embedding_cache(config),
                       progress=lambda done, total: notify("embed", done, total))


def _audit_once(path: str, config: AuditConfig, embedder: _Model, notify: Progress) -> AuditReport:
    """One audit with one seed."""
    clock = _Clock()
    store = _embedding_cache(config)
    warnings: list[str] = []

    with clock.stage("load"):
        table = read_table(path, input_format=config.input_format, encoding=config.encoding)
        frame, ood_mask, ood_labelled = _with_ood_file(table, config)
        check_column(frame, config.target, "target")
        if config.shift_col:
            check_column(frame, config.shift_col, "shift")
            if config.shift_col == config.target:
                raise TecurateError("--shift-col must differ from --target")
        frame, target, ood_mask = _prepare(frame, config, ood_mask, ood_labelled)
        columns = feature_columns(frame, config.target, shift_col=config.shift_col, drop=config.drop_cols)
        serializer = make_serializer(config.template, columns)
        if target.n_dropped_missing:
            warnings.append(f"dropped {target.n_dropped_missing} rows with a missing target")

    with clock.stage("split"):
        frame, codes, ood_mask, sampled = _sample(frame, target.codes, ood_mask, config)
        if sampled:
            warnings.append(f"sampled {len(frame)} of {target.codes.size} rows (--max-rows {config.max_rows})")
        splits = _split(frame, codes, ood_mask, columns, config)
        warnings.extend(splits.shift.warnings)
        warnings.extend(_check_training_classes(codes, splits, target))
        unlabelled = frozenset() if ood_labelled else frozenset(splits.ood)
        if unlabelled:
            warnings.append(f"the OOD rows of {config.ood_path} are unlabelled: accuracy, the accuracy gap "
                            "and accuracy-on-the-line are not measured on them; agreement-on-the-line "
                            "estimates each model's OOD accuracy instead")

    used = np.unique(np.concatenate([splits.id_train, splits.id_test, *splits.ood.values()]))
    local = {name: np.searchsorted(used, rows) for name, rows in
             [("id_train", splits.id_train), ("id_test", splits.id_test), *splits.ood.items()]}
    frame = frame.iloc[used].reset_index(drop=True)
    codes = codes[used]

    model = embedder.get()

    with clock.stage("serialize"):
        texts = serializer.serialize(frame)

    with clock.stage("embed"):
        te, embedding = embed_texts(texts, model,
                                    batch_size=config.batch_size or default_batch_size(model),
                                    cache=store,
                                    progress=lambda done, total: notify("embed", done, total))

    with clock.stage("features"):
        raw = encode_raw(frame, columns, local["id_train"])

    tests = {ID_TEST: local["id_test"], **{name: local[name] for name in splits.ood}}
    with clock.stage("fit"):
        configs = sample_configs(config.families, config.n_configs, config.seed)
        features = {"raw": raw, "te": te}
        fits = (FitCache(store, features, codes, local["id_train"], tests, config.seed)
                if store is not None else None)
        run = run_grid(configs, features, codes, local["id_train"], tests,
                       n_classes=len(target.classes), collapse_threshold=config.collapse_threshold,
                       seed=config.seed, unlabelled=unlabelled, n_jobs=config.n_jobs, cache=fits,
                       progress=lambda done, total: notify("fit", done, total))
        models = run.models

    with clock.stage("analyze"):
        shares = {name: class_shares(codes[rows], len(target.classes))
                  for name, rows in tests.items() if name not in unlabelled}
        summary = summarize(models)
        thresholds = SpuriousThresholds(min_collapsed_share=config.min_collapsed_share,
                                        min_r2_drop=config.min_r2_drop, min_healthy=config.min_healthy)
        lines = fit_aotl(models, shares, thresholds=thresholds, eps=config.probit_eps,
                         n_bootstrap=config.n_bootstrap, seed=config.seed)
        agreement = fit_agreement(run, eps=config.probit_eps)
        verdict = decide(summary, lines, config, models)

    n_classes = len(target.classes)
    distribution = {name: dict(zip(target.classes, class_shares(codes[rows], n_classes).round(6).tolist()))
                    for name, rows in local.items() if name not in unlabelled}
    counts = {name: int(rows.size) for name, rows in local.items()}
    return AuditReport(
        tool_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        input={"path": table.path, "sha256": table.sha256, "format": table.input_format,
               "n_rows": table.n_rows, "n_columns": table.n_columns, "n_rows_used": int(used.size),
               "sampled": sampled, "n_dropped_missing_target": target.n_dropped_missing,
               "ood_path": config.ood_path},
        config=config.to_dict(),
        target={"name": target.name, "classes": list(target.classes), "n_classes": n_classes,
                "distribution": distribution, "n_rows": counts},
        shift=splits.shift,
        serialization={"template": config.template, "columns": list(serializer.columns),
                       "example": texts[0] if texts else ""},
        embedding=embedding,
        models=models,
        summary=summary,
        aotl=lines,
        agreement=agreement,
        verdict=verdict,
        timings=clock.total(),
        warnings=warnings,
    )


def _with_ood_file(table: LoadedTable, config: AuditConfig) -> tuple[pd.DataFrame, np.ndarray | None, bool]:
    """Stack the ``--ood`` file under the main one; the mask marks its rows.

    The OOD rows are unlabelled (third value False) when the file has no target column or
    ``--ood-unlabeled`` says to ignore it; their target cells are then emptied. Columns the
    audit drops need not be in the OOD file.
    """
    if not config.ood_path:
        return table.frame, None, True
    other = read_table(config.ood_path, input_format=config.input_format, encoding=config.encoding)
    labelled = config.target in other.frame.columns and not config.ood_unlabeled
    optional = set(config.drop_cols) | (set() if labelled else {config.target})
    missing = [c for c in table.frame.columns if c not in other.frame.columns and c not in optional]
    if missing:
        raise TecurateError(f"--ood file {config.ood_path} lacks column(s) {', '.join(missing[:10])} "
                            "of the main file")
    ood = other.frame.reindex(columns=table.frame.columns)
    if not labelled and config.target in ood.columns:
        ood[config.target] = None
    frame = pd.concat([table.frame, ood], ignore_index=True)
    mask = np.r_[np.zeros(len(table.frame), bool), np.ones(len(other.frame), bool)]
    return frame, mask, labelled


def _prepare(frame: pd.DataFrame, config: AuditConfig, ood_mask: np.ndarray | None,
             ood_labelled: bool) -> tuple[pd.DataFrame, Target, np.ndarray | None]:
    """Drop rows without a target, keeping the OOD mask aligned with the kept rows.

    Unlabelled OOD rows are kept whatever their (empty) target, with class code -1: no metric
    ever reads their labels.
    """
    if ood_mask is None:
        return (*prepare_target(frame, config.target), None)
    if not ood_labelled:
        kept, target = prepare_target(frame.loc[~ood_mask], config.target)
        ood = frame.loc[ood_mask]
        codes = np.r_[target.codes, np.full(len(ood), -1, dtype=target.codes.dtype)]
        mask = np.r_[np.zeros(len(kept), bool), np.ones(len(ood), bool)]
        return pd.concat([kept, ood], ignore_index=True), replace(target, codes=codes), mask
    kept, target = prepare_target(frame.assign(__tecurate_ood__=ood_mask), config.target)
    mask = kept.pop("__tecurate_ood__").to_numpy(bool)
    return kept, target, mask


def _sample(frame: pd.DataFrame, codes: np.ndarray, ood_mask: np.ndarray | None,
            config: AuditConfig) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, bool]:
    """Bound the row count with a sample stratified by target and domain."""
    if config.max_rows is None or len(frame) <= config.max_rows:
        return frame, codes, ood_mask, False
    domain = np.zeros(len(frame), dtype=np.int64)
    if config.shift_col:
        domain = pd.factorize(frame[config.shift_col], use_na_sentinel=False)[0]
    elif ood_mask is not None:
        domain = ood_mask.astype(np.int64)
    strata = codes.astype(np.int64) * (int(domain.max()) + 1) + domain
    rows = stratified_sample(strata, config.max_rows, config.seed)
    mask = ood_mask[rows] if ood_mask is not None else None
    return frame.iloc[rows].reset_index(drop=True), codes[rows], mask, True


def _split(frame: pd.DataFrame, codes: np.ndarray, ood_mask: np.ndarray | None,
           columns: list[str], config: AuditConfig) -> Splits:
    common = {"test_size": config.test_size, "seed": config.seed}
    if config.shift_col:
        return split_by_column(frame[config.shift_col], codes, column=config.shift_col,
                               id_values=config.id_values, min_domain_rows=config.min_domain_rows,
                               **common)
    if ood_mask is not None:
        return split_by_mask(codes, ood_mask, name="ood",
                             description=f"rows of {config.ood_path}", **common)
    features = encode_raw(frame, columns, np.arange(len(frame)))
    return split_synthetic(features, codes, quantile=config.synthetic_quantile, **common)


def _check_training_classes(codes: np.ndarray, splits: Splits, target: Target) -> list[str]:
    """At least two classes must be learnable; classes only seen outside ID-train are a warning."""
    present = set(np.unique(codes[splits.id_train]).tolist())
    if len(present) < 2:
        raise TecurateError(f"the ID training rows hold a single class of target '{target.name}'; "
                            "choose other --id-values or another shift column")
    absent = [target.classes[c] for c in range(len(target.classes)) if c not in present]
    if not absent:
        return []
    return [f"class(es) {', '.join(absent[:5])} of target '{target.name}' never occur in the ID "
            "training rows; no model can predict them"]

