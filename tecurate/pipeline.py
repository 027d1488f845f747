"""``audit``: the whole pipeline, from a table (a file, or a DataFrame in memory) to an :class:`AuditReport`.

One audit is a row of small stages, each a function from the previous stage's frozen record to
the next one's: load (read, check columns, encode the target) -> split (sample, ID/OOD) ->
serialize -> embed -> features -> fit (matched grid) -> analyze (:func:`tecurate.analysis.analyze`)
-> report. Each stage's time goes into the report under its name. Everything the user can get
wrong is checked before the first expensive stage (embedding). Nothing here prints or exits.
"""

from __future__ import annotations

import difflib
import functools
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from tecurate import __version__
from tecurate.analysis import Analysis, GridRun, analyze, assess_stability, class_shares
from tecurate.config import AUDIT_SETTINGS, BY_NAME, AuditConfig, coerce
from tecurate.data import (
    ID_TEST,
    LoadedTable,
    Serializer,
    ShiftInfo,
    Source,
    Splits,
    Target,
    check_column,
    feature_columns,
    id_keys,
    load_table,
    make_serializer,
    prepare_target,
    read_table,
    row_keys,
    split_by_column,
    split_by_mask,
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
from tecurate.errors import TecurateError
from tecurate.grid import (
    FAMILIES,
    FitCache,
    ModelConfig,
    design_record,
    encode_raw,
    find_leaks,
    run_grid,
    sample_configs,
)
from tecurate.reporting import AuditReport

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages are "embed" and "fit"."""

F = TypeVar("F", bound=Callable[..., Any])


def _no_library_warnings(func: F) -> F:
    """Keep library warnings (scikit-learn, numpy, pandas, xgboost, torch) off the user's stderr:
    the core never prints. They are about tecurate's own use of the libraries, or expected (the
    grid's edges do not converge); what a user can act on is a report warning of tecurate's own
    (a grid smaller than ``--n-configs``). Filters are process-wide, so they are set here, in the
    calling thread, around every worker thread."""

    @functools.wraps(func)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return func(*args, **kwargs)

    return quiet  # type: ignore[return-value]


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


class _LazyEmbedder:
    """The embedder, built on first use (after validation) and then shared by every repeat."""

    def __init__(self, config: AuditConfig, given: Embedder | None) -> None:
        self._config = config
        self._embedder = given

    def get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(
                self._config.embedder, device=self._config.device, precision=self._config.precision,
                store=_embedding_cache(self._config))
        return self._embedder


def _embedding_cache(config: AuditConfig) -> ContentStore | None:
    """The cache folder, which also keeps the model grid's predictions (:mod:`tecurate.grid._fitcache`)."""
    return ContentStore(config.cache_dir or default_cache_dir()) if config.use_cache else None


def _resolve(config: AuditConfig | None, settings: dict[str, Any]) -> AuditConfig:
    """``config``, or the settings given by keyword (the settings table's names) over the defaults.

    ``None`` means "not given", as on the command line. Values are checked like a config file's
    (a list may be a list, a tuple or a comma-separated string), with the CLI's messages.
    """
    given = {name: value for name, value in settings.items() if value is not None}
    names = [s.name for s in AUDIT_SETTINGS]
    for name in given:
        if name in names:
            continue
        if name in BY_NAME:
            raise TecurateError(f"'{name}' is a setting of {', '.join(BY_NAME[name].commands)}, not of an audit")
        hint = difflib.get_close_matches(name, names, n=1)
        raise TecurateError(f"unknown setting '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                            + "; the settings are AuditConfig's fields")
    if config is not None:
        if given:
            raise TecurateError(f"give either an AuditConfig or settings ({', '.join(given)}), not both; "
                                "dataclasses.replace(config, name=value) changes a config")
        return config
    if "target" not in given:
        raise TecurateError("target is required: the label column, e.g. audit(data, target='y')")
    return AuditConfig(**{name: coerce(BY_NAME[name], list(value) if isinstance(value, tuple) else value, "audit()")
                          for name, value in given.items()})


@_no_library_warnings
def audit(
    data: Source,
    config: AuditConfig | None = None,
    *,
    target: str | None = None,
    shift_col: str | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> AuditReport:
    """Audit ``data`` and return the report.

    ``data`` is a file path (``"-"`` for stdin), a pandas or polars DataFrame or a pyarrow
    Table; a frame is checked like a file and the report's ``input`` names it
    (``"<pandas.DataFrame>"``) with a hash of its content. Settings come from ``config`` or as
    keywords named as in the settings table (``audit(df, target="y", max_rows=2000)``), not both.
    ``embedder`` replaces the sentence-transformers model named in the settings (tests use
    a small fake one; everything else about the run is unchanged). With ``repeats``
    K > 1 the audit runs with seeds seed … seed+K−1 and the report is the median seed's, with
    the spread over seeds and a stability gate (:mod:`tecurate.analysis._stability`). The table is
    read once and every repeat reuses it, so stdin and pipes (``<(…)``), which can be read only
    once, repeat too.
    """
    config = _resolve(config, {"target": target, "shift_col": shift_col, **settings})
    notify: Progress = progress or (lambda stage, done, total: None)
    model = _LazyEmbedder(config, embedder)
    clock = _Clock()
    with clock.stage("load"):
        loaded = load(data, config)
    reports = [_audit_once(loaded, replace(config, seed=config.seed + k), model, notify,
                           clock if k == 0 else _Clock())
               for k in range(config.repeats)]
    return reports[0] if config.repeats == 1 else assess_stability(reports, config)


@_no_library_warnings
def serialize_table(data: Source, config: AuditConfig | None = None, limit: int | None = None, *,
                    target: str | None = None, shift_col: str | None = None, **settings: Any) -> list[str]:
    """The text of every row (or the first ``limit``), in table order, as the audit writes it:
    target, shift column, dropped columns and the --id-col left out. ``data`` and settings as
    for :func:`audit`."""
    config = _resolve(config, {"target": target, "shift_col": shift_col, **settings})
    table = load_table(data, input_format=config.input_format, encoding=config.encoding)
    columns = _feature_columns(table.frame, config)
    frame = table.frame if limit is None else table.frame.head(limit)
    return make_serializer(config.template, columns).serialize(frame)


@_no_library_warnings
def embed_table(
    data: Source,
    config: AuditConfig | None = None,
    *,
    target: str | None = None,
    shift_col: str | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> tuple[np.ndarray, EmbeddingInfo]:
    """The embedding of every row of the table, in table order, exactly as the audit makes it.

    Same serialization (:func:`serialize_table`), model, precision and cache as :func:`audit`,
    so the vectors equal the audit's for the same rows; rows whose target is missing are
    embedded too, since a matrix aligned with the table is the point.
    """
    config = _resolve(config, {"target": target, "shift_col": shift_col, **settings})
    notify: Progress = progress or (lambda stage, done, total: None)
    texts = serialize_table(data, config)
    return _embed(texts, _LazyEmbedder(config, embedder).get(), config, _embedding_cache(config), notify)


@dataclass(frozen=True)
class Loaded:
    """The table after the load stage: rows with a target (plus unlabelled OOD rows), checked."""

    table: LoadedTable
    frame: pd.DataFrame
    target: Target
    ood_mask: np.ndarray | None
    """Marks the rows of the ``--ood`` file; None without one."""
    ood_labelled: bool
    serializer: Serializer
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Rows:
    """The rows the audit uses (sampled, in some split), renumbered from 0, and each split's positions."""

    frame: pd.DataFrame
    codes: np.ndarray
    splits: dict[str, np.ndarray]
    """``id_train``, ``id_test`` and each OOD split, in that order."""
    shift: ShiftInfo
    sampled: bool
    unlabelled: frozenset[str]
    warnings: tuple[str, ...]

    @property
    def tests(self) -> dict[str, np.ndarray]:
        return {name: rows for name, rows in self.splits.items() if name != "id_train"}


@dataclass(frozen=True)
class _Embedded:
    """The texts of the used rows and their embeddings, row-aligned."""

    texts: list[str]
    vectors: np.ndarray
    info: EmbeddingInfo


def _audit_once(loaded: Loaded, config: AuditConfig, embedder: _LazyEmbedder, notify: Progress,
                clock: _Clock) -> AuditReport:
    """One audit with one seed of the loaded table: each stage's output is the next one's input."""
    store = _embedding_cache(config)
    with clock.stage("split"):
        rows = choose_rows(loaded, config)
        configs = sample_configs(config.families, config.n_configs)
    model = embedder.get()
    with clock.stage("serialize"):
        texts = loaded.serializer.serialize(rows.frame)
    with clock.stage("embed"):
        embedded = _Embedded(texts, *_embed(texts, model, config, store, notify))
    with clock.stage("features"):
        features = {"raw": encode_raw(rows.frame, loaded.serializer.columns, rows.splits["id_train"]),
                    "te": embedded.vectors}
    with clock.stage("fit"):
        fits = FitCache(store, features, rows.codes, rows.splits["id_train"], rows.tests, config.seed) \
            if store is not None else None
        run = _fit(configs, features, rows, len(loaded.target.classes), config, fits, notify)
    with clock.stage("analyze"):
        analysis = analyze(run.models, _class_shares(rows, len(loaded.target.classes)), config,
                           predictions=run.predictions)
    notes = (*_grid_warnings(configs, config), *_cache_warnings(store, embedded.info, fits))
    return _report(config, loaded, replace(rows, warnings=(*rows.warnings, *notes)), embedded, run,
                   analysis, clock.total())


def load(data: Source, config: AuditConfig) -> Loaded:
    """Stage 1: read the table (and the ``--ood`` file), check every column named, encode the target.

    Public with :func:`choose_rows` so that other commands (``simulate``) start from exactly the
    audit's rows."""
    table = load_table(data, input_format=config.input_format, encoding=config.encoding)
    frame, ood_mask, ood_labelled = _with_ood_file(table, config)
    columns = _feature_columns(frame, config)
    frame, target, ood_mask = _prepare(frame, config, ood_mask, ood_labelled)
    serializer = make_serializer(config.template, columns)
    dropped = [f"dropped {target.n_dropped_missing} rows with a missing target"] if target.n_dropped_missing else []
    return Loaded(table, frame, target, ood_mask, ood_labelled, serializer, tuple(dropped))


def _feature_columns(frame: pd.DataFrame, config: AuditConfig) -> list[str]:
    """All columns but the target, the shift column, the ``--drop-cols`` and the ``--id-col``."""
    drop = config.drop_cols
    if config.id_col:
        check_column(frame, config.id_col, "--id-col")
        drop = (*drop, config.id_col)
    return feature_columns(frame, config.target, shift_col=config.shift_col, drop=drop)


def choose_rows(loaded: Loaded, config: AuditConfig) -> Rows:
    """Key the rows, sample, split, then keep only the rows some split holds."""
    keys, key_notes = _row_keys(loaded, config)
    frame, codes, keys, ood_mask, sampled = _sample(loaded.frame, loaded.target.codes, keys, loaded.ood_mask,
                                                    config)
    splits = _split(frame, codes, keys, ood_mask, list(loaded.serializer.columns), config)
    unlabelled = frozenset() if loaded.ood_labelled else frozenset(splits.ood)
    notes = [*loaded.warnings, *key_notes, *_leakage(frame, codes, splits, loaded, config)]
    if sampled:
        notes.append(f"sampled {len(frame)} of {loaded.target.codes.size} rows (--max-rows {config.max_rows})")
    notes.extend(splits.shift.warnings)
    notes.extend(_absent_classes(codes[splits.id_train], loaded.target))
    if unlabelled:
        notes.append(f"the OOD rows of {config.ood_path} are unlabelled: accuracy, the accuracy gap "
                     "and accuracy-on-the-line are not measured on them; agreement-on-the-line "
                     "estimates each model's OOD accuracy instead")
    named = {"id_train": splits.id_train, ID_TEST: splits.id_test, **splits.ood}
    used = np.unique(np.concatenate(list(named.values())))
    return Rows(frame=frame.iloc[used].reset_index(drop=True), codes=codes[used],
                 splits={name: np.searchsorted(used, part) for name, part in named.items()},
                 shift=splits.shift, sampled=sampled, unlabelled=unlabelled, warnings=tuple(notes))


def _embed(texts: list[str], model: Embedder, config: AuditConfig, store: ContentStore | None,
           notify: Progress) -> tuple[np.ndarray, EmbeddingInfo]:
    """The audit's and ``embed_table``'s one way to embed: same batch size, cache and progress."""
    return embed_texts(texts, model, batch_size=config.batch_size or default_batch_size(model), cache=store,
                       progress=lambda done, total: notify("embed", done, total))


def _fit(configs: list[ModelConfig], features: dict[str, np.ndarray], rows: Rows, n_classes: int,
         config: AuditConfig, fits: FitCache | None, notify: Progress) -> GridRun:
    """The matched grid: every sampled configuration on both representations."""
    return run_grid(configs, features, rows.codes, rows.splits["id_train"], rows.tests, n_classes=n_classes,
                    collapse_threshold=config.collapse_threshold, seed=config.seed,
                    unlabelled=rows.unlabelled, n_jobs=config.n_jobs, cache=fits,
                    progress=lambda done, total: notify("fit", done, total))


def _leakage(frame: pd.DataFrame, codes: np.ndarray, splits: Splits, loaded: Loaded,
             config: AuditConfig) -> list[str]:
    """Feature columns that give the target away: report warnings, or the error with ``--strict``.

    Checked after the split (a leak must hold on ID-test too) and before the embedder loads.
    """
    target = loaded.target.name
    found = [leak.describe(target) for leak in find_leaks(frame, loaded.serializer.columns, codes,
                                                          loaded.target.classes, splits.id_train, splits.id_test)]
    if found and config.strict:
        raise TecurateError(f"{'; '.join(found)} (--strict): leave it out with --drop-cols")
    return [f"target leakage: {leak}; every model can read the label off it, so the verdict says little "
            "about the embedding: leave it out with --drop-cols" for leak in found]


def _grid_warnings(configs: list[ModelConfig], config: AuditConfig) -> list[str]:
    """One warning for the families whose whole grid is smaller than ``--n-configs``."""
    fitted = _fitted_per_family(configs)
    small = [f"{family} ({n})" for family, n in fitted.items() if n < config.n_configs]
    if not small:
        return []
    return [f"--n-configs {config.n_configs} is more than the grid of {', '.join(small)} holds: every "
            "configuration of it is fitted, no more"]


def _fitted_per_family(configs: list[ModelConfig]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in configs:
        counts[model.family] = counts.get(model.family, 0) + 1
    return counts


def _cache_warnings(store: ContentStore | None, info: EmbeddingInfo, fits: FitCache | None) -> list[str]:
    """A cache folder that refused writes: the audit is right, but the next one redoes the work."""
    lost = [*(["new embeddings"] if not info.cache_write_ok else []),
            *([f"{fits.n_unwritten} model fits"] if fits is not None and fits.n_unwritten else [])]
    if store is None or not lost:
        return []
    return [f"cannot write to the cache folder {store.root}: {' and '.join(lost)} were not cached, so the "
            "next audit computes them again"]


def _class_shares(rows: Rows, n_classes: int, *, include_train: bool = False) -> dict[str, np.ndarray]:
    """True class shares of each labelled split (the test splits, or every split)."""
    chosen = rows.splits if include_train else rows.tests
    return {name: class_shares(rows.codes[part], n_classes)
            for name, part in chosen.items() if name not in rows.unlabelled}


def _report(config: AuditConfig, loaded: Loaded, rows: Rows, embedded: _Embedded, run: GridRun,
            analysis: Analysis, timings: dict[str, float]) -> AuditReport:
    table, target = loaded.table, loaded.target
    shares = _class_shares(rows, len(target.classes), include_train=True)
    return AuditReport(
        tool_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        input={"path": table.path, "sha256": table.sha256, "format": table.input_format,
               "n_rows": table.n_rows, "n_columns": table.n_columns, "n_rows_used": len(rows.codes),
               "sampled": rows.sampled, "n_dropped_missing_target": target.n_dropped_missing,
               "ood_path": config.ood_path},
        config=config.to_dict(),
        target={"name": target.name, "classes": list(target.classes), "n_classes": len(target.classes),
                "distribution": {name: dict(zip(target.classes, share.round(6).tolist()))
                                 for name, share in shares.items()},
                "n_rows": {name: int(part.size) for name, part in rows.splits.items()}},
        shift=rows.shift,
        serialization={"template": config.template, "columns": list(loaded.serializer.columns),
                       "example": embedded.texts[0] if embedded.texts else ""},
        embedding=embedded.info,
        grid=design_record({family: FAMILIES[family].grid for family in config.families}, config.n_configs),
        models=run.models,
        summary=analysis.summary,
        aotl=analysis.aotl,
        agreement=analysis.agreement,
        verdict=analysis.verdict,
        timings=timings,
        warnings=list(rows.warnings),
    )


def _with_ood_file(table: LoadedTable, config: AuditConfig) -> tuple[pd.DataFrame, np.ndarray | None, bool]:
    """Stack the ``--ood`` file under the main one; the mask marks its rows.

    The OOD rows are unlabelled (third value False) when the file has no target column or
    ``--ood-unlabeled`` says to ignore it; their target cells are then emptied. Columns the
    audit drops need not be in the OOD file. A copy of the main file is an error, not a warning:
    its "OOD" rows would be the ID rows, ID-train among them, and every OOD figure an ID figure.
    """
    if not config.ood_path:
        return table.frame, None, True
    other = read_table(config.ood_path, input_format=config.input_format, encoding=config.encoding)
    if other.sha256 == table.sha256:
        raise TecurateError(f"--ood {config.ood_path} is DATA {table.path} itself or a copy of it (same content): "
                            "the OOD rows would be the ID rows; give a file of other rows")
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


def _row_keys(loaded: Loaded, config: AuditConfig) -> tuple[np.ndarray, list[str]]:
    """What places each row in the sample and the split: its ``--id-col`` value, else what the
    audit reads of it (features, target, shift column), so rows that look the same stay together."""
    if config.id_col:
        return id_keys(loaded.frame[config.id_col], config.id_col, loaded.ood_mask)
    columns = [*loaded.serializer.columns, config.target, *[c for c in [config.shift_col] if c]]
    return row_keys(loaded.frame, columns), []


def _sample(frame: pd.DataFrame, codes: np.ndarray, keys: np.ndarray, ood_mask: np.ndarray | None,
            config: AuditConfig) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """Bound the row count with a sample stratified by target and domain."""
    if config.max_rows is None or len(frame) <= config.max_rows:
        return frame, codes, keys, ood_mask, False
    domain = np.zeros(len(frame), dtype=np.int64)
    if config.shift_col:
        domain = pd.factorize(frame[config.shift_col], use_na_sentinel=False)[0]
    elif ood_mask is not None:
        domain = ood_mask.astype(np.int64)
    strata = codes.astype(np.int64) * (int(domain.max()) + 1) + domain
    rows = stratified_sample(strata, config.max_rows, keys=keys, seed=config.seed)
    mask = ood_mask[rows] if ood_mask is not None else None
    return frame.iloc[rows].reset_index(drop=True), codes[rows], keys[rows], mask, True


def _split(frame: pd.DataFrame, codes: np.ndarray, keys: np.ndarray, ood_mask: np.ndarray | None,
           columns: list[str], config: AuditConfig) -> Splits:
    """ID / OOD by the shift column, else by the ``--ood`` file, else a synthetic shift."""
    common = {"keys": keys, "test_size": config.test_size, "seed": config.seed}
    if config.shift_col:
        return split_by_column(frame[config.shift_col], codes, column=config.shift_col,
                               id_values=config.id_values, min_domain_rows=config.min_domain_rows,
                               **common)
    if ood_mask is not None:
        return split_by_mask(codes, ood_mask, name="ood",
                             description=f"rows of {config.ood_path}", **common)
    features = encode_raw(frame, columns, np.arange(len(frame)))
    return split_synthetic(features, codes, quantile=config.synthetic_quantile, **common)


def _absent_classes(train_codes: np.ndarray, target: Target) -> list[str]:
    """Classes only seen outside ID-train are a warning (the split already needs two in it)."""
    present = set(np.unique(train_codes).tolist())
    absent = [target.classes[c] for c in range(len(target.classes)) if c not in present]
    if not absent:
        return []
    return [f"class(es) {', '.join(absent[:5])} of target '{target.name}' never occur in the ID "
            "training rows; no model can predict them"]
