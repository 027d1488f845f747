"""The audit's behaviour, pinned: today's report equals the golden one (tests/golden/).

Timings, timestamps, paths, cache counters and the engine vary from run to run and are left out; every
other field must match. Regenerate with ``tests/golden/make_golden.py`` only for a change that
is meant to alter reports.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from golden.make_golden import fake_report, real_report

GOLDEN = Path(__file__).resolve().parent / "golden"
VOLATILE = {"created_at", "timings", "path", "seconds", "fit_seconds", "cached", "cache_hits",
            "cache_misses", "cache_dir", "cache_write_ok", "engine"}
"""``engine`` too: the report's engine record counts the machine's CPUs (the engines give equal
reports otherwise, tests/test_engines.py)."""


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _differences(old: Any, new: Any, where: str, tol: float) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        if old.keys() != new.keys():
            return [f"{where}: keys {sorted(old.keys() ^ new.keys())} differ"]
        return [d for k in old for d in _differences(old[k], new[k], f"{where}.{k}", tol)]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items -> {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, f"{where}[{i}]", tol)]
    if isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        return [] if math.isclose(old, new, rel_tol=tol, abs_tol=tol) else [f"{where}: {old} -> {new}"]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_fake_embedder_audit_equals_the_golden_report(tmp_path):
    diffs = _differences(_stable(_golden("fake")), _stable(fake_report(tmp_path)), "report", 1e-9)
    assert not diffs, "\n".join(diffs[:20])


@pytest.mark.slow
def test_real_model_audit_equals_the_golden_report():
    # fp32 kernels differ in the last bits between CPUs, so figures may move by rounding only.
    diffs = _differences(_stable(_golden("real")), _stable(real_report()), "report", 1e-6)
    assert not diffs, "\n".join(diffs[:20])
