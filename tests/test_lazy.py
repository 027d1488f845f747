"""Start-up diet: the CLI and ``--help`` load no heavy library, and a lazy one loads on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "scipy.stats", "scipy.special", "sklearn", "xgboost", "joblib", "torch",
         "transformers", "sentence_transformers", "onnx", "onnxruntime", "polars", "ray")
REPORT = textwrap.dedent("""
    import importlib.util, json, sys
    lazy = getattr(importlib.util, "_LazyModule")
    print(json.dumps(sorted(name for name in HEAVY
                            if name in sys.modules and not isinstance(sys.modules[name], lazy))))
""")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules really imported (not only bound lazily) once ``code`` ran in a fresh process."""
    script = f"HEAVY = {HEAVY!r}\n{textwrap.dedent(code)}\n{REPORT}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_library():
    assert _loaded_after("import tecurate.cli") == []


@pytest.mark.parametrize("argv", [["--help"], ["audit", "--help"], ["schema", "--help"]])
def test_help_loads_no_heavy_library(argv):
    code = f"""
        import contextlib, io
        from tecurate.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                main({argv!r})
            except SystemExit as exc:
                assert exc.code in (0, None), exc.code
    """
    assert _loaded_after(code) == []


def test_the_public_api_imports_lazily_and_works_on_first_use():
    code = """
        import tecurate
        from tecurate import audit
        assert set(tecurate.__all__) <= set(dir(tecurate)) and callable(audit)
        from tecurate.data import load_table
        table = load_table("examples/credit_data.csv")
        assert table.n_rows == len(table.frame) > 0 and type(table.frame).__name__ == "DataFrame"
    """
    assert "pandas" in _loaded_after(code)
