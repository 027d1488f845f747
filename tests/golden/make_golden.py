"""Regenerate the golden reports that pin the audit's behaviour (tests/test_golden.py).

Run only when a change is *meant* to alter the report, and say why in the commit:

    .venv/bin/python tests/golden/make_golden.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import NumbersEmbedder, make_frame  # noqa: E402

from tecurate import AuditConfig, audit  # noqa: E402

EXAMPLE = HERE.parents[1] / "examples" / "credit_data.csv"
FAKE = dict(target="label", shift_col="region", min_domain_rows=100, n_configs=3, n_bootstrap=200, use_cache=False)
REAL = dict(target="Status", shift_col="Home", min_domain_rows=60, max_rows=500, precision="fp32",
            n_configs=3, n_bootstrap=200, use_cache=False)


def fake_report(folder: Path) -> dict:
    path = folder / "table.csv"
    make_frame().to_csv(path, index=False)
    return audit(str(path), AuditConfig(**FAKE), embedder=NumbersEmbedder()).to_dict()


def real_report() -> dict:
    return audit(str(EXAMPLE), AuditConfig(**REAL)).to_dict()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (HERE / "fake.json").write_text(json.dumps(fake_report(Path(tmp)), indent=1) + "\n")
    (HERE / "real.json").write_text(json.dumps(real_report(), indent=1) + "\n")


if __name__ == "__main__":
    main()
