"""The ``--max-rows`` sample of a file too long to hold, drawn in two passes over it.

The sample is stratified by target x domain and keyed by each row's content (:mod:`._keys`), so
every row's audited columns must be seen, though not held. The first pass reads the file a chunk at
a time (:class:`~tecurate.data._projected.ChunkedFile`), keys each chunk's rows and keeps, per
stratum and seed, only the ``max_rows`` rows with the smallest seeded keys: no stratum's quota is
larger (:func:`~tecurate.data._split.stratum_quotas`), so what it drops no sample can take. The
second pass reads only the rows some seed's sample takes. Memory follows the chunk and
``max_rows`` x strata, not the row count, and each seed's sample is the one
:func:`~tecurate.data._split.stratified_sample` draws from the whole table, row for row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tecurate._lazy import lazy
from tecurate.data._keys import row_keys, seeded
from tecurate.data._projected import ChunkedFile
from tecurate.data._serialize import column_texts
from tecurate.data._split import stratum_quotas
from tecurate.data._validate import MAX_CLASSES, Target, _check_integral, check_column, target_classes

pd = lazy("pandas")

_NA = object()
"""Every missing shift value's one domain, as ``pd.factorize(use_na_sentinel=False)`` counts them."""


@dataclass(frozen=True)
class Pooled:
    """The rows some seed's ``--max-rows`` sample takes, read, and each seed's sample among them."""

    frame: pd.DataFrame
    """The rows (each with a target), in file order, as the whole file's reader gives them."""
    positions: np.ndarray
    """Each row's position in the file."""
    target: Target
    """The target of the whole file (classes, rows dropped), coded for the rows of ``frame``."""
    samples: dict[int, np.ndarray]
    """Per seed, its sample: rows of ``frame``, ascending."""
    n_labelled: int
    """Rows of the file with a target, which the samples are drawn from."""
    n_rows: int
    """Rows of the file."""


def pooled_sample(file: ChunkedFile, *, target: str, shift_col: str | None,
                  columns_of: Callable[[pd.DataFrame], Sequence[str]], max_rows: int, seeds: Iterable[int],
                  max_classes: int = MAX_CLASSES) -> Pooled | None:
    """Each seed's stratified sample of ``max_rows`` rows of ``file``, in two passes.

    ``columns_of`` checks a chunk and names its audited columns (a row's key covers them, the target
    and the shift column). None where the file is better read whole: no more rows with a target than
    ``max_rows`` (no sample), or chunks whose dtypes leave the whole file's open; the whole-file
    route then reads it, and raises any error the file holds (an absent target among them).
    """
    seeds = list(dict.fromkeys(seeds))
    labels: dict[str, int] = {}
    domains: dict[Hashable, int] = {}
    counts: Counter[int] = Counter()
    kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    offset, n_labelled, n_missing, not_integral = 0, 0, 0, None
    for chunk in file.chunks():
        check_column(chunk, target, "target")
        key_columns = [*columns_of(chunk), target, *([shift_col] if shift_col else [])]
        codes, texts = column_texts(chunk[target])
        has = codes >= 0
        if not_integral is None and pd.api.types.is_float_dtype(chunk[target].dtype):
            values = chunk[target].to_numpy(dtype=np.float64, na_value=np.nan)[has]
            bad = values[~np.isfinite(values) | (values != np.round(values))]
            not_integral = bad[0] if bad.size else None
        label = np.array([labels.setdefault(t, len(labels)) if t is not None else -1 for t in texts] + [-1])[codes]
        rows = chunk.loc[has].reset_index(drop=True)
        domain = _domains(rows, shift_col, domains)
        pair = (label[has].astype(np.int64) << 32) | domain
        counts.update(dict(zip(*(a.tolist() for a in np.unique(pair, return_counts=True)), strict=True)))
        keys, positions = row_keys(rows, key_columns), offset + np.flatnonzero(has)
        for seed in seeds:
            kept[seed] = _smallest((pair, seeded(keys, seed), positions), kept.get(seed), max_rows)
        offset, n_labelled, n_missing = offset + len(chunk), n_labelled + int(has.sum()), n_missing + int((~has).sum())
    whole = file.whole_dtypes()
    if n_labelled <= max_rows or whole is None:
        return None
    if not_integral is not None and pd.api.types.is_float_dtype(whole.get(target)):
        _check_integral(np.array([not_integral]), target)
    classes = target_classes(set(labels), target, max_classes=max_classes)
    code_of = np.array([classes.index(text) for text in labels], dtype=np.int64)
    samples = {seed: _draw(*kept[seed], counts, code_of, max(domains.values(), default=0), max_rows)
               for seed in seeds}
    union = np.unique(np.concatenate(list(samples.values())))
    frame = file.take(union)
    if frame is None:
        return None
    codes, texts = column_texts(frame[target])
    lookup = np.array([classes.index(text) for text in texts], dtype=np.int64)
    return Pooled(frame=frame, positions=union,
                  target=Target(name=target, classes=tuple(classes), codes=lookup[codes], n_dropped_missing=n_missing),
                  samples={seed: np.searchsorted(union, rows) for seed, rows in samples.items()},
                  n_labelled=n_labelled, n_rows=offset)


def _domains(rows: pd.DataFrame, shift_col: str | None, seen: dict[Hashable, int]) -> np.ndarray:
    """Each row's domain code: its shift value's, numbered by first appearance in the file, as
    ``pd.factorize`` numbers them in the whole column."""
    if not shift_col:
        return np.zeros(len(rows), dtype=np.int64)
    codes, uniques = pd.factorize(rows[shift_col], use_na_sentinel=False)
    code = [seen.setdefault(_NA if pd.isna(u) else u, len(seen)) for u in uniques.tolist()]
    return np.asarray(code, dtype=np.int64)[codes] if code else np.zeros(0, dtype=np.int64)


def _smallest(new: tuple[np.ndarray, np.ndarray, np.ndarray], old: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
              k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of (stratum, seeded key, position) rows, the ``k`` of each stratum first by key, then position."""
    pair, key, position = new if old is None else (np.concatenate([o, n]) for o, n in zip(old, new, strict=True))
    order, rank = _ranks(pair, key, position)
    chosen = order[rank < k]
    return pair[chosen], key[chosen], position[chosen]


def _ranks(group: np.ndarray, key: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ordered by group, then key, then position, and each one's rank within its group."""
    order = np.lexsort((position, key, group))
    ordered = group[order]
    starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
    return order, np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))


def _draw(pair: np.ndarray, key: np.ndarray, position: np.ndarray, counts: Counter[int], code_of: np.ndarray,
          max_domain: int, max_rows: int) -> np.ndarray:
    """The sample's positions: each stratum's quota of its smallest keys, strata numbered as
    :func:`tecurate._rows` numbers them (class code x domain)."""
    def stratum(pairs: np.ndarray) -> np.ndarray:
        return code_of[pairs >> 32] * (max_domain + 1) + (pairs & 0xFFFFFFFF)

    every = np.array(list(counts), dtype=np.int64)
    strata = stratum(every)
    order = np.argsort(strata)
    quotas = dict(zip(strata[order].tolist(),
                      stratum_quotas(np.array([counts[p] for p in every[order].tolist()]), max_rows).tolist(),
                      strict=True))
    mine = stratum(pair)
    order, rank = _ranks(mine, key, position)
    quota = np.array([quotas[g] for g in mine[order].tolist()], dtype=np.int64)
    return np.sort(position[order[rank < quota]]).astype(np.int64)
