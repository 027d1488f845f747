"""Accuracy-on-the-line fits and tecurate's test for a spurious line.

Accuracy on the line (Miller et al. 2021): across many models, probit(ID accuracy) and
probit(OOD accuracy) tend to lie on a line, so ID accuracy predicts OOD accuracy. A model that
collapses to class c scores π_c on every split, so collapsed models pile up at the *base-rate
point* (π_ID[c], π_OOD[c]). A few such points far from the healthy cloud can manufacture a strong
correlation on their own (Mattioli et al., arXiv 2506.17989). We therefore fit every line twice,
over all models and over healthy (non-collapsed) models only, and compare.

The paper publishes no formula for "spurious"; the following definition is OURS. Reason codes
(each a small rule class, all registered in ``REASONS``):

- ``collapse_inflated``: collapsed points are at least ``min_collapsed_share`` of all points and
  R²(all) − R²(healthy) ≥ ``min_r2_drop`` (an undefined healthy R² counts as 0, provided R²(all)
  is defined).
- ``healthy_uncorrelated``: the healthy fit has at least ``min_healthy`` points and the bootstrap
  CI of its Pearson r includes 0.
- ``insufficient_healthy``: fewer than ``min_healthy`` healthy points.

A fit is **spurious** when collapse is what makes it look good:

- ``collapse_inflated`` applies and the collapsed points are not explained by the healthy line:
  the healthy models cannot confirm a line (``healthy_uncorrelated`` or ``insufficient_healthy``),
  or the collapsed points' mean lies more than ``OFF_LINE_Z`` prediction standard errors off the
  healthy line (``collapsed_residual_z``; undefined counts as off). Collapsed models of a
  balanced task sit at the chance point (0.5, 0.5), which genuine lines often pass through (Miller
  et al.): they then stretch the x-range and inflate R² without faking or bending the line, and
  the R² rule alone calls every such planted genuine line spurious (validation/RESULTS.md);
- or some point is collapsed, the all-models fit looks good (p < ``alpha`` and r > 0), looks
  better than the healthy fit (R²(all) > R²(healthy), or no healthy fit exists) and the healthy
  models cannot confirm it (``healthy_uncorrelated`` or ``insufficient_healthy``).

Hence a genuine line without collapse is never spurious, and a flat healthy cloud without
collapse lists ``healthy_uncorrelated`` (AotL simply does not hold) without being called
spurious: nothing collapsed was dressing it up.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from tecurate.analysis._line import LineFit, fit_line, probit
from tecurate.analysis._metrics import SplitMetrics
from tecurate.analysis._records import REPRESENTATIONS, ModelResult, is_labelled
from tecurate.data import ID_TEST
from tecurate.errors import TecurateError
from tecurate.settings import Setting

if TYPE_CHECKING:
    from tecurate.config import AuditConfig

__all__ = [
    "OFF_LINE_Z",
    "REASONS",
    "AotlFit",
    "CollapseInflated",
    "HealthyUncorrelated",
    "InsufficientHealthy",
    "Reason",
    "ReasonContext",
    "SpuriousThresholds",
    "assess_line",
    "fit_aotl",
]

OFF_LINE_Z = 2.5
"""Collapsed points whose mean lies more than this many prediction standard errors from the healthy
line are off it: the healthy models do not explain them."""

SPURIOUS_SETTINGS: tuple[Setting, ...] = (
    Setting("probit_eps", 1e-3, "Accuracies are clipped to [eps, 1-eps] before the probit.", "spurious",
            kind="float", low=0.0, high=0.5, open_low=True, open_high=True),
    Setting("n_bootstrap", 1000, "Bootstrap resamples for the CI of r.", "spurious", kind="int", low=0),
    Setting("min_collapsed_share", 0.10, "collapse_inflated needs at least this share of collapsed points.",
            "spurious", kind="float", low=0.0, high=1.0),
    Setting("min_r2_drop", 0.20, "collapse_inflated needs R²(all) - R²(healthy) of at least this.", "spurious",
            kind="float", low=0.0, high=1.0),
    Setting("min_healthy", 5, "Fewer healthy models than this: insufficient_healthy.", "spurious",
            kind="int", low=3),
)
"""The spurious test's knobs; they join the settings table (:mod:`tecurate.config`)."""
_THRESHOLDS = {s.name: s for s in SPURIOUS_SETTINGS if s.name in ("min_collapsed_share", "min_r2_drop",
                                                                    "min_healthy")}


@dataclass(frozen=True)
class SpuriousThresholds:
    """Knobs of the spurious test; the config (echoed in the report) holds them, so a verdict can
    be reproduced. Their defaults and bounds are the settings table's."""

    min_collapsed_share: float
    min_r2_drop: float
    min_healthy: int
    alpha: float = 0.05

    def __post_init__(self) -> None:
        # These come from user flags, so a bad value is the user's to fix (exit 2, not a crash).
        for name, setting in _THRESHOLDS.items():
            setting.check(getattr(self, name))
        if not 0.0 < self.alpha < 1.0:
            raise TecurateError(f"alpha must be in (0, 1), got {self.alpha}")

    @classmethod
    def from_config(cls, config: AuditConfig) -> SpuriousThresholds:
        """The thresholds an audit with ``config`` applies."""
        return cls(**{name: getattr(config, name) for name in _THRESHOLDS})


@dataclass(frozen=True)
class ReasonContext:
    """Everything a reason rule may look at for one (representation, OOD split) line."""

    all: LineFit
    healthy: LineFit
    n_collapsed: int
    collapsed_share: float
    thresholds: SpuriousThresholds
    collapsed_residual_z: float | None = None


class Reason(Protocol):
    """One named rule of the spurious test."""

    code: str
    description: str

    def applies(self, ctx: ReasonContext) -> bool: ...


class CollapseInflated:
    code = "collapse_inflated"
    description = (
        "Collapsed models are a sizeable share of the points and removing them costs the line "
        "much of its R²: the correlation is carried by collapse."
    )

    def applies(self, ctx: ReasonContext) -> bool:
        if ctx.all.r2 is None:
            return False
        healthy_r2 = 0.0 if ctx.healthy.r2 is None else ctx.healthy.r2
        return (
            ctx.collapsed_share >= ctx.thresholds.min_collapsed_share
            and ctx.all.r2 - healthy_r2 >= ctx.thresholds.min_r2_drop
        )


class HealthyUncorrelated:
    code = "healthy_uncorrelated"
    description = (
        "Among non-collapsed models the bootstrap CI of r includes 0: ID accuracy does not "
        "predict OOD accuracy for them."
    )

    def applies(self, ctx: ReasonContext) -> bool:
        ci = ctx.healthy.r_ci
        enough = ctx.healthy.n >= ctx.thresholds.min_healthy
        return enough and ci is not None and ci[0] <= 0.0 <= ci[1]


class InsufficientHealthy:
    code = "insufficient_healthy"
    description = "Too few non-collapsed models to check the line without collapsed ones."

    def applies(self, ctx: ReasonContext) -> bool:
        return ctx.healthy.n < ctx.thresholds.min_healthy


REASONS: tuple[Reason, ...] = (CollapseInflated(), HealthyUncorrelated(), InsufficientHealthy())
"""Every rule of the spurious test, in the order their codes are reported."""


def _is_spurious(ctx: ReasonContext, codes: set[str]) -> bool:
    """See the module docstring: collapse must be what makes the line look good."""
    unconfirmed = bool(codes & {HealthyUncorrelated.code, InsufficientHealthy.code})
    if CollapseInflated.code in codes:
        z = ctx.collapsed_residual_z
        return unconfirmed or z is None or z > OFF_LINE_Z
    fit = ctx.all
    looks_good = (
        fit.p_value is not None
        and fit.r is not None
        and fit.p_value < ctx.thresholds.alpha
        and fit.r > 0
    )
    healthy_r2 = ctx.healthy.r2
    better_with_collapse = healthy_r2 is None or (fit.r2 is not None and fit.r2 > healthy_r2)
    return ctx.n_collapsed > 0 and looks_good and better_with_collapse and unconfirmed


@dataclass(frozen=True)
class AotlFit:
    """The AotL line for one representation and OOD split, and whether collapse fakes it."""

    all: LineFit
    healthy: LineFit
    n_collapsed: int
    collapsed_share: float
    base_rate_point: dict[str, Any] | None
    """{"class": code, "id": π_ID[code], "ood": π_OOD[code]}: where collapsed models sit."""
    collapsed_residual_z: float | None
    """Distance of the collapsed points' mean from the healthy line, in prediction standard errors;
    None when nothing collapsed or the healthy line is undefined."""
    spurious: bool
    reasons: tuple[str, ...]
    """Codes of every rule in ``REASONS`` that applies, in registry order."""


def _collapsed_residual_z(x: np.ndarray, y: np.ndarray, collapsed: np.ndarray) -> float | None:
    """|mean collapsed y − healthy line at mean collapsed x| / prediction SE (OLS, probit axes).

    The SE is that of one new observation, s·√(1 + 1/n + (x_c − x̄)²/Sxx): far extrapolation
    from a narrow healthy cloud is uncertain, and that must not read as "off the line".
    """
    xh, yh = x[~collapsed], y[~collapsed]
    if not collapsed.any() or xh.size < 3 or np.all(xh == xh[0]):
        return None
    slope, intercept = np.polyfit(xh, yh, 1)
    residual = yh - (slope * xh + intercept)
    s = float(np.sqrt(residual @ residual / (xh.size - 2)))
    xc, yc = float(x[collapsed].mean()), float(y[collapsed].mean())
    gap = abs(yc - (slope * xc + intercept))
    se = s * np.sqrt(1.0 + 1.0 / xh.size + (xc - xh.mean()) ** 2 / float(((xh - xh.mean()) ** 2).sum()))
    if se == 0.0:
        return 0.0 if gap == 0.0 else float("inf")
    return float(gap / se)


def assess_line(
    acc_id: ArrayLike,
    acc_ood: ArrayLike,
    collapsed: ArrayLike,
    *,
    base_rate_point: dict[str, Any] | None = None,
    thresholds: SpuriousThresholds,
    eps: float,
    n_bootstrap: int,
    seed: int = 0,
) -> AotlFit:
    """Fit all points and healthy points, then apply every rule in ``REASONS``."""
    ids = np.asarray(acc_id, dtype=float)
    oods = np.asarray(acc_ood, dtype=float)
    mask = np.asarray(collapsed, dtype=bool)
    if mask.ndim != 1 or mask.shape != ids.shape or mask.shape != oods.shape:
        raise ValueError(
            f"acc_id, acc_ood and collapsed must be 1-D of equal length: "
            f"{ids.shape}, {oods.shape}, {mask.shape}"
        )
    if mask.size == 0:
        raise ValueError("no points to fit")
    options = {"eps": eps, "n_bootstrap": n_bootstrap, "seed": seed}
    n_collapsed = int(mask.sum())
    ctx = ReasonContext(
        all=fit_line(ids, oods, **options),
        healthy=fit_line(ids[~mask], oods[~mask], **options),
        n_collapsed=n_collapsed,
        collapsed_share=n_collapsed / mask.size,
        thresholds=thresholds,
        collapsed_residual_z=_collapsed_residual_z(probit(ids, eps), probit(oods, eps), mask),
    )
    codes = tuple(reason.code for reason in REASONS if reason.applies(ctx))
    return AotlFit(
        all=ctx.all,
        healthy=ctx.healthy,
        n_collapsed=ctx.n_collapsed,
        collapsed_share=ctx.collapsed_share,
        base_rate_point=base_rate_point,
        collapsed_residual_z=ctx.collapsed_residual_z,
        spurious=_is_spurious(ctx, set(codes)),
        reasons=codes,
    )


def _base_rate_point(
    id_metrics: Sequence[SplitMetrics],
    collapsed: np.ndarray,
    shares_id: np.ndarray,
    shares_ood: np.ndarray,
) -> dict[str, Any]:
    """The class collapsed models mostly predict on id_test (else the ID majority class)."""
    if collapsed.any():
        votes = [
            int(np.argmax(m.predicted_distribution))
            for m, c in zip(id_metrics, collapsed, strict=True)
            if c
        ]
        cls = int(np.argmax(np.bincount(votes)))  # argmax picks the lowest code on ties
    else:
        cls = int(np.argmax(shares_id))
    return {"class": cls, "id": float(shares_id[cls]), "ood": float(shares_ood[cls])}


def _derive_seed(seed: int, *names: str) -> int:
    """Per-fit seed from the run seed and stable names: adding a split changes no other fit."""
    keys = [zlib.crc32(name.encode("utf-8")) for name in names]
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def fit_aotl(
    models: Sequence[ModelResult],
    class_shares_by_split: dict[str, np.ndarray],
    *,
    thresholds: SpuriousThresholds,
    eps: float,
    n_bootstrap: int,
    seed: int,
) -> dict[str, dict[str, AotlFit]]:
    """``[representation][ood_split]`` AotL fits over models evaluated on id_test and that split.

    Unlabelled OOD splits have no accuracy, hence no line (agreement-on-the-line estimates them).
    A point counts as collapsed when its model collapsed on id_test or on the OOD split, since
    either end pinned to a base rate distorts the line. ``class_shares_by_split`` holds the true
    class shares π of each split (length K), used to place the base-rate point.
    """
    fits: dict[str, dict[str, AotlFit]] = {}
    for rep in REPRESENTATIONS:
        rep_models = [m for m in models if m.representation == rep and ID_TEST in m.splits]
        ood_splits = dict.fromkeys(s for m in rep_models for s, metrics in m.splits.items()
                                   if s != ID_TEST and is_labelled(metrics))
        for split in ood_splits:
            for needed in (ID_TEST, split):
                if needed not in class_shares_by_split:
                    raise ValueError(f"class_shares_by_split has no entry for split {needed!r}")
            pairs = [(m.splits[ID_TEST], m.splits[split]) for m in rep_models if split in m.splits]
            collapsed = np.array([i.collapsed or o.collapsed for i, o in pairs])
            point = _base_rate_point(
                [i for i, _ in pairs],
                collapsed,
                np.asarray(class_shares_by_split[ID_TEST]),
                np.asarray(class_shares_by_split[split]),
            )
            fits.setdefault(rep, {})[split] = assess_line(
                [i.accuracy for i, _ in pairs],
                [o.accuracy for _, o in pairs],
                collapsed,
                base_rate_point=point,
                thresholds=thresholds,
                eps=eps,
                n_bootstrap=n_bootstrap,
                seed=_derive_seed(seed, rep, split),
            )
    return fits
