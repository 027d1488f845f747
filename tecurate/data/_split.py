"""ID-train / ID-test / OOD splits: by a shift column, by a second file, or synthetic.

Every index is positional (sorted int64) into the frame and codes the caller passed. Where a row
goes (ID-train or ID-test, in or out of the ``--max-rows`` sample) is decided by a seeded hash of
the row itself, its *key* (:func:`row_keys`: its content, or its ``--id-col`` value), never by its
position or by a random draw over all rows. So the same rows and seed give identical splits in any
file order, and a change that appends or edits a few rows leaves every other row where it was
(up to the one row per class at each cut, see :func:`_split_id`). The knobs (test size, minimum
domain size, quantile, seed) are required and not re-checked here:
:class:`tecurate.config.AuditConfig` owns their defaults and bounds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tecurate._lazy import lazy
from tecurate.data._keys import seeded
from tecurate.data._serialize import format_value
from tecurate.errors import TecurateError

pd = lazy("pandas")

ID_TEST = "id_test"
"""Name of the held-out in-distribution split; every other split name is an OOD split."""

_LIST_LIMIT = 10
_MIN_ID_ROWS = 10


@dataclass(frozen=True)
class OodSplit:
    """One OOD test split; `value` is the shift-column value it holds, when there is one."""

    name: str
    n_rows: int
    description: str
    value: str | None = None


@dataclass(frozen=True)
class ShiftInfo:
    """How ID and OOD were defined, for the report."""

    kind: str
    column: str | None
    id_values: tuple[str, ...]
    ood_splits: tuple[OodSplit, ...]
    description: str
    warnings: tuple[str, ...] = ()
    skipped_domains: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Splits:
    """Positional row indices of each split, plus the shift description."""

    id_train: np.ndarray
    id_test: np.ndarray
    ood: dict[str, np.ndarray]
    shift: ShiftInfo


def stratified_sample(strata: np.ndarray, max_rows: int, *, keys: np.ndarray, seed: int) -> np.ndarray:
    """Sample of `max_rows` positions keeping each stratum's share (for `--max-rows`).

    Quotas: :func:`stratum_quotas`. Each stratum keeps its rows with the smallest seeded keys, so
    rows added to or edited in a table change the sample only at the margin; ties (identical rows)
    go by position.
    """
    strata = np.asarray(strata)
    n = len(strata)
    if max_rows >= n:
        return np.arange(n, dtype=np.int64)
    _, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    quotas = stratum_quotas(counts, max_rows)
    order = np.lexsort((seeded(keys, seed), inverse))  # by stratum, then by seeded key, then position
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    chosen = [order[start:start + q] for start, q in zip(starts, quotas, strict=True)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def stratum_quotas(counts: np.ndarray, max_rows: int) -> np.ndarray:
    """How many of `max_rows` rows each stratum (of `counts` rows, in stratum order) keeps: its share.

    Largest remainders; every stratum keeps at least one row when `max_rows` allows, so a rare
    class does not vanish from a bounded CI run. No quota exceeds `max_rows` (what lets the
    chunked pass of :mod:`tecurate.data._chunked` keep no more rows of a stratum than that).
    """
    counts = np.asarray(counts, dtype=np.int64)
    exact = counts * (max_rows / counts.sum())
    quotas = np.floor(exact).astype(np.int64)
    if len(counts) <= max_rows:
        quotas = np.maximum(quotas, 1)
    # Hand out leftover rows by largest remainder, take back excess from the largest quotas;
    # stable sorts keep ties in stratum order, so the result is deterministic.
    remainders = exact - np.floor(exact)
    for i in np.argsort(-remainders, kind="stable"):
        if quotas.sum() >= max_rows:
            break
        if quotas[i] < counts[i]:
            quotas[i] += 1
    while quotas.sum() > max_rows:
        quotas[np.argmax(quotas)] -= 1
    return quotas


def split_by_column(
    values: pd.Series,
    codes: np.ndarray,
    *,
    keys: np.ndarray,
    column: str,
    id_values: Sequence[str] | None = None,
    min_domain_rows: int,
    test_size: float,
    seed: int,
) -> Splits:
    """ID = rows whose `column` value is in `id_values` (default: the most frequent value);
    every other value with at least `min_domain_rows` rows is its own OOD split `ood:{value}`.

    Values are compared as text (`format_value`, so 2019.0 matches "2019"); rows with a missing
    value belong to no split and are counted in a warning.
    """
    codes = np.asarray(codes)
    _check_lengths(len(values), codes)
    domain_codes, names = _domains(values, column)
    sizes = {str(name): int(n) for name, n in
             zip(names, np.bincount(domain_codes[domain_codes >= 0], minlength=len(names)), strict=True)}
    chosen = _id_values(sizes, id_values, column)
    domains, skipped = _ood_domains({v: n for v, n in sizes.items() if v not in chosen}, min_domain_rows,
                                    column)
    code_of = {str(name): i for i, name in enumerate(names)}
    id_mask = np.isin(domain_codes, [code_of[v] for v in chosen])
    id_train, id_test, id_notes = _split_id(np.flatnonzero(id_mask), codes, keys, test_size, seed)
    ood = {f"ood:{v}": np.flatnonzero(domain_codes == code_of[v]).astype(np.int64) for v in domains}
    notes = _missing_note(domain_codes, column) + _skipped_note(skipped, min_domain_rows, column)
    shift = ShiftInfo(
        kind="column",
        column=column,
        id_values=chosen,
        ood_splits=tuple(OodSplit(name=f"ood:{v}", n_rows=sizes[v],
                                  description=f"rows where {column} = '{v}'", value=v) for v in domains),
        description=(f"column '{column}': ID = {', '.join(repr(v) for v in chosen)} "
                     f"({int(id_mask.sum())} rows); {len(domains)} OOD domain(s), one per other value "
                     f"with at least {min_domain_rows} rows"),
        warnings=tuple(notes + id_notes),
        skipped_domains=skipped,
    )
    return Splits(id_train=id_train, id_test=id_test, ood=ood, shift=shift)


def _domains(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's domain code (-1: missing) and the domains' texts.

    Values are factorized, formatted, then factorized again as text, so distinct raw values with
    the same text (2019 and 2019.0) are one domain.
    """
    raw_codes, uniques = pd.factorize(values.reset_index(drop=True))
    texts = np.array([format_value(u) for u in uniques] + [None], dtype=object)[raw_codes]
    domain_codes, names = pd.factorize(texts)
    if (domain_codes < 0).all():
        raise TecurateError(f"shift column '{column}' is missing in every row; pick another --shift-col")
    return domain_codes, names


def _id_values(sizes: dict[str, int], id_values: Sequence[str] | None, column: str) -> tuple[str, ...]:
    """The requested ID values, checked, or else the most frequent value (ties: the first in order)."""
    if id_values:
        chosen = tuple(dict.fromkeys(str(v).strip() for v in id_values))
        unknown = [v for v in chosen if v not in sizes]
        if unknown:
            raise TecurateError(
                f"--id-values {', '.join(repr(v) for v in unknown)} do not occur in column "
                f"'{column}'; values: {_describe_counts(sizes)}"
            )
    else:
        top = max(sizes.values())
        chosen = (min(v for v, n in sizes.items() if n == top),)
    if all(v in chosen for v in sizes):
        raise TecurateError(
            f"every row of shift column '{column}' has an ID value ({', '.join(chosen)}); "
            "no rows are left for OOD — pick other --id-values or another --shift-col"
        )
    return chosen


def _ood_domains(
    others: dict[str, int], min_domain_rows: int, column: str
) -> tuple[list[str], dict[str, int]]:
    """The non-ID values big enough to be an OOD split, largest first, and the skipped ones."""
    by_size = sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))
    domains = [v for v, n in by_size if n >= min_domain_rows]
    skipped = {v: n for v, n in by_size if n < min_domain_rows}
    if not domains:
        largest = next(iter(skipped))
        raise TecurateError(
            f"no OOD domain of column '{column}' has at least {min_domain_rows} rows (largest: "
            f"'{largest}' with {skipped[largest]}); lower --min-domain-rows"
        )
    return domains, skipped


def _missing_note(domain_codes: np.ndarray, column: str) -> list[str]:
    n_missing = int((domain_codes < 0).sum())
    if not n_missing:
        return []
    return [f"{n_missing} rows with a missing '{column}' value are in no split (neither ID nor OOD)"]


def _skipped_note(skipped: dict[str, int], min_domain_rows: int, column: str) -> list[str]:
    if not skipped:
        return []
    return [f"{len(skipped)} value(s) of '{column}' with fewer than {min_domain_rows} rows "
            f"({sum(skipped.values())} rows in all) are in no split: {_describe_counts(skipped)}"]


def split_by_mask(
    codes: np.ndarray,
    ood_mask: np.ndarray,
    *,
    keys: np.ndarray,
    name: str = "ood",
    description: str,
    test_size: float,
    seed: int,
) -> Splits:
    """OOD = rows where `ood_mask` is true (the `--ood FILE` rows after concatenation)."""
    codes = np.asarray(codes)
    ood_mask = np.asarray(ood_mask, dtype=bool)
    _check_lengths(len(ood_mask), codes)
    if not ood_mask.any():
        raise TecurateError(f"the OOD data ({description}) has no rows")
    id_train, id_test, notes = _split_id(np.flatnonzero(~ood_mask), codes, keys, test_size, seed)
    ood_rows = np.flatnonzero(ood_mask).astype(np.int64)
    shift = ShiftInfo(
        kind="file",
        column=None,
        id_values=(),
        ood_splits=(OodSplit(name=name, n_rows=len(ood_rows), description=description),),
        description=description,
        warnings=tuple(notes),
    )
    return Splits(id_train=id_train, id_test=id_test, ood={name: ood_rows}, shift=shift)


def split_synthetic(
    X: np.ndarray,
    codes: np.ndarray,
    *,
    keys: np.ndarray,
    quantile: float,
    test_size: float,
    seed: int,
) -> Splits:
    """Synthetic covariate shift, for data with no natural one: OOD = rows whose score on the
    first principal component of the standardized raw features is above `quantile`.

    Missing entries of `X` are set to their column mean and constant columns are ignored; the
    component's sign is fixed (largest-|loading| entry positive) so the split is deterministic.
    """
    codes = np.asarray(codes)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d matrix, got shape {X.shape}")
    _check_lengths(X.shape[0], codes)
    scores = _first_component_scores(X, seed)
    threshold = float(np.quantile(scores, quantile))
    ood_mask = scores > threshold
    if not ood_mask.any():
        raise TecurateError(
            "the raw features have too few distinct values to build a synthetic shift; "
            "pass --shift-col or --ood"
        )
    id_train, id_test, notes = _split_id(np.flatnonzero(~ood_mask), codes, keys, test_size, seed)
    percent = f"{quantile * 100:g}"
    description = (
        "synthetic covariate shift: OOD = rows whose score on the first principal component of "
        f"the standardized raw features (missing values mean-imputed) is above its {percent}th "
        f"percentile ({int(ood_mask.sum())} rows); ID = the other {int((~ood_mask).sum())} rows"
    )
    ood_rows = np.flatnonzero(ood_mask).astype(np.int64)
    shift = ShiftInfo(
        kind="synthetic",
        column=None,
        id_values=(),
        ood_splits=(
            OodSplit(name="ood:synthetic", n_rows=len(ood_rows), description=description),
        ),
        description=description,
        warnings=(
            "the OOD split is a synthetic shift (no --shift-col or --ood given); it is not a real "
            "distribution shift, so treat OOD numbers as a stress test only",
            *notes,
        ),
    )
    return Splits(id_train=id_train, id_test=id_test, ood={"ood:synthetic": ood_rows}, shift=shift)


def _first_component_scores(X: np.ndarray, seed: int) -> np.ndarray:
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        means = np.nanmean(X, axis=0)  # all-missing columns give NaN -> 0 -> constant, dropped
    X = np.where(np.isnan(X), np.nan_to_num(means), X)
    if not np.isfinite(X).all():
        raise ValueError("X must not contain infinite values")
    spread = X.std(axis=0)
    varying = spread > 0
    if X.shape[0] < 2 or not varying.any():
        raise TecurateError(
            "the raw features do not vary, so no synthetic shift can be built; "
            "pass --shift-col or --ood"
        )
    Z = (X[:, varying] - X[:, varying].mean(axis=0)) / spread[varying]
    from sklearn.decomposition import PCA

    pca = PCA(n_components=1, svd_solver="full", random_state=seed).fit(Z)
    loading = pca.components_[0]
    sign = 1.0 if loading[np.argmax(np.abs(loading))] >= 0 else -1.0
    return Z @ (sign * loading)


def _split_id(
    id_rows: np.ndarray, codes: np.ndarray, keys: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """ID-train / ID-test by seeded key, exactly stratified: each class's rows ranked by seeded key,
    the first round(test_size x n_c) of them (at least one, never all) are ID-test.

    Ranking and cutting per class (rather than sending every row whose key falls below test_size
    of the hash range to ID-test) keeps the class shares and the test size exact; a row added to
    a class then moves at most the one row at that class's cut. Rows with equal keys (identical
    rows, or a shared ``--id-col`` value) are never cut apart, so no duplicate straddles ID-train
    and ID-test. A class with a single ID row cannot be split; its row goes by its key alone.
    """
    if len(id_rows) < _MIN_ID_ROWS:
        raise TecurateError(
            f"the ID part has only {len(id_rows)} rows (at least {_MIN_ID_ROWS} needed) to split "
            "into ID-train and ID-test; choose other --id-values or add rows"
        )
    _check_lengths(len(keys), codes)
    id_codes, ranks = codes[id_rows], seeded(keys[id_rows], seed)
    in_test = np.zeros(len(id_rows), dtype=bool)
    classes, counts = np.unique(id_codes, return_counts=True)
    for members in (np.flatnonzero(id_codes == c) for c in classes):
        if len(members) == 1:
            in_test[members] = ranks[members] < np.uint64(test_size * 2.0**64)
        else:
            ranked = members[np.lexsort((members, ranks[members]))]
            in_test[ranked[:_cut(ranks[ranked], test_size)]] = True
    notes = ["the ID-train / ID-test split is not stratified for a class with a single ID row: that row "
             "is placed by its hash alone"] if counts.min() == 1 else []
    train, test = id_rows[~in_test], id_rows[in_test]
    if len(np.unique(codes[train])) < 2:
        raise TecurateError(
            "ID-train rows all have one class, so no model can be trained; "
            "choose other --id-values or another shift"
        )
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64), notes


def _cut(ranked_keys: np.ndarray, test_size: float) -> int:
    """How many of a class's rows (sorted seeded keys, 2 or more) go to ID-test.

    round(test_size x n), kept within 1..n-1; a block of equal keys across the cut moves it to
    the block's nearer edge, so equal keys stay together.
    """
    n = len(ranked_keys)
    target = min(max(int(np.floor(test_size * n + 0.5)), 1), n - 1)
    at = ranked_keys[target]
    if ranked_keys[target - 1] != at:
        return target
    start = int(np.searchsorted(ranked_keys, at, side="left"))
    end = int(np.searchsorted(ranked_keys, at, side="right"))
    return start if target - start <= end - target else end


def _check_lengths(n_rows: int, codes: np.ndarray) -> None:
    if len(codes) != n_rows:
        raise ValueError(f"codes has {len(codes)} entries for {n_rows} rows")


def _describe_counts(sizes: dict[str, int]) -> str:
    items = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"'{v}' ({n})" for v, n in items[:_LIST_LIMIT])
    return shown + (f", ... ({len(items) - _LIST_LIMIT} more)" if len(items) > _LIST_LIMIT else "")
