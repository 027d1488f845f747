"""The example notebook runs, top to bottom, with the real packaged model: it cannot rot."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_and_shows_the_report_and_the_model_table(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a failing cell
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    shown = [output.get("data", {}) for output in outputs]
    reports = [data["text/html"] for data in shown if data.get("text/html", "").startswith("<iframe srcdoc=")]
    assert len(reports) == 1 and "tecurate audit of &amp;lt;pandas.DataFrame&amp;gt;" in reports[0]
    tables = [data["text/html"] for data in shown if "<table" in data.get("text/html", "")]
    assert any("majority_class_rate" in table and "ood:" in table for table in tables)
    assert (tmp_path / "credit_report.json").is_file()
