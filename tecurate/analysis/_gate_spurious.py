"""Gate ``spurious_aotl``: accuracy-on-the-line made by collapsed models (see ``_aotl``)."""

from __future__ import annotations

from tecurate.analysis._gate import Flag, GateContext, GateResult


class SpuriousAotl:
    name = "spurious_aotl"
    description = ("Accuracy-on-the-line flagged as spurious (made by collapsed models). A failure when "
                   "only the embedding route's line is spurious on a split; a warning when the raw "
                   "route's is too (then the grid, not the embeddings, produced the collapse).")
    settings = ()
    watches = (Flag("spurious_aotl", "accuracy-on-the-line", ("aotl",), "spurious", "reasons"),)

    def evaluate(self, ctx: GateContext) -> GateResult:
        flagged = {rep: {split for split, fit in fits.items() if fit.spurious}
                   for rep, fits in ctx.aotl.items()}
        te, raw = flagged.get("te", set()), flagged.get("raw", set())
        te_only = sorted(te - raw)
        if te_only:
            status, message = "fail", f"spurious te accuracy-on-the-line on {', '.join(te_only)}"
        elif te or raw:
            status, message = "warn", ("spurious accuracy-on-the-line on "
                                       + ", ".join(f"{rep} {split}" for rep in ("te", "raw")
                                                   for split in sorted(flagged.get(rep, ()))))
        else:
            status, message = "pass", "no accuracy-on-the-line fit is flagged as spurious"
        return GateResult(self.name, status, message, float(len(te_only)), 0.0)
