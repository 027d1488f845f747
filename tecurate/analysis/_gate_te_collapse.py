"""Gate ``te_collapse_rate``: how much more often embedding models collapse than raw ones, same configurations.

The grid's aggressive corners collapse on raw features too (30–60% of raw models on real tables,
validation/RESULTS.md §5), so an absolute limit on the te collapse rate failed every real dataset:
it measured the grid, not the embedding. The gate holds the *excess* te collapse rate − raw
collapse rate over matched pairs (the same configuration on both routes) to its limit, and only
its lower confidence bound (:func:`paired_excess`), so a few borderline configurations flipping
with the split do not fail an audit.
"""

from __future__ import annotations

from tecurate.analysis._gate import SPLIT, GateContext, GateResult, Rise, gate_threshold, regression_threshold
from tecurate.analysis._gate_bounds import GATE_CONFIDENCE, excess_bounds, paired_excess, z_score

MAX_COLLAPSE_RATE = gate_threshold(
    "max_collapse_rate", 0.05, "Fail when te models collapse more often than raw models with the same "
    "configurations by more than this, on some split (lower confidence bound of the excess).")
MAX_COLLAPSE_REGRESSION = regression_threshold(
    "max_collapse_regression", "Largest allowed rise of a split's excess collapse rate te - raw.")


class TeCollapseRate:
    name = "te_collapse_rate"
    description = ("Excess collapse of the embedding route: te collapse rate minus raw collapse rate over "
                   "the same configurations, on the worst split; fails when its lower confidence bound "
                   "exceeds the limit.")
    settings = (MAX_COLLAPSE_RATE, MAX_COLLAPSE_REGRESSION, GATE_CONFIDENCE)
    per_route = True
    watches = (Rise("te_collapse_rate", "excess collapse rate te - raw",
                    ("summary", "paired", SPLIT, "excess_collapse_rate"),
                    "collapse_rate", MAX_COLLAPSE_REGRESSION, bounds=excess_bounds,
                    spread=("excess_collapse_rate", None)),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        z = z_score(ctx.config.gate_confidence)
        bounds = {split: paired_excess(p.n_te_only, p.n_raw_only, p.n_pairs, z)
                  for split, p in ctx.paired.items()}
        limit = ctx.config.max_collapse_rate
        if not bounds:
            return GateResult(self.name, "pass", "no matched pairs to compare", 0.0, limit)
        split = max(bounds, key=lambda s: (bounds[s][1], bounds[s][0]))
        excess, low, _ = bounds[split]
        te = ctx.summary.representations[ctx.route][split].collapse_rate
        raw = ctx.summary.representations["raw"][split].collapse_rate
        status = "fail" if low > limit + 1e-12 else "pass"
        return GateResult(self.name, status,
                          f"{ctx.route} models collapse {100 * excess:+.0f} points more often than raw ones on {split} "
                          f"({te:.0%} vs {raw:.0%}; lower bound {100 * low:+.0f}, limit {100 * limit:.0f} points)",
                          low, limit)
