"""Gate ``te_collapse_rate``: how many embedding-trained models collapse, on the worst split."""

from __future__ import annotations

from tecurate.analysis._gate import SPLIT, GateContext, GateResult, Rise, gate_threshold, regression_threshold

MAX_COLLAPSE_RATE = gate_threshold("max_collapse_rate", 0.5, "Fail when more te models collapse on a split.")
MAX_COLLAPSE_REGRESSION = regression_threshold("max_collapse_regression",
                                               "Largest allowed rise of a split's te collapse rate.")


class TeCollapseRate:
    name = "te_collapse_rate"
    description = "Share of embedding-trained models that collapse, on the worst split."
    settings = (MAX_COLLAPSE_RATE, MAX_COLLAPSE_REGRESSION)
    watches = (Rise("te_collapse_rate", "te collapse rate",
                    ("summary", "representations", "te", SPLIT, "collapse_rate"),
                    "collapse_rate", MAX_COLLAPSE_REGRESSION),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        per_split = ctx.summary.representations.get("te", {})
        split = max(per_split, key=lambda s: per_split[s].collapse_rate) if per_split else None
        rate = per_split[split].collapse_rate if split else 0.0
        limit = ctx.config.max_collapse_rate
        status = "fail" if rate > limit else "pass"
        return GateResult(self.name, status,
                          f"{rate:.0%} of te models collapse on {split} (limit {limit:.0%})",
                          rate, limit)
