"""Gate ``accuracy_gap``: ID accuracy the embedding route loses against the raw route."""

from __future__ import annotations

from tecurate.analysis._gate import SPLIT, GateContext, GateResult, Rise, gate_threshold, regression_threshold
from tecurate.data import ID_TEST

MAX_ACCURACY_GAP = gate_threshold("max_accuracy_gap", 0.10,
                                  "Warn when median ID accuracy raw - te exceeds this.")
MAX_GAP_REGRESSION = regression_threshold(
    "max_gap_regression", "Largest allowed rise of a split's median accuracy gap raw - te.")


class AccuracyGap:
    name = "accuracy_gap"
    description = "Median ID accuracy lost by the embedding route against the raw route (warning only)."
    settings = (MAX_ACCURACY_GAP, MAX_GAP_REGRESSION)
    per_route = True
    watches = (Rise("accuracy_gap", "median accuracy gap raw - te",
                    ("summary", "paired", SPLIT, "median_accuracy_gap"),
                    "accuracy_gap", MAX_GAP_REGRESSION, percent=False),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        paired = ctx.paired.get(ID_TEST)
        gap = paired.median_accuracy_gap if paired else 0.0
        limit = ctx.config.max_accuracy_gap
        status = "warn" if gap > limit else "pass"
        return GateResult(self.name, status,
                          f"median ID accuracy gap raw - {ctx.route} is {gap:+.3f} (limit {limit:.3f})",
                          gap, limit)
