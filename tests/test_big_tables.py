"""Tables bigger than the audit needs: columns the audit drops are never read from a file, the
--max-rows sample is drawn before any row is serialized or embedded, and the report says how
many rows it used and why."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame

from tecurate import audit
from tecurate.data import read_table

ROOT = Path(__file__).resolve().parents[1]
FAST = {"target": "label", "shift_col": "region", "use_cache": False, "n_configs": 2, "families": ("logreg",),
        "n_jobs": 1, "min_domain_rows": 100}


def wide_table(n: int) -> pd.DataFrame:
    """Two small columns and a wide free-text one (~4.8 kB a row) that the audit drops."""
    return pd.DataFrame({"x": np.arange(n), "y": np.arange(n) % 2,
                         "notes": ["lorem ipsum " * 400 + str(i) for i in range(n)]})


def peak_rss_mb(path: Path, skip: tuple[str, ...]) -> float:
    """Peak RSS growth (MB) of a fresh process reading ``path`` without the ``skip`` columns.

    VmHWM, not ``ru_maxrss``: Linux carries a parent's ``ru_maxrss`` over into the child it execs."""
    code = ("import pandas, pyarrow.csv, pyarrow.parquet\n"  # loaded on first use: their own size is not the read's
            "from tecurate.data import read_table\n"
            "def hwm():\n"
            "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "    return int(line.split()[1]) / 1024\n"
            "base = hwm()\n"
            f"read_table({str(path)!r}, skip={skip!r})\n"
            "print(hwm() - base)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return float(out.stdout)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_columns_the_audit_drops_are_not_read(tmp_path, suffix):
    path = tmp_path / f"wide{suffix}"
    frame = wide_table(8000)  # the dropped column: ~38 MB of text
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    table = read_table(str(path), skip=("notes",))
    assert list(table.frame.columns) == ["x", "y"] and table.skipped == ("notes",) and table.n_columns == 3
    whole, projected = peak_rss_mb(path, ()), peak_rss_mb(path, ("notes",))
    assert projected < 0.7 * whole, (projected, whole)


def test_the_projected_reader_parses_like_the_whole_file_reader(tmp_path):
    """A plain CSV is read from its path without the skipped columns; its gzip is read whole in memory:
    same frame, same dtypes, same hash of the bytes they came from."""
    frame = make_frame(300).assign(when=pd.date_range("2024-01-01", periods=300, freq="h").astype(str),
                                   note=["a, \"quoted\" b"] * 300, empty=np.nan)
    plain, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    frame.to_csv(plain, index=False)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    projected, whole = read_table(str(plain), skip=("note",)), read_table(str(packed), skip=("note",))
    pd.testing.assert_frame_equal(projected.frame, whole.frame)
    assert projected.skipped == whole.skipped == ("note",)
    assert read_table(str(plain)).sha256 == projected.sha256


class CountingEmbedder:
    """A fake that counts every text it is asked to embed."""

    name = "counting"
    identity = "counting@1"
    device = "cpu"
    dim = 4
    texts = 0

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        CountingEmbedder.texts += len(texts)
        return np.tanh(np.array([[len(t), t.count("1"), t.count("5"), t.count("a")] for t in texts],
                                dtype=np.float32) / 50)


def test_a_cold_audit_of_a_larger_table_embeds_only_the_sampled_rows(tmp_path, fake_embedder):
    fake_embedder(CountingEmbedder)
    path = tmp_path / "big.parquet"
    make_frame(30_000, seed=4).to_parquet(path, index=False)
    CountingEmbedder.texts = 0
    report = audit(str(path), max_rows=1_000, **FAST).to_dict()
    assert report["input"]["n_rows"] == 30_000 and report["input"]["sampled"]
    assert CountingEmbedder.texts == report["embedding"]["n_unique_texts"] <= report["input"]["n_rows_used"] <= 1_000
    assert report["embedding"]["cache_misses"] == CountingEmbedder.texts


def test_the_report_says_how_many_rows_it_used_and_why(tmp_path, fake_embedder):
    frame = make_frame(1_200)
    frame.loc[:2, "label"] = None
    frame.loc[3:60, "region"] = "D"  # 58 rows: too few for an OOD split of its own
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    whole = audit(str(path), max_rows=0, **FAST).to_dict()["input"]
    assert whole["rows_used_why"] == (f"{whole['n_rows_used']} rows used: 1197 of 1200 rows have a target; no sample "
                                      "(--max-rows 0: every row); 58 left out: their domain of --shift-col region has fewer "
                                      "than --min-domain-rows 100 rows")
    sampled = audit(str(path), max_rows=800, **FAST).to_dict()["input"]
    assert sampled["rows_used_why"].startswith(f"{sampled['n_rows_used']} rows used: 1197 of 1200 rows have a "
                                               "target; --max-rows 800 keeps a sample of 800, stratified by target x "
                                               "domain")
    roomy = audit(str(path), max_rows=5_000, **FAST).to_dict()["input"]
    assert "no sample (--max-rows 5000 is not below 1197)" in roomy["rows_used_why"]
