"""Stage 3: the matched model grid. Raw features, model families, fitting and the fit cache.

The same sampled configuration is fitted on every representation, so a difference between
the fits is due to the representation alone. Model families are specs in one registry,
:data:`FAMILIES`: register a :class:`Family` and ``--families`` accepts its name.
"""

from tecurate.grid._design import design_record
from tecurate.grid._families import FAMILIES, default_families
from tecurate.grid._family import Family
from tecurate.grid._features import encode_raw
from tecurate.grid._fitcache import FitCache, array_digest
from tecurate.grid._fitting import (
    MAX_SEED,
    FitMany,
    Fitted,
    ModelConfig,
    fit_predict,
    fit_rows,
    prediction_metrics,
    run_grid,
    sample_configs,
    validation_split,
)
from tecurate.grid._leakage import Leak, find_leaks

__all__ = [
    "FAMILIES",
    "Family",
    "FitCache",
    "FitMany",
    "Fitted",
    "Leak",
    "MAX_SEED",
    "ModelConfig",
    "array_digest",
    "default_families",
    "design_record",
    "encode_raw",
    "find_leaks",
    "fit_predict",
    "fit_rows",
    "prediction_metrics",
    "run_grid",
    "sample_configs",
    "validation_split",
]
