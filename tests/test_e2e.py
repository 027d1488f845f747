"""End to end with the real packaged all-MiniLM-L6-v2 on the real credit_data example."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from tecurate.cli import app
from tecurate.reporting import schema

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"
ARGS = ["--target", "Status", "--shift-col", "Home", "--min-domain-rows", "60", "--max-rows", "500",
        "--families", "logreg,xgboost,mlp", "--n-configs", "3", "--n-bootstrap", "200"]


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


def kept_reports(cache: Path) -> list[Path]:
    """The reports an audit kept for reuse (``tecurate._reuse``) in a cache folder."""
    return sorted(cache.rglob("report-*.json"))


@pytest.fixture(scope="module")
def runs(e2e_dir):
    """The same audit three times against one cache folder: cold; warm, with the kept report
    removed first, so every text and fit comes from their caches; then reused as it is."""
    tmp = e2e_dir
    results = []
    for name in ("cold", "warm", "reused"):
        if name == "warm":
            for path in kept_reports(tmp / "cache"):
                path.unlink()
        out = tmp / f"{name}.json"
        result = CliRunner().invoke(app, ["audit", str(EXAMPLE), *ARGS, "--cache-dir", str(tmp / "cache"),
                                          "--output", str(out)])
        results.append((result, json.loads(out.read_text()) if out.exists() else None))
    return results


def test_real_audit_completes_with_a_valid_report(runs):
    result, report = runs[0]
    assert result.exit_code in (0, 1), result.stderr
    assert result.exit_code == report["verdict"]["exit_code"]
    jsonschema.validate(report, schema())
    assert report["embedding"]["dim"] == 384
    assert report["embedding"]["model"] == "all-MiniLM-L6-v2"
    assert report["shift"]["kind"] == "column" and report["shift"]["id_values"] == ["owner"]
    splits = set(report["models"][0]["splits"])
    assert "id_test" in splits and {"ood:rent", "ood:parents"} <= splits
    assert len(report["models"]) == 2 * 3 * 3
    assert report["serialization"]["example"].startswith("The Seniority is ")
    assert "Status" not in report["serialization"]["example"]
    assert "Home" not in report["serialization"]["example"]
    healthy_raw = [m for m in report["models"] if m["representation"] == "raw"
                   and not m["splits"]["id_test"]["collapsed"]]
    assert healthy_raw and max(m["splits"]["id_test"]["accuracy"] for m in healthy_raw) > 0.7
    assert set(report["aotl"]) == {"raw", "te"}
    assert "Collapse and accuracy per split" in result.stderr


def test_warm_cache_hits_every_text_and_fit_and_reproduces_the_report(runs):
    (_, cold), (_, warm), _ = runs
    assert cold["embedding"]["cache_hits"] == 0
    assert warm["embedding"]["cache_hits"] == warm["embedding"]["n_unique_texts"]
    assert warm["embedding"]["cache_misses"] == 0
    assert not any(model.get("cached") for model in cold["models"])
    assert all(model["cached"] for model in warm["models"])  # no model refitted either
    def uncached(report: dict) -> list[dict]:
        return [{key: value for key, value in model.items() if key != "cached"} for model in report["models"]]

    assert uncached(cold) == uncached(warm)  # fit_seconds included: the cached fit's own time
    assert cold["aotl"] == warm["aotl"]
    assert cold["verdict"] == warm["verdict"]


def test_an_identical_audit_reuses_the_kept_report_and_says_so(runs, e2e_dir):
    (_, _), (_, warm), (result, reused) = runs
    assert len(kept_reports(e2e_dir / "cache")) == 1
    assert result.exit_code == warm["verdict"]["exit_code"]
    assert reused["warnings"][0].startswith(f"reused the report of the identical audit of {warm['created_at']}")
    assert reused["warnings"][1:] == warm["warnings"]
    assert set(reused["timings"]) == {"reuse", "total"}
    different = {key for key in warm if warm[key] != reused[key]}
    assert different <= {"created_at", "timings", "warnings"}


def test_embed_writes_the_real_models_vectors_and_reuses_the_cache(tmp_path):
    import numpy as np
    import pandas as pd

    from tecurate.embedding import SentenceTransformerEmbedder

    small = tmp_path / "credit-12.csv"
    pd.read_csv(EXAMPLE).head(12).to_csv(small, index=False)
    out = tmp_path / "vectors.npy"
    args = ["embed", str(small), "--target", "Status", "--shift-col", "Home", "--precision", "fp32", "--cache-dir",
            str(tmp_path / "cache"), "--output", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.stderr
    matrix = np.load(out, allow_pickle=False)
    assert matrix.shape == (12, 384) and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    texts = CliRunner().invoke(app, ["serialize", str(small), "--target", "Status", "--shift-col", "Home",
                                     "--limit", "12"]).stdout.splitlines()
    model = SentenceTransformerEmbedder(device="cpu")._loaded()
    np.testing.assert_allclose(matrix, model.encode(texts, normalize_embeddings=True), atol=1e-5)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "12 from the cache" in again.stderr
    np.testing.assert_array_equal(np.load(out), matrix)


def test_a_warm_run_imports_neither_the_model_library_nor_torch(runs, e2e_dir):
    """All texts and fits cached: the run must not pay for importing the model stack (seconds)."""
    import os
    import subprocess
    import sys

    args = ["audit", str(EXAMPLE), *ARGS, "--cache-dir", str(e2e_dir / "cache"), "--quiet"]
    code = ("import sys\nfrom tecurate.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as stop:\n    code = stop.code\n"
            "print(code, 'sentence_transformers' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    exit_code, model_library, torch = done.stdout.split()
    assert exit_code == str(runs[1][1]["verdict"]["exit_code"])
    assert model_library == "False"
    if not os.path.exists("/proc/driver/nvidia/version"):  # with a GPU driver, "auto" asks torch
        assert torch == "False"
