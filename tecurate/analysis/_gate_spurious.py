"""Gate ``spurious_aotl``: accuracy-on-the-line made by collapsed models (see ``_aotl``).

One line's spurious flag rests on a few dozen points, most of them collapsed on the te route, so
it flipped with the split on 6 of 20 real-data seeds (validation/RESULTS.md §5). The gate asks
instead how often the flag holds when the grid is resampled: the matched configurations are
drawn with replacement (the same ones on both routes), each line is re-assessed, and a line
counts as spurious when it is in more than ``spurious_support`` of the resamples. A flag that one
or two configurations make or break does not decide the verdict; the report's ``aotl`` section
still shows the flag of the line as fitted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from tecurate.analysis._aotl import SpuriousThresholds, assess_line
from tecurate.analysis._gate import Flag, GateContext, GateResult, gate_threshold
from tecurate.analysis._records import BASELINE, ModelResult
from tecurate.data import ID_TEST
from tecurate.settings import Setting

SPURIOUS_SUPPORT = gate_threshold(
    "spurious_support", 0.85, "A line counts as spurious for the gate when it is in more than this share of "
    "the grid's resamples.")
SPURIOUS_RESAMPLES = Setting("spurious_resamples", 50, "Resamples of the matched configurations behind the "
                             "spurious gate (0: the fitted lines' flags decide).", "gates", kind="int", low=0)
_INNER_BOOTSTRAP = 50
"""Bootstrap resamples of the CI of r inside each resampled line (the line's own test uses
``n_bootstrap``): the resampled grids already spread the flag, and 50 keep the gate cheap."""


def _points(models: Sequence[ModelResult], split: str,
            routes: Collection[str]) -> dict[str, dict[tuple[str, str], tuple[float, float, bool]]]:
    """(ID accuracy, OOD accuracy, collapsed) of each configuration per route, as ``fit_aotl`` takes them."""
    points: dict[str, dict[tuple[str, str], tuple[float, float, bool]]] = {}
    for m in models:
        if m.representation in routes and ID_TEST in m.splits and split in m.splits:
            i, o = m.splits[ID_TEST], m.splits[split]
            points.setdefault(m.representation, {})[(m.family, m.config_id)] = (
                i.accuracy, o.accuracy, i.collapsed or o.collapsed)  # type: ignore[union-attr]
    return points


def spurious_support(ctx: GateContext, split: str, resamples: int) -> dict[str, float]:
    """Share of resampled grids in which each route's line on ``split`` is spurious (``ctx.route``'s
    and raw's: the configurations are drawn from those they share)."""
    routes = (ctx.route, BASELINE)
    points = _points(ctx.models, split, routes)
    keys = sorted(set.intersection(*(set(p) for p in points.values()))) if points else []
    if not keys or not resamples:
        return {rep: float(fits[split].spurious) for rep, fits in ctx.aotl.items() if split in fits and rep in routes}
    rng = np.random.default_rng([ctx.config.seed, len(keys), resamples])
    draws = rng.integers(0, len(keys), size=(resamples, len(keys)))
    thresholds = SpuriousThresholds.from_config(ctx.config)
    support = {}
    for rep, by_key in points.items():
        arr = np.array([by_key[k] for k in keys], dtype=float)
        flagged = [assess_line(arr[d, 0], arr[d, 1], arr[d, 2].astype(bool), thresholds=thresholds,
                               eps=ctx.config.probit_eps, n_bootstrap=_INNER_BOOTSTRAP, seed=b).spurious
                   for b, d in enumerate(draws)]
        support[rep] = float(np.mean(flagged))
    return support


class SpuriousAotl:
    name = "spurious_aotl"
    description = ("Accuracy-on-the-line flagged as spurious (made by collapsed models) in most resamples of "
                   "the grid. A failure when only the embedding route's line is spurious on a split; a "
                   "warning when the raw route's is too (then the grid, not the embeddings, produced the "
                   "collapse).")
    settings = (SPURIOUS_SUPPORT, SPURIOUS_RESAMPLES)
    per_route = True
    watches = (Flag("spurious_aotl", "accuracy-on-the-line", ("aotl",), "spurious", "reasons",
                    gate="spurious_aotl", spread="spurious"),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        need = ctx.config.spurious_support
        routes = (ctx.route, BASELINE)
        splits = dict.fromkeys(split for rep, fits in ctx.aotl.items() if rep in routes for split in fits)
        support = {split: spurious_support(ctx, split, ctx.config.spurious_resamples) for split in splits}
        flagged = {rep: {split for split in splits if support[split].get(rep, 0.0) > need} for rep in routes}
        te_only = sorted(flagged[ctx.route] - flagged[BASELINE])
        shown = ", ".join(f"{rep} {split} ({support[split][rep]:.0%})" for rep in routes
                          for split in sorted(flagged[rep]))
        if te_only:
            status = "fail"
            message = (f"spurious {ctx.route} accuracy-on-the-line on {', '.join(te_only)} "
                       f"(share of resampled grids: {shown}; needs more than {need:.0%})")
        elif shown:
            status, message = "warn", f"spurious accuracy-on-the-line on {shown} of resampled grids"
        else:
            status, message = "pass", (f"no accuracy-on-the-line fit is spurious in more than {need:.0%} of resampled grids")
        return GateResult(self.name, status, message, float(len(te_only)), 0.0)
