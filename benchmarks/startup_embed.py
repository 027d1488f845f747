"""Start-up to the first batch embedded, and peak RSS, of a fresh process: torch path vs torch-free.

    .venv/bin/python benchmarks/startup_embed.py [--repeats 3] [--output benchmarks/startup_embed.json]

A lighter form of ``benchmarks/run.py --sections startup`` (which times whole CLI audits): each
run is a new Python process that imports tecurate, builds the embedder the audit would build
(exported ONNX model already in the cache, as after any first run; no vectors cached) and embeds
one batch of 64 credit_data texts (its first 64 CSV lines as they are). Reported: wall seconds from process start to that batch,
peak RSS (``wait4`` of the process), and which of torch / transformers / sentence-transformers
it imported. Variants interleaved, medians of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = """
import json, sys, time
started = float(sys.argv[1])
from dataclasses import replace
import tecurate.embedding._sentence_transformer as st
from tecurate.embedding import BACKENDS, ContentStore, make_embedder
if sys.argv[3] == "via-torch":
    old = BACKENDS["onnx-int8"]; BACKENDS.unregister("onnx-int8")
    BACKENDS.register("onnx-int8", replace(old, fast=st._no_fast_path))
lines = open(sys.argv[4]).read().splitlines()[1:65]
embedder = make_embedder(device="cpu", precision=sys.argv[2], store=ContentStore(sys.argv[5]))
embedder.encode(lines, 64)
print(json.dumps({"first_batch_s": time.time() - started,
                  "heavy": [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]}))
"""
LAUNCH = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE)
out = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss, "out": out.decode()}, handle)
"""
VARIANTS = {
    "fp32, torch (the default before auto)": ("fp32", "plain"),
    "int8 via torch (the former int8 route)": ("int8", "via-torch"),
    "int8 torch-free (auto on this host)": ("int8", "plain"),
    "onnx-fp32 torch-free": ("onnx-fp32", "plain"),
}


def one(precision: str, variant: str, cache: Path, work: Path) -> dict:
    status = work / "status.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-c", CHILD, repr(time.time()), precision, variant,
               str(ROOT / "examples" / "credit_data.csv"), str(cache)]
    subprocess.run([sys.executable, "-c", LAUNCH, str(status), *command], env=env, check=True)
    outcome = json.loads(status.read_text())
    if outcome["rc"] != 0:
        raise SystemExit(f"failed: {precision} {variant}")
    return {**json.loads(outcome["out"].strip().splitlines()[-1]), "peak_rss_mb": outcome["maxrss_kb"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "startup_embed.json")
    args = parser.parse_args()
    result = {"load_before": os.getloadavg()[0], "started": time.strftime("%Y-%m-%d %H:%M"), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="tecurate-startup-") as tmp:
        work, cache = Path(tmp), Path(tmp) / "cache"
        for precision, variant in VARIANTS.values():  # export once, remember identities
            one(precision, variant, cache, work)
        for repeat in range(args.repeats):
            for name, (precision, variant) in VARIANTS.items():  # interleaved
                for chunk in cache.glob("v1/*/chunk-*.npy"):
                    chunk.unlink()
                result["runs"].setdefault(name, []).append(one(precision, variant, cache, work))
                print(f"  {name}: {result['runs'][name][-1]}", file=sys.stderr, flush=True)
    result["load_after"] = os.getloadavg()[0]
    result["command"] = "benchmarks/startup_embed.py " + " ".join(sys.argv[1:])
    result["median"] = {name: {"first_batch_s": statistics.median(r["first_batch_s"] for r in runs),
                               "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                               "heavy": runs[-1]["heavy"]} for name, runs in result["runs"].items()}
    args.output.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["median"], indent=1))


if __name__ == "__main__":
    main()
