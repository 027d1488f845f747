"""tecurate: audit the curation quality of text embeddings of tabular data.

>>> from tecurate import AuditConfig, audit
>>> report = audit("data.csv", AuditConfig(target="y", shift_col="region"))  # doctest: +SKIP
>>> report.verdict.status  # doctest: +SKIP
'fail'
"""

__version__ = "0.1.0"

from tecurate.analysis import Analysis, analyze
from tecurate.config import AuditConfig
from tecurate.errors import TecurateError
from tecurate.pipeline import audit
from tecurate.reporting import AuditReport

__all__ = ["Analysis", "AuditConfig", "AuditReport", "TecurateError", "__version__", "analyze", "audit"]
