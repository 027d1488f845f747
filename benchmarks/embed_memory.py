"""Peak memory of ``tecurate embed`` over large tables: it must not grow with the row count beyond
the table itself, since rows are serialized, embedded and written a window at a time.

    .venv/bin/python benchmarks/embed_memory.py [--rows 250000,1000000] [--format npy,parquet]

The embedder is a fast fake (dim 384, a vector looked up by a hash of the text, ~1 µs per text),
registered as the fp32 backend (``--precision fp32``: ``auto`` would pick int8, the real model, on a
VNNI host), so the run measures tecurate's own memory, not a model's; a real model
adds its own fixed ~0.5 GB. The table is synthetic (7 columns: numbers and categories, ~110
characters of text per row), written to Parquet once per size. Peak RSS is ``wait4``'s of the
command's process, started from a small launcher so this script's memory is not counted. For
reference the script also reports the peak RSS of only reading the table (``load_table``) and the
size of the matrix the command writes (what holding it all would cost).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

_LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, handle)
"""

_EMBED = """
import sys, zlib
import numpy as np
from tecurate.embedding import BACKENDS, PRECISIONS

class LookupEmbedder:
    name, identity, device, dim, precision = "bench-lookup", "bench-lookup@1", "cpu", 384, "fp32"
    table = np.random.default_rng(0).standard_normal((4096, 384)).astype(np.float32)

    def encode(self, texts, batch_size):
        rows = np.fromiter((zlib.crc32(t.encode()) & 4095 for t in texts), dtype=np.intp, count=len(texts))
        return self.table[rows]

class LookupBackend:
    precision, devices = "fp32", ("cpu", "cuda")
    def check(self): pass
    def build(self, name_or_path, *, device, store): return LookupEmbedder()

BACKENDS.register("bench-lookup", LookupBackend())
from tecurate.cli import main
main(sys.argv[1:])
"""

_READ = """
import sys
from tecurate.data import load_table
load_table(sys.argv[1])
"""


def make_table(rows: int, path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(rows)
    frame = pd.DataFrame({
        "age": rng.integers(18, 90, rows), "income": rng.normal(52_000, 15_000, rows).round(2),
        "city": np.array([f"city_{i:02d}" for i in range(50)])[rng.integers(0, 50, rows)],
        "plan": np.array(["basic", "plus", "pro"])[rng.integers(0, 3, rows)],
        "score": rng.random(rows).round(4), "visits": rng.poisson(7, rows),
        "label": np.array(["yes", "no"])[rng.integers(0, 2, rows)],
    })
    frame.to_parquet(path, index=False)


def measure(code: str, *args: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status.json"
        env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", _LAUNCHER, str(status), sys.executable, "-c", code, *args],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        outcome = json.loads(status.read_text())
    if outcome["rc"] != 0:
        raise SystemExit(f"failed ({outcome['rc']}): {' '.join(args)}\n{run.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(outcome["maxrss_kb"] / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="250000,1000000")
    parser.add_argument("--format", default="npy,parquet")
    args = parser.parse_args()
    results: dict[str, Any] = {"load_before": os.getloadavg()[0], "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for rows in (int(n) for n in args.rows.split(",")):
            table = work / f"table-{rows}.parquet"
            make_table(rows, table)
            entry: dict[str, Any] = {"table_mb": round(table.stat().st_size / 2**20, 1),
                                     "read_only": measure(_READ, str(table)),
                                     "matrix_mb": round(rows * 384 * 4 / 2**20, 1)}
            for suffix in args.format.split(","):
                out = work / f"vectors.{suffix}"
                entry[suffix] = measure(_EMBED, "embed", str(table), "--target", "label", "--no-cache", "--quiet",
                                        "--precision", "fp32", "--output", str(out))
                entry[suffix]["output_mb"] = round(out.stat().st_size / 2**20, 1)
                out.unlink()
            results["runs"][str(rows)] = entry
            print(f"{rows} rows: {json.dumps(entry)}", file=sys.stderr, flush=True)
    results["load_after"] = os.getloadavg()[0]
    lines = [f"Load average {results['load_before']:.1f} before, {results['load_after']:.1f} after.", "",
             "| rows | read the table only (MB) | embed -> .npy peak RSS (MB) | embed -> .parquet peak RSS (MB) | "
             "the whole matrix (MB) |", "|---|---|---|---|---|"]
    for rows, entry in results["runs"].items():
        cells = [f"{entry[s]['peak_rss_mb']:.0f} ({entry[s]['seconds']:.0f} s)" if s in entry else "-"
                 for s in ("npy", "parquet")]
        lines.append(f"| {int(rows):,} | {entry['read_only']['peak_rss_mb']:.0f} | {cells[0]} | {cells[1]} | "
                     f"{entry['matrix_mb']:.0f} |")
    (Path(__file__).resolve().parent / "embed_memory.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
