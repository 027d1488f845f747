"""Stage 3: the matched model grid. Raw features, model families, fitting and the fit cache.

The same sampled configuration is fitted on every representation, so a difference between
the fits is due to the representation alone.
"""

from tecurate.grid._features import encode_raw
from tecurate.grid._fitcache import FitCache, array_digest
from tecurate.grid._fitting import (
    FIXED,
    GRIDS,
    ModelConfig,
    build_estimator,
    fit_predict,
    prediction_metrics,
    run_grid,
    sample_configs,
    score,
    validation_split,
)

__all__ = [
    "FIXED",
    "GRIDS",
    "FitCache",
    "ModelConfig",
    "array_digest",
    "build_estimator",
    "encode_raw",
    "fit_predict",
    "prediction_metrics",
    "run_grid",
    "sample_configs",
    "score",
    "validation_split",
]
