"""The audit's first two stages: from a source to the rows an audit uses.

``load`` reads the table (and the ``--ood`` file), checks every column named and encodes the
target; ``choose_rows`` keys each row, samples (``--max-rows``), splits ID-train / ID-test / OOD
and keeps the rows some split holds. Every later stage, of the audit and of ``simulate``, starts
from their records, so all commands see the same rows. Nothing here prints or exits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from tecurate._lazy import lazy
from tecurate.config import AuditConfig
from tecurate.data import (
    ID_TEST,
    ChunkedFile,
    LoadedTable,
    Pooled,
    Serializer,
    ShiftInfo,
    Source,
    Splits,
    Target,
    check_column,
    column_names,
    feature_columns,
    id_keys,
    load_table,
    make_serializer,
    open_chunked,
    pooled_sample,
    prepare_target,
    read_table,
    row_keys,
    split_by_column,
    split_by_mask,
    split_synthetic,
    stratified_sample,
)
from tecurate.embedding import Precomputed, vector_source
from tecurate.errors import TecurateError
from tecurate.grid import (
    encode_raw,
    find_leaks,
)

pd = lazy("pandas")


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
    positions: np.ndarray
    """Each row's position in the input file (or frame), for the vectors the user brought."""
    vectors: Precomputed | None = None
    """``--embeddings`` / ``--embedding-col``: the te vectors of every input row; None: embed the rows."""
    pooled: Pooled | None = None
    """A long file read in two passes: ``frame`` holds only the rows some seed's ``--max-rows``
    sample takes, and this each seed's sample; None: ``frame`` holds every row with a target."""

    @property
    def n_labelled(self) -> int:
        """Rows of the input with a target (or unlabelled OOD rows), the sample's population."""
        return self.target.codes.size if self.pooled is None else self.pooled.n_labelled


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
    positions: np.ndarray
    """Each row's position in the input, so that brought vectors follow the sample."""
    why: str = ""
    """Why the audit uses these many rows: labels, ``--max-rows``, domains too small for a split."""

    @property
    def tests(self) -> dict[str, np.ndarray]:
        return {name: rows for name, rows in self.splits.items() if name != "id_train"}


def load(data: Source, config: AuditConfig) -> Loaded:
    """Stage 1: read the table (and the ``--ood`` file), check every column named, encode the target.

    Public with :func:`choose_rows` so that other commands (``simulate``) start from exactly the
    audit's rows."""
    chosen = vector_source(config)
    if chosen is None and (pooled := _load_pooled(data, config)) is not None:
        return pooled
    table, vector_columns = read_source(data, config)
    frame, ood_mask, ood_labelled = _with_ood_file(table, config)
    columns = audited_columns(frame, config, skipped=table.skipped)
    vectors = None if chosen is None else chosen[0].open(chosen[1], data, table.n_rows, vector_columns)
    frame, target, ood_mask, positions = _prepare(frame, config, ood_mask, ood_labelled)
    serializer = make_serializer(config.template, columns)
    dropped = [f"dropped {target.n_dropped_missing} rows with a missing target"] if target.n_dropped_missing else []
    return Loaded(table, frame, target, ood_mask, ood_labelled, serializer, tuple(dropped), positions, vectors)


def _load_pooled(data: Source, config: AuditConfig) -> Loaded | None:
    """A file longer than ``--max-rows`` read in two passes (:mod:`tecurate.data._chunked`): the
    rows of each seed's sample only, so memory does not follow the row count. None where the
    file is read whole: a frame in memory, stdin, gzip or JSONL, an ``--ood`` file or an ``--id-col``
    (whose checks need every row), no more rows than ``--max-rows``."""
    if not config.max_rows or config.ood_path or config.id_col or (file := chunked_file(data, config)) is None:
        return None
    pooled = pooled_sample(file, target=config.target, shift_col=config.shift_col,
                           columns_of=lambda chunk: audited_columns(chunk, config, skipped=file.skipped),
                           max_rows=config.max_rows, seeds=range(config.seed, config.seed + config.repeats))
    if pooled is None:
        return None
    table = LoadedTable(frame=pooled.frame, path=file.path, sha256=file.sha256, n_rows=pooled.n_rows,
                        n_columns=file.n_columns, input_format=file.input_format, skipped=file.skipped)
    columns = audited_columns(pooled.frame, config, skipped=file.skipped)
    target = pooled.target
    dropped = [f"dropped {target.n_dropped_missing} rows with a missing target"] if target.n_dropped_missing else []
    return Loaded(table, pooled.frame, target, None, True, make_serializer(config.template, columns), tuple(dropped),
                  pooled.positions, pooled=pooled)


def chunked_file(data: Source, config: AuditConfig) -> ChunkedFile | None:
    """``data`` as a file read a chunk of rows at a time, without its ``--drop-cols``; None where
    it is read whole (a frame in memory, stdin, gzip, JSONL, other encodings than UTF-8)."""
    if not isinstance(data, (str, os.PathLike)) or os.fspath(data) == "-" or not os.path.isfile(data):
        return None
    return open_chunked(os.fspath(data), config.input_format, config.encoding, config.drop_cols)


def read_source(data: Source, config: AuditConfig) -> tuple[LoadedTable, list[str]]:
    """The table without the columns the audit never reads, and the columns holding brought vectors.

    A file is read without its ``--drop-cols`` and vector columns (column projection), so memory
    follows the audited columns. A frame in memory keeps its ``--drop-cols`` (its content hash
    covers them, as before) and loses only its vector columns.
    """
    chosen = vector_source(config)
    vector_columns: list[str] = []
    if chosen is not None:
        names = column_names(data, input_format=config.input_format, encoding=config.encoding)
        vector_columns = chosen[0].columns(chosen[1], names)
        for role, name in (("target", config.target), ("shift", config.shift_col), ("--id-col", config.id_col)):
            if name in vector_columns:
                raise TecurateError(f"{chosen[0].flag} {chosen[1]} takes the {role} column '{name}'; "
                                    "the vectors need columns of their own")
    files = isinstance(data, str) or hasattr(data, "__fspath__")
    skip = (*config.drop_cols, *vector_columns) if files else tuple(vector_columns)
    table = load_table(data, input_format=config.input_format, encoding=config.encoding, skip=skip)
    return table, vector_columns


def audited_columns(frame: pd.DataFrame, config: AuditConfig, *, skipped: tuple[str, ...] = ()) -> list[str]:
    """All columns but the target, the shift column, the ``--drop-cols`` and the ``--id-col``.

    ``skipped``: columns the reader left out of ``frame`` already (a ``--drop-cols`` among them is
    dropped, not unknown)."""
    drop = tuple(c for c in config.drop_cols if c not in skipped)
    if config.id_col:
        check_column(frame, config.id_col, "--id-col")
        drop = (*drop, config.id_col)
    return feature_columns(frame, config.target, shift_col=config.shift_col, drop=drop)


def choose_rows(loaded: Loaded, config: AuditConfig) -> Rows:
    """Key the rows, sample, split, then keep only the rows some split holds."""
    if loaded.pooled is not None and config.seed not in loaded.pooled.samples:  # a seed load() drew none for
        loaded = _load_pooled(loaded.table.path, replace(config, repeats=1)) or load(loaded.table.path, config)
    keys, key_notes = _row_keys(loaded, config)
    drawn = None if loaded.pooled is None else loaded.pooled.samples[config.seed]
    frame, codes, keys, ood_mask, taken = _sample(loaded.frame, loaded.target.codes, keys, loaded.ood_mask,
                                                  config, drawn)
    sampled = taken is not None
    positions = loaded.positions if taken is None else loaded.positions[taken]
    splits = _split(frame, codes, keys, ood_mask, list(loaded.serializer.columns), config)
    unlabelled = frozenset() if loaded.ood_labelled else frozenset(splits.ood)
    notes = [*loaded.warnings, *key_notes, *_leakage(frame, codes, splits, loaded, config)]
    if sampled:
        notes.append(f"sampled {len(frame)} of {loaded.n_labelled} rows (--max-rows {config.max_rows})")
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
                shift=splits.shift, sampled=sampled, unlabelled=unlabelled, warnings=tuple(notes),
                positions=positions[used], why=_why(loaded, config, len(frame), len(used)))


def _why(loaded: Loaded, config: AuditConfig, n_sampled: int, n_used: int) -> str:
    """Why the audit uses ``n_used`` rows, in words: the report's ``input.rows_used_why``."""
    n_labelled = loaded.n_labelled
    n_input = n_labelled + loaded.target.n_dropped_missing
    parts = [f"{n_labelled} of {n_input} rows have a target" if n_labelled < n_input
             else f"all {n_input} rows have a target"]
    if not config.max_rows:
        parts.append(f"no sample (--max-rows {config.max_rows}: every row)")
    elif n_sampled < n_labelled:
        parts.append(f"--max-rows {config.max_rows} keeps a sample of {n_sampled}, stratified by target x domain")
    else:
        parts.append(f"no sample (--max-rows {config.max_rows} is not below {n_labelled})")
    if n_used < n_sampled:
        reason = (f"their domain of --shift-col {config.shift_col} has fewer than --min-domain-rows "
                  f"{config.min_domain_rows} rows" if config.shift_col else "no split holds them")
        parts.append(f"{n_sampled - n_used} left out: {reason}")
    return f"{n_used} rows used: " + "; ".join(parts)


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


_POSITION = "__tecurate_position__"


def _prepare(frame: pd.DataFrame, config: AuditConfig, ood_mask: np.ndarray | None,
             ood_labelled: bool) -> tuple[pd.DataFrame, Target, np.ndarray | None, np.ndarray]:
    """Drop rows without a target, keeping the OOD mask and each row's input position aligned
    with the kept rows.

    Unlabelled OOD rows are kept whatever their (empty) target, with class code -1: no metric
    ever reads their labels.
    """
    frame = frame.assign(**{_POSITION: np.arange(len(frame), dtype=np.int64)})
    if ood_mask is None:
        kept, target = prepare_target(frame, config.target)
        mask = None
    elif not ood_labelled:
        kept, target = prepare_target(frame.loc[~ood_mask], config.target)
        ood = frame.loc[ood_mask]
        codes = np.r_[target.codes, np.full(len(ood), -1, dtype=target.codes.dtype)]
        mask = np.r_[np.zeros(len(kept), bool), np.ones(len(ood), bool)]
        kept, target = pd.concat([kept, ood], ignore_index=True), replace(target, codes=codes)
    else:
        kept, target = prepare_target(frame.assign(__tecurate_ood__=ood_mask), config.target)
        mask = kept.pop("__tecurate_ood__").to_numpy(bool)
    positions = kept.pop(_POSITION).to_numpy(np.int64)
    return kept, target, mask, positions


def _row_keys(loaded: Loaded, config: AuditConfig) -> tuple[np.ndarray, list[str]]:
    """What places each row in the sample and the split: its ``--id-col`` value, else what the
    audit reads of it (features, target, shift column), so rows that look the same stay together."""
    if config.id_col:
        return id_keys(loaded.frame[config.id_col], config.id_col, loaded.ood_mask)
    columns = [*loaded.serializer.columns, config.target, *[c for c in [config.shift_col] if c]]
    return row_keys(loaded.frame, columns), []


def _sample(frame: pd.DataFrame, codes: np.ndarray, keys: np.ndarray, ood_mask: np.ndarray | None,
            config: AuditConfig, drawn: np.ndarray | None = None,
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Bound the row count with a sample stratified by target and domain; the last value is the
    rows sampled (None: all). It runs before any row is serialized or embedded. ``drawn``: the
    sample the chunked read drew already (rows of ``frame``)."""
    if drawn is not None:
        return frame.iloc[drawn].reset_index(drop=True), codes[drawn], keys[drawn], None, drawn
    if not config.max_rows or len(frame) <= config.max_rows:
        return frame, codes, keys, ood_mask, None
    domain = np.zeros(len(frame), dtype=np.int64)
    if config.shift_col:
        domain = pd.factorize(frame[config.shift_col], use_na_sentinel=False)[0]
    elif ood_mask is not None:
        domain = ood_mask.astype(np.int64)
    strata = codes.astype(np.int64) * (int(domain.max()) + 1) + domain
    rows = stratified_sample(strata, config.max_rows, keys=keys, seed=config.seed)
    mask = ood_mask[rows] if ood_mask is not None else None
    return frame.iloc[rows].reset_index(drop=True), codes[rows], keys[rows], mask, rows


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
