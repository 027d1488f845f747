"""tecurate: audit the curation quality of text embeddings of tabular data.

>>> import tecurate
>>> report = tecurate.audit("data.csv", target="y", shift_col="region")  # doctest: +SKIP
>>> report.verdict.status  # doctest: +SKIP
'fail'

``data`` may also be a pandas or polars DataFrame or a pyarrow Table, and the settings an
:class:`AuditConfig`. In a notebook the report displays itself; ``report.models_frame()`` is the
model table as a DataFrame, ``report.save(path)`` / ``AuditReport.load(path)`` the JSON file.
"""

__version__ = "0.1.0"

from tecurate.analysis import Analysis, analyze
from tecurate.config import AuditConfig
from tecurate.errors import TecurateError
from tecurate.pipeline import audit
from tecurate.reporting import AuditReport
from tecurate.sweeps import sweep

__all__ = ["Analysis", "AuditConfig", "AuditReport", "TecurateError", "__version__", "analyze", "audit", "sweep"]
