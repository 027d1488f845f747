"""Curation of the text route: small, deterministic operations on the feature columns before
they become text (round numbers, bin them into quantile words, describe column names, drop
identifiers, order columns by importance, mark missing values).

Each operation is fitted on ID-train only and applied identically to every row; the raw route
never sees a curation. ``curations`` on ``audit`` (default ``none``) names one; ``sweep``
compares several.
"""

from tecurate.curation._chain import NONE, OPERATIONS, Chain, Curated, curate, parse_curation
from tecurate.curation._describe import humanize, read_descriptions
from tecurate.curation._drop_ids import is_identifier
from tecurate.curation._operation import CURATIONS, Description, FitContext, Fitted, Operation
from tecurate.curation._table import TextTable

__all__ = [
    "CURATIONS",
    "NONE",
    "OPERATIONS",
    "Chain",
    "Curated",
    "Description",
    "FitContext",
    "Fitted",
    "Operation",
    "TextTable",
    "curate",
    "humanize",
    "is_identifier",
    "parse_curation",
    "read_descriptions",
]
