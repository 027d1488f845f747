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
from typing import Any, TypeVar

import numpy as np

from tecurate import __version__
from tecurate._lazy import lazy
from tecurate._reuse import reuse_for
from tecurate._rows import Loaded, Rows, audited_columns, choose_rows, chunked_file, load, read_source
from tecurate.analysis import Analysis, GridRun, analyze, assess_stability, build_features, class_shares
from tecurate.config import AUDIT_SETTINGS, BY_NAME, AuditConfig, coerce
from tecurate.curation import Curated, curate, parse_curation
from tecurate.data import (
    ChunkedFile,
    Serializer,
    Source,
    make_serializer,
)
from tecurate.embedding import (
    ContentStore,
    Embedder,
    EmbeddingInfo,
    default_cache_dir,
    describe_truncation,
    make_embedder,
    measure_truncation,
    token_budget_of,
)
from tecurate.engines import BuildEmbedder, Session, open_engine
from tecurate.errors import TecurateError
from tecurate.grid import (
    FAMILIES,
    FitCache,
    ModelConfig,
    design_record,
    fit_rows,
    encode_raw,
    sample_configs,
)
from tecurate.reporting import AuditReport, created_now

pd = lazy("pandas")

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
        self._given = given
        self._embedder = given

    def get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(
                self._config.embedder, device=self._config.device, precision=self._config.precision,
                store=_embedding_cache(self._config))
        return self._embedder

    def recipe(self) -> BuildEmbedder:
        """How an engine's worker makes this embedder: the given one as it is, else the settings'
        model on the worker's device."""
        if self._given is not None:
            return functools.partial(_given_embedder, self._given)
        config = self._config
        return functools.partial(_settings_embedder, config.embedder, config.precision, _embedding_cache(config))


def _given_embedder(embedder: Embedder, device: str) -> Embedder:
    return embedder


def _settings_embedder(name: str | None, precision: str, store: ContentStore | None, device: str) -> Embedder:
    return make_embedder(name, device=device, precision=precision, store=store)


def _embedding_cache(config: AuditConfig) -> ContentStore | None:
    """The cache folder, which also keeps the model grid's predictions (:mod:`tecurate.grid._fitcache`)."""
    return ContentStore(config.cache_dir or default_cache_dir()) if config.use_cache else None


def resolve_settings(config: AuditConfig | None, settings: dict[str, Any]) -> AuditConfig:
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
    config = resolve_settings(config, {"target": target, "shift_col": shift_col, **settings})
    notify: Progress = progress or (lambda stage, done, total: None)
    model = _LazyEmbedder(config, embedder)
    clock = _Clock()
    with open_engine(config.to_dict()) as engine:
        with clock.stage("load"):
            loaded = load(data, config)
        reports = audit_seeds(loaded, config, model, notify, clock, engine=engine)
    return reports[0] if config.repeats == 1 else assess_stability(reports, config)


def reuse_or_audit(data: Source, config: AuditConfig, progress: Progress | None = None) -> AuditReport:
    """What ``tecurate audit`` runs: the kept report of an identical audit (:mod:`tecurate._reuse`),
    else :func:`audit`, whose report is then kept for the next one.

    A reused report is plain data, like :meth:`AuditReport.load`'s (its ``to_dict`` is the
    kept JSON); :func:`audit` always computes, so its parts are the dataclasses of a fresh report.
    """
    model = _LazyEmbedder(config, None)
    reuse = reuse_for(data, config, _embedding_cache(config), model.get)
    kept = None if reuse is None else reuse.load()
    if kept is not None:
        return kept
    report = audit(data, config, progress=progress)
    if reuse is not None:
        reuse.keep(report)
    return report


def audit_seeds(loaded: Loaded, config: AuditConfig, embedder: Embedder | _LazyEmbedder | None,
                progress: Progress | None = None, clock: _Clock | None = None, *,
                engine: Session | None = None) -> list[AuditReport]:
    """One report per seed (seed … seed+repeats−1) of an already loaded table: what
    :func:`audit` combines, and what ``sweep`` scores seed by seed. ``config.template`` must be
    the one ``loaded`` was loaded with (:func:`with_template`). Without ``engine`` the one
    ``config`` names is opened for these seeds and closed after."""
    model = embedder if isinstance(embedder, _LazyEmbedder) else _LazyEmbedder(config, embedder)
    if engine is None:
        with open_engine(config.to_dict()) as session:
            return audit_seeds(loaded, config, model, progress, clock, engine=session)
    notify: Progress = progress or (lambda stage, done, total: None)
    return [_audit_once(loaded, replace(config, seed=config.seed + k), model, engine, notify,
                        clock if k == 0 and clock is not None else _Clock())
            for k in range(config.repeats)]


def with_template(loaded: Loaded, template: str) -> Loaded:
    """The loaded table serialized with another template (checked now, before any embedding)."""
    return replace(loaded, serializer=make_serializer(template, loaded.serializer.columns))


def curate_rows(loaded: Loaded, rows: Rows, config: AuditConfig) -> Curated:
    """The text route's serializer and frame for ``rows``: ``config.curations`` fitted on ID-train."""
    return curate(rows.frame, loaded.serializer.columns, config.curations, template=loaded.serializer.template,
                  train=rows.splits["id_train"], codes=rows.codes, describe_file=config.describe_file)


def build_embedder(config: AuditConfig) -> Embedder:
    """The embedder ``config`` names, with the audit's cache: what an audit builds on first use."""
    return _LazyEmbedder(config, None).get()


@_no_library_warnings
def serialize_table(data: Source, config: AuditConfig | None = None, limit: int | None = None, *,
                    target: str | None = None, shift_col: str | None = None, **settings: Any) -> list[str]:
    """The text of every row (or the first ``limit``), in table order, as the audit writes it:
    target, shift column, dropped columns and the --id-col left out. ``data`` and settings as
    for :func:`audit`."""
    config = resolve_settings(config, {"target": target, "shift_col": shift_col, **settings})
    table, serializer = _table_rows(data, config)
    return _texts_of(table, table if limit is None else table.head(limit), serializer, config)


def _table_rows(data: Source, config: AuditConfig) -> tuple[pd.DataFrame, Serializer]:
    """Every row of the table and the serializer of its audited columns."""
    table, _ = read_source(data, config)
    return table.frame, make_serializer(config.template, audited_columns(table.frame, config, skipped=table.skipped))


def _texts_of(table: pd.DataFrame, frame: pd.DataFrame, serializer: Serializer, config: AuditConfig) -> list[str]:
    """The texts of ``frame`` (rows of ``table``) as the audit writes them, curated or not."""
    if not parse_curation(config.curations).operations:
        return serializer.serialize(frame)
    return _curated_texts(table, frame, list(serializer.columns), config)


def _curated_texts(table: pd.DataFrame, frame: pd.DataFrame, columns: list[str], config: AuditConfig) -> list[str]:
    """``frame``'s texts under ``config.curations`` fitted as the audit fits it, on its ID-train rows:
    those rows go first, so the fit sees exactly them, and their texts are dropped (a step applies
    to each row alone)."""
    rows = choose_rows(load(table, config), config)
    train = rows.splits["id_train"]
    both = pd.concat([rows.frame.iloc[train][columns], frame[columns]], ignore_index=True)
    codes = np.r_[rows.codes[train], np.zeros(len(frame), dtype=rows.codes.dtype)]
    curated = curate(both, columns, config.curations, template=config.template, train=np.arange(train.size),
                     codes=codes, describe_file=config.describe_file)
    return curated.serializer.serialize(curated.frame)[train.size:]


EMBED_WINDOW = 65_536
"""Rows embedded and written at a time by :func:`embed_table_into`: what bounds its memory beyond
the table itself (65,536 texts and their float32 vectors: ~100 MB at dim 384). With ``--engine
ray`` each window is one Ray Data job (its actors load the model once)."""


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

    Same serialization (:func:`serialize_table`), model, precision, engine and cache as
    :func:`audit`, so the vectors equal the audit's for the same rows; rows whose target is
    missing are embedded too, since a matrix aligned with the table is the point. The whole
    matrix is in memory: :func:`embed_table_into` hands it over window by window instead.
    """
    parts: list[np.ndarray] = []
    info = embed_table_into(data, lambda vectors, start, total: parts.append(vectors), config, target=target,
                            shift_col=shift_col, embedder=embedder, progress=progress, **settings)
    return (np.concatenate(parts) if parts else np.zeros((0, info.dim), dtype=np.float32)), info


@_no_library_warnings
def embed_table_into(
    data: Source,
    write: Callable[[np.ndarray, int, int], None],
    config: AuditConfig | None = None,
    *,
    target: str | None = None,
    shift_col: str | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> EmbeddingInfo:
    """Embed the table :data:`EMBED_WINDOW` rows at a time, calling ``write(vectors, first_row,
    n_rows)`` with each window's vectors in table order (``tecurate embed`` streams them to a
    file), and return what the embedding stage did over all windows. A text repeated in two
    windows is counted in both (the second time as a cache hit when there is a cache)."""
    config = resolve_settings(config, {"target": target, "shift_col": shift_col, **settings})
    notify: Progress = progress or (lambda stage, done, total: None)
    model = _LazyEmbedder(config, embedder)
    store = _embedding_cache(config)
    with open_engine(config.to_dict()) as engine:
        total, windows = _text_windows(data, config)
        infos, start = [], 0
        for texts in windows:
            vectors, info = _embed(texts, model, config, store, engine,
                                   lambda stage, done, n, start=start: notify(stage, start + done, total))
            write(vectors, start, total)
            infos.append(info)
            start += len(texts)
    return _over_windows(infos)


def _text_windows(data: Source, config: AuditConfig) -> tuple[int, Iterator[list[str]]]:
    """The row count and the rows' texts, a window at a time: a CSV or Parquet file is read a chunk
    at a time (never whole; one pass first counts its rows and settles its dtypes) unless a curation
    must see its rows; anything else is read whole, then cut into :data:`EMBED_WINDOW` rows."""
    file = None if parse_curation(config.curations).operations else chunked_file(data, config)
    total = sum(len(chunk) for chunk in file.chunks()) if file is not None else 0
    if file is not None and total and file.whole_dtypes() is not None:
        def chunked(file: ChunkedFile = file) -> Iterator[list[str]]:
            serializer = None
            for chunk in file.typed_chunks():
                serializer = serializer or make_serializer(
                    config.template, audited_columns(chunk, config, skipped=file.skipped))
                for start in range(0, len(chunk), EMBED_WINDOW):
                    yield serializer.serialize(chunk.iloc[start:start + EMBED_WINDOW])
        return total, chunked()
    frame, serializer = _table_rows(data, config)
    starts = range(0, len(frame), EMBED_WINDOW) if len(frame) else (0,)
    return len(frame), (_texts_of(frame, frame.iloc[start:start + EMBED_WINDOW], serializer, config)
                        for start in starts)


def _over_windows(infos: list[EmbeddingInfo]) -> EmbeddingInfo:
    """One record of the embedding stage for every window's."""
    def added(name: str) -> Any:
        return sum(getattr(info, name) for info in infos)

    return replace(infos[0], n_texts=added("n_texts"), n_unique_texts=added("n_unique_texts"),
                   cache_hits=added("cache_hits"), cache_misses=added("cache_misses"), seconds=added("seconds"),
                   cache_write_ok=all(info.cache_write_ok for info in infos))


@dataclass(frozen=True)
class _Embedded:
    """The texts of the used rows and their embeddings, row-aligned."""

    texts: list[str]
    vectors: np.ndarray
    info: EmbeddingInfo


def _audit_once(loaded: Loaded, config: AuditConfig, embedder: _LazyEmbedder, engine: Session,
                notify: Progress, clock: _Clock) -> AuditReport:
    """One audit with one seed of the loaded table: each stage's output is the next one's input."""
    store = _embedding_cache(config)
    with clock.stage("split"):
        rows = choose_rows(loaded, config)
        configs = sample_configs(config.families, config.n_configs)
    with clock.stage("serialize"):  # brought vectors need the text of one row only: the report's example
        curated = curate_rows(loaded, rows, config)
        texts = curated.serializer.serialize(curated.frame if loaded.vectors is None else curated.frame.head(1))
    with clock.stage("embed"):
        embedded = _vectors(texts, rows, loaded, curated, embedder, config, store, engine, notify)
        truncation = embedded.info.truncation
    with clock.stage("features"):
        features = build_features(config.representations, {
            "raw": encode_raw(rows.frame, loaded.serializer.columns, rows.splits["id_train"]),
            "te": embedded.vectors})
    with clock.stage("fit"):
        train = fit_rows(rows.splits["id_train"], rows.codes, config.max_fit_rows, config.seed)
        fits = FitCache(store, features, rows.codes, train, rows.tests, config.seed) \
            if store is not None else None
        run = _fit(configs, features, rows, train, len(loaded.target.classes), config, fits, engine, notify)
    with clock.stage("analyze"):
        analysis = analyze(run.models, _class_shares(rows, len(loaded.target.classes)), config,
                           predictions=run.predictions, probabilities=run.probabilities,
                           id_labels=rows.codes[rows.splits["id_test"]], truncation=truncation)
    notes = (*_grid_warnings(configs, config), *_cache_warnings(store, embedded.info, fits),
             *_curation_warnings(config, curated),
             *_fit_budget_warnings(train, rows.splits["id_train"]),
             *([describe_truncation(truncation)] if truncation is not None and truncation.n_truncated else []))
    return _report(config, loaded, replace(rows, warnings=(*rows.warnings, *notes)), embedded, run,
                   analysis, clock.total(), engine, curated)


def _vectors(texts: list[str], rows: Rows, loaded: Loaded, curated: Curated, embedder: _LazyEmbedder,
             config: AuditConfig, store: ContentStore | None, engine: Session, notify: Progress) -> _Embedded:
    """The te vectors of the used rows: the user's (``--embeddings``, ``--embedding-col``), taken
    by each row's input position, else embedded from the rows' texts with what the model cuts."""
    if loaded.vectors is not None:
        return _Embedded(texts, *loaded.vectors.take(rows.positions))
    embedded = _Embedded(texts, *_embed(texts, embedder, config, store, engine, notify))
    budget = token_budget_of(embedder.get())
    truncation = None if budget is None else measure_truncation(texts, budget, curated.serializer, curated.frame)
    return replace(embedded, info=replace(embedded.info, truncation=truncation))


def _embed(texts: list[str], embedder: _LazyEmbedder, config: AuditConfig, store: ContentStore | None,
           engine: Session, notify: Progress) -> tuple[np.ndarray, EmbeddingInfo]:
    """The audit's and ``embed_table``'s one way to embed: same batch size, cache, engine and progress."""
    return engine.embed(texts, embedder.get(), batch_size=config.batch_size, cache=store,
                        progress=lambda done, total: notify("embed", done, total), build=embedder.recipe())


def _fit(configs: list[ModelConfig], features: dict[str, np.ndarray], rows: Rows, train: np.ndarray,
         n_classes: int, config: AuditConfig, fits: FitCache | None, engine: Session, notify: Progress) -> GridRun:
    """The matched grid: every sampled configuration on every chosen representation, fitted on ``train``."""
    return engine.fit(configs, features, rows.codes, train, rows.tests, n_classes=n_classes,
                      collapse_threshold=config.collapse_threshold, seed=config.seed,
                      unlabelled=rows.unlabelled, n_jobs=config.n_jobs, cache=fits,
                      progress=lambda done, total: notify("fit", done, total))


def _fit_budget_warnings(train: np.ndarray, id_train: np.ndarray) -> list[str]:
    """One note when the models were fitted on a sample of the ID-train rows (``--max-fit-rows``)."""
    if train.size == id_train.size:
        return []
    return [f"models fitted on a stratified sample of {train.size:,} of the {id_train.size:,} ID-train rows "
            "(--max-fit-rows); every test row scored"]


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


def _curation_warnings(config: AuditConfig, curated: Curated) -> list[str]:
    """A ``--describe`` file that no step read: the user meant to describe columns."""
    described = any(step["operation"] == "describe" for step in curated.record["steps"])
    if config.describe_file is None or described:
        return []
    return [f"--describe {config.describe_file} is unused: --curations {config.curations} has no describe step"]


def _class_shares(rows: Rows, n_classes: int, *, include_train: bool = False) -> dict[str, np.ndarray]:
    """True class shares of each labelled split (the test splits, or every split)."""
    chosen = rows.splits if include_train else rows.tests
    return {name: class_shares(rows.codes[part], n_classes)
            for name, part in chosen.items() if name not in rows.unlabelled}


def _report(config: AuditConfig, loaded: Loaded, rows: Rows, embedded: _Embedded, run: GridRun,
            analysis: Analysis, timings: dict[str, float], engine: Session, curated: Curated) -> AuditReport:
    table, target = loaded.table, loaded.target
    shares = _class_shares(rows, len(target.classes), include_train=True)
    return AuditReport(
        tool_version=__version__,
        created_at=created_now(),
        input={"path": table.path, "sha256": table.sha256, "format": table.input_format,
               "n_rows": table.n_rows, "n_columns": table.n_columns, "n_rows_used": len(rows.codes),
               "sampled": rows.sampled, "rows_used_why": rows.why, "n_dropped_missing_target": target.n_dropped_missing,
               "ood_path": config.ood_path},
        config=config.to_dict(),
        target={"name": target.name, "classes": list(target.classes), "n_classes": len(target.classes),
                "distribution": {name: dict(zip(target.classes, share.round(6).tolist()))
                                 for name, share in shares.items()},
                "n_rows": {name: int(part.size) for name, part in rows.splits.items()}},
        shift=rows.shift,
        serialization={"template": config.template, "columns": list(curated.serializer.columns),
                       "example": embedded.texts[0] if embedded.texts else "", "curation": curated.record},
        embedding=embedded.info,
        grid=design_record({family: FAMILIES[family].grid for family in config.families}, config.n_configs),
        models=run.models,
        summary=analysis.summary,
        aotl=analysis.aotl,
        agreement=analysis.agreement,
        ood_estimates=analysis.ood_estimates,
        verdict=analysis.verdict,
        engine=engine.record(),
        timings=timings,
        warnings=list(rows.warnings),
    )


