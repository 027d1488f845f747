"""Small real reports for the renderer tests (HTML, JUnit, compare, schema): the whole pipeline
on a generated table with a fake embedder, in well under a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from conftest import NumbersEmbedder, make_frame

from tecurate import AuditConfig, audit

FAST = {"min_domain_rows": 100, "use_cache": False, "n_jobs": 1, "families": ("logreg", "xgboost"),
        "n_configs": 3, "n_bootstrap": 100}


def audit_report(folder: Path, frame: pd.DataFrame | None = None, *, embedder: type = NumbersEmbedder,
                 target: str = "label", shift_col: str = "region", **settings: Any) -> dict[str, Any]:
    """The plain JSON data of an audit of ``frame`` (default: conftest.make_frame)."""
    path = folder / "table.csv"
    (make_frame() if frame is None else frame).to_csv(path, index=False)
    config = AuditConfig(target=target, shift_col=shift_col, **{**FAST, **settings})
    return audit(str(path), config, embedder=embedder()).to_dict()
