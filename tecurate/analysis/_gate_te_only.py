"""Gate ``te_only_collapse``: matched pairs where only the embedding route collapsed."""

from __future__ import annotations

from tecurate.analysis._gate import SPLIT, GateContext, GateResult, Rise, gate_threshold, regression_threshold

MAX_TE_ONLY_COLLAPSE_RATE = gate_threshold(
    "max_te_only_collapse_rate", 0.2, "Fail when more matched pairs collapse on te only; any is a warning.")
MAX_TE_ONLY_REGRESSION = regression_threshold("max_te_only_regression",
                                              "Largest allowed rise of a split's te-only collapse rate.")


class TeOnlyCollapse:
    name = "te_only_collapse"
    description = ("Share of matched pairs where the embedding model collapsed and the raw model "
                   "with the same configuration did not; any is a warning, above the limit a failure.")
    settings = (MAX_TE_ONLY_COLLAPSE_RATE, MAX_TE_ONLY_REGRESSION)
    watches = (Rise("te_only_collapse_rate", "te-only collapse rate",
                    ("summary", "paired", SPLIT, "te_only_collapse_rate"),
                    "te_only_collapse_rate", MAX_TE_ONLY_REGRESSION),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        paired = ctx.summary.paired
        split = max(paired, key=lambda s: paired[s].te_only_collapse_rate) if paired else None
        rate = paired[split].te_only_collapse_rate if split else 0.0
        limit = ctx.config.max_te_only_collapse_rate
        status = "fail" if rate > limit else "warn" if rate > 0 else "pass"
        return GateResult(self.name, status,
                          f"te-only collapse in {rate:.0%} of matched pairs on {split} "
                          f"(limit {limit:.0%})", rate, limit)
