"""Gate ``truncation``: texts longer than the model reads, so their last columns are never embedded.

A model that reads 256 tokens silently cuts the rest; on a wide table the embedding then sees only
the first columns. Any cut text is a warning by default (the audit is still valid for what the
model saw); a failure only above ``--fail-truncated-share``. An embedder that does not say how
many tokens it reads (a test fake, a remote model) passes as unknown.
"""

from __future__ import annotations

from tecurate.analysis._gate import GateContext, GateResult, gate_threshold
from tecurate.embedding import describe_truncation
from tecurate.settings import Setting

MAX_TRUNCATED_SHARE = gate_threshold(
    "max_truncated_share", 0.0, "Warn when more than this share of the distinct texts is longer than the "
    "embedding model reads (cut, so its last columns are never embedded).")
FAIL_TRUNCATED_SHARE = Setting(
    "fail_truncated_share", None, "Fail when more than this share of the distinct texts is cut by the "
    "model's token limit.", "gates", kind="float", optional=True, low=0.0, high=1.0, shown_default="never")


class TruncationGate:
    name = "truncation"
    description = ("Share of the distinct texts longer than the embedding model reads: their columns past "
                   "the cut are never embedded. Any is a warning; a failure only above a set share.")
    settings = (MAX_TRUNCATED_SHARE, FAIL_TRUNCATED_SHARE)
    watches = ()
    per_route = False

    def evaluate(self, ctx: GateContext) -> GateResult:
        limit = ctx.config.max_truncated_share
        truncation = ctx.truncation
        if truncation is None:
            return GateResult(self.name, "pass", "unknown: the embedder does not say how many tokens it reads",
                              None, limit)
        share = truncation.share_truncated
        if truncation.n_truncated == 0:
            return GateResult(self.name, "pass", f"every text fits the model's {truncation.max_tokens} tokens "
                              f"(longest {truncation.tokens.get('max', 0)})", share, limit)
        fail = ctx.config.fail_truncated_share
        status = ("fail" if fail is not None and share > fail + 1e-12
                  else "warn" if share > limit + 1e-12 else "pass")
        return GateResult(self.name, status, describe_truncation(truncation), share,
                          fail if status == "fail" else limit)
