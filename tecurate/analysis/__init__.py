"""Stage 4: what the predictions mean. Metrics, summaries, accuracy- and agreement-on-the-line,
stability over seeds, and the gates that turn it all into a verdict.

Pure functions over arrays and result records: no I/O, no printing.
"""

from tecurate.analysis._agreement import aline_estimates, fit_agreement, pairwise_agreement
from tecurate.analysis._analyze import Analysis, analyze
from tecurate.analysis._aotl import REASONS, SPURIOUS_SETTINGS, AotlFit, SpuriousThresholds, assess_line, fit_aotl
from tecurate.analysis._estimator import Estimator
from tecurate.analysis._estimators import ESTIMATORS
from tecurate.analysis._gate import SPLIT, Flag, Gate, GateContext, GateResult, Rise, Watch
from tecurate.analysis._gate_bounds import REGRESSION_CONFIDENCE, z_score
from tecurate.analysis._gates import GATES, Verdict, decide
from tecurate.analysis._line import LineFit, fit_line, probit
from tecurate.analysis._ood import (
    TECURATE,
    OodModelEstimate,
    OodSplitEstimate,
    estimate_ood,
)
from tecurate.analysis._metrics import (
    SplitMetrics,
    accuracy,
    balanced_accuracy,
    base_rate,
    class_shares,
    is_collapsed,
    lift,
    macro_f1,
    majority_class_rate,
    n_predicted_classes,
    prediction_entropy,
    prediction_shift_tv,
    split_metrics,
)
from tecurate.analysis._records import (
    BASELINE,
    DEFAULT_REPRESENTATIONS,
    REPRESENTATIONS,
    REPRESENTATIONS_SETTING,
    ROUTES,
    GridRun,
    ModelResult,
    PredictionMetrics,
    Route,
    build_features,
    gate_route,
    is_labelled,
    route_gate_name,
)
from tecurate.analysis._stability import STABILITY_GATE, assess_stability, median_seed
from tecurate.analysis._summary import PairedSummary, SplitSummary, Summary, summarize

__all__ = [
    "BASELINE",
    "DEFAULT_REPRESENTATIONS",
    "ESTIMATORS",
    "GATES",
    "REGRESSION_CONFIDENCE",
    "SPLIT",
    "REASONS",
    "REPRESENTATIONS",
    "REPRESENTATIONS_SETTING",
    "ROUTES",
    "SPURIOUS_SETTINGS",
    "STABILITY_GATE",
    "Analysis",
    "AotlFit",
    "Estimator",
    "Flag",
    "Gate",
    "GateContext",
    "GateResult",
    "GridRun",
    "LineFit",
    "ModelResult",
    "OodModelEstimate",
    "OodSplitEstimate",
    "PairedSummary",
    "PredictionMetrics",
    "Rise",
    "Route",
    "SplitMetrics",
    "SplitSummary",
    "TECURATE",
    "SpuriousThresholds",
    "Summary",
    "Verdict",
    "Watch",
    "accuracy",
    "aline_estimates",
    "analyze",
    "assess_line",
    "assess_stability",
    "balanced_accuracy",
    "base_rate",
    "build_features",
    "class_shares",
    "decide",
    "estimate_ood",
    "fit_agreement",
    "fit_aotl",
    "fit_line",
    "is_collapsed",
    "is_labelled",
    "lift",
    "macro_f1",
    "majority_class_rate",
    "median_seed",
    "n_predicted_classes",
    "pairwise_agreement",
    "prediction_entropy",
    "prediction_shift_tv",
    "probit",
    "gate_route",
    "route_gate_name",
    "split_metrics",
    "summarize",
    "z_score",
]
