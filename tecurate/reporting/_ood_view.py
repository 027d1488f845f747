"""What the terminal and the HTML page show of ``ood_estimates``: one pure view, two renderers.

An estimator × (route, split) table of mean absolute errors where the OOD rows have labels, and,
where they have none, tecurate's estimate with its interval for the few best healthy models.
Strings come back raw; each renderer escapes them its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tecurate.analysis import ESTIMATORS

BEST = 3
"""Models shown per route and unlabelled split."""


def label(name: str) -> str:
    """An estimator's short name; ``tecurate`` and names a newer tecurate wrote stay as they are."""
    return ESTIMATORS[name].label if name in ESTIMATORS else name


def mae_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header (``estimator``, then ``route split`` per labelled split) and one row per estimator,
    MAE in accuracy points; empty when no split has labels."""
    columns = [(rep, split, fit["mae_pp"]) for rep, fits in (report.get("ood_estimates") or {}).items()
               for split, fit in fits.items() if fit.get("mae_pp")]
    if not columns:
        return [], []
    names = list(dict.fromkeys(name for _, _, mae in columns for name in mae))
    rows = [[label(name), *("-" if mae.get(name) is None else f"{mae[name]:.1f}" for _, _, mae in columns)]
            for name in names]
    return ["estimator (MAE, pp)", *(f"{rep} {split}" for rep, split, _ in columns)], rows


def best_estimates(report: Mapping[str, Any]) -> list[list[str]]:
    """Rows (route, split, model, estimate, interval) for the best healthy models of each unlabelled split."""
    rows = []
    for rep, fits in (report.get("ood_estimates") or {}).items():
        for split, fit in fits.items():
            if fit.get("mae_pp") is not None:
                continue
            healthy = sorted((e for e in fit["estimates"] if not e["collapsed"]), key=lambda e: -e["estimate"])
            rows += [[rep, split, e["config_id"], f"{e['estimate']:.3f}", f"{e['low']:.3f}–{e['high']:.3f}"]
                     for e in healthy[:BEST]]
    return rows
