"""The benchmark script: its table renders from saved results, and GPU mode fails clearly without a GPU.
(The measurements themselves live in benchmarks/, not in the test suite: no timed assertions.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("tecurate_benchmark_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _audit_run(seconds: float) -> dict:
    return {"seconds": seconds, "peak_rss_mb": 900.0, "timings": {"embed": seconds / 2, "fit": 1.0}}


def test_table_renders_every_section(bench):
    meta = {"command": "benchmarks/run.py", "load_before": 0.5, "load_after": 0.7, "finished": "now"}
    results = {
        "device": "cpu",
        "machine": {"cpu": "test cpu", "cores": 2, "python": "3.11", "torch": "2"},
        "embed": {"n_texts": 100, "n_unique": 99, "int8_build_seconds": 5.0, "meta": meta,
                  "times": {"plain": [1.0, 1.2, 1.1], "fp32": [1.0, 1.0, 1.0], "int8": [0.5, 0.5, 0.6],
                            "warm": [0.01, 0.01, 0.01]},
                  "cosine": {"fp32": {"mean": 1.0, "min": 1.0}, "int8": {"mean": 0.99, "min": 0.98}}},
        "audit": {"meta": meta, "runs": {"cold": [_audit_run(60)] * 3, "warm": [_audit_run(5)] * 3,
                                         "naive": [_audit_run(70)] * 3},
                  "agreement": {"verdict": ["fail", "fail"], "reasons": [["a"], ["a"]], "n_te_models": 24,
                                "splits": {"id_test": {"te_collapse_rate": [0.5, 0.5],
                                                       "te_only_collapse_rate": [0.2, 0.24],
                                                       "median_accuracy_gap": [0.01, 0.02],
                                                       "te_median_accuracy": [0.8, 0.79]}}}},
        "scale": {"meta": meta, "sizes": {"1000": [_audit_run(20)] * 3, "50000": [_audit_run(600)]}},
    }
    table = bench.render(results)
    assert "| plain `SentenceTransformer.encode` (fp32, batch 32) | 91 | 1.00x |" in table
    assert "0.9900" in table and "One-off int8 model build" in table
    assert "Warm vs cold: **12.0x**" in table
    assert "| id_test | 0.500 / 0.500 | 0.200 / 0.240 | 0.010 / 0.020 | 0.800 / 0.790 | yes |" in table
    assert "Within tolerance overall: **yes**" in table
    results["audit"]["agreement"]["reasons"] = [["a"], ["a", "b"]]
    assert "Within tolerance overall: **no**" in bench.render(results)
    assert "| 50,000 | 1 | 600.0 |" in table


def test_gpu_mode_without_a_gpu_fails_with_a_clear_message(bench, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["run.py", "--device", "cuda", "--results", str(tmp_path / "r.json"),
                                      "--markdown", str(tmp_path / "r.md")])
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        bench.main()
    assert not (tmp_path / "r.md").exists()


def _grid_run(mode: str, train_rows: int, rows_used: int, analyze_cpu: float) -> dict:
    cpu = {"load": 0.1, "split": 0.1, "serialize": 0.1, "embed": 0.5, "features": 0.1, "fit": 100.0,
           "analyze": analyze_cpu, "total": 101.0 + analyze_cpu}
    return {"mode": mode, "train_rows": train_rows, "rows": 2 * train_rows, "rows_used": rows_used, "budget": 20000,
            "wall_s": 200.0, "timings": {**cpu, "fit": 150.0}, "cpu_seconds": cpu, "fit_share": 0.75,
            "fit_seconds_per_family": {"xgboost": 100.0}, "verdict": "fail", "load_before": 1.0, "load_after": 2.0,
            "command": "benchmarks/grid_scale.py"}


def test_grid_goal_flags_a_stage_whose_cpu_per_row_grows(bench):
    linear = {"10000-all-rows": _grid_run("all-rows", 10_000, 17_000, 5.0),
              "100000-all-rows": _grid_run("all-rows", 100_000, 170_000, 50.0),
              "100000-defaults": _grid_run("defaults", 100_000, 20_000, 6.0)}
    figure, _, measured, met = bench._grid_goal(linear)
    assert met is True and "no stage grows faster than the rows" in measured and "fit 75% of wall" in measured
    quadratic = {**linear, "100000-all-rows": _grid_run("all-rows", 100_000, 170_000, 500.0)}
    _, _, measured, met = bench._grid_goal(quadratic)
    assert met is False and "all-rows analyze 10.0x" in measured
    assert bench._grid_goal({"10000-all-rows": linear["10000-all-rows"]})[3] is None
    table = "\n".join(bench._render_grid({"runs": linear}))
    assert "| all-rows | 100,000 | 200,000 | 170,000 | 200 | 150 | 75% | 151 | 66% |" in table
