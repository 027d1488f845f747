"""Gate ``te_only_collapse``: matched pairs where only the embedding route collapsed.

The share is of a few dozen pairs, so the gate fails only when its lower confidence bound (Wilson)
exceeds the limit: one or two borderline configurations flipping with the split do not fail it.
"""

from __future__ import annotations

from tecurate.analysis._gate import SPLIT, GateContext, GateResult, Rise, gate_threshold, regression_threshold
from tecurate.analysis._gate_bounds import te_only_bounds, wilson, z_score

MAX_TE_ONLY_COLLAPSE_RATE = gate_threshold(
    "max_te_only_collapse_rate", 0.3, "Fail when the share of matched pairs that collapse on te only exceeds "
    "this (lower confidence bound); any is a warning.")
MAX_TE_ONLY_REGRESSION = regression_threshold("max_te_only_regression",
                                              "Largest allowed rise of a split's te-only collapse rate.")


class TeOnlyCollapse:
    name = "te_only_collapse"
    description = ("Share of matched pairs where the embedding model collapsed and the raw model "
                   "with the same configuration did not; any is a warning, a lower confidence bound "
                   "above the limit a failure.")
    settings = (MAX_TE_ONLY_COLLAPSE_RATE, MAX_TE_ONLY_REGRESSION)
    per_route = True
    watches = (Rise("te_only_collapse_rate", "te-only collapse rate",
                    ("summary", "paired", SPLIT, "te_only_collapse_rate"),
                    "te_only_collapse_rate", MAX_TE_ONLY_REGRESSION, bounds=te_only_bounds,
                    spread=("te_only_collapse_rate", None)),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        paired = ctx.paired
        limit = ctx.config.max_te_only_collapse_rate
        if not paired:
            return GateResult(self.name, "pass", "no matched pairs to compare", 0.0, limit)
        z = z_score(ctx.config.gate_confidence)
        low = {split: wilson(p.n_te_only, p.n_pairs, z)[0] for split, p in paired.items()}
        split = max(paired, key=lambda s: (low[s], paired[s].te_only_collapse_rate))
        rate = paired[split].te_only_collapse_rate
        status = "fail" if low[split] > limit + 1e-12 else "warn" if rate > 0 else "pass"
        return GateResult(self.name, status,
                          f"{ctx.route}-only collapse in {rate:.0%} of matched pairs on {split} "
                          f"(lower bound {low[split]:.0%}, limit {limit:.0%})", low[split], limit)
