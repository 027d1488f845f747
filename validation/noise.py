"""Where the verdict's noise comes from, and whether the gates and ``compare`` now rise above it.

    .venv/bin/python validation/noise.py                 # the committed run (validation/RESULTS.md §7)
    .venv/bin/python validation/noise.py --append 0.02   # also: the same table with 2% rows appended
    .venv/bin/python validation/noise.py --healthy-only  # only compare on the healthy tables (HEALTHY),
                                                         # single seed and --repeats 2 / 3

Four real tables (``run_validation.DATASETS``) × five seeds, real embedding model, ``--max-rows
2000``. Every audit goes through the library (``audit``) with the embedding and fit caches; the
audits are kept (``--work``, pickled), so re-deciding them under other gates or settings costs no
refit. Audits are made under these configuration draws:

- ``random``: today's draw before this change, ``ParameterSampler`` re-drawn from the audit seed;
- ``random, configs fixed``: the draw of seed 0 for every seed (split and model seeds vary);
- ``random, split fixed``: the draw of seed s, audited with seed 0 (only the configurations vary);
- ``design``: the fixed scrambled-Sobol design (:mod:`tecurate.grid._design`) at ``--design-n``
  configurations per family, re-decided on its first k (the design is nested: its first k points
  are the k-point design);
- ``… truncated``: the template keeps only the first half of the feature columns (a real
  degradation ``compare`` must catch);
- ``… noised``: every number in the serialized text carries multiplicative noise (log-normal,
  σ = 0.5, fixed per text) before it is embedded: the text route degrades, the raw route does not.

The healthy tables (``HEALTHY``: the text route is not mostly collapsed there, so a degradation
has something to remove) are audited under the chosen grid only, base and both degradations;
their section compares ``compare`` before and after its verdict check weighs gate flips
against the noise. Prints markdown (section 7 of validation/RESULTS.md) to stdout and ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import combinations, permutations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tecurate.pipeline as pipeline  # noqa: E402
from tecurate import AuditConfig, audit  # noqa: E402
from tecurate.analysis import GATES, GateContext, PairedSummary, analyze, assess_stability, summarize  # noqa: E402
from tecurate.data import ID_TEST  # noqa: E402
from tecurate.embedding import SentenceTransformerEmbedder  # noqa: E402
from tecurate.grid import FAMILIES, ModelConfig  # noqa: E402
from tecurate.reporting import AuditReport, compare_reports  # noqa: E402
from tecurate.status import severity  # noqa: E402
from validation.run_validation import DATASETS, RealDataset, flips, load_real, real_config, table  # noqa: E402

GATE_NAMES = ("te_collapse_rate", "te_only_collapse", "spurious_aotl")

HEALTHY = (
    RealDataset("DAAG", "monica", "outcome", "sex", ("rownames",)),
    RealDataset("Stat2Data", "SuicideChina", "Died", "Urban", ("rownames", "Person_ID")),
    RealDataset("COUNT", "titanic", "survived", "class", ("rownames",)),
    RealDataset("carData", "BEPS", "vote", "gender", ("rownames",)),
)
"""Real tables whose text route has something to lose: few te-only collapses, and categorical or
small-integer predictors the model reads (screened at 4 configurations, 1,500 rows; §7). On the
four tables of ``DATASETS`` about 70% of te models collapse and the median gap is 0, so no
degradation of the text can show there."""


# --- configuration draws -----------------------------------------------------------------------

def random_draw(families: Sequence[str], n_configs: int, seed: int) -> list[ModelConfig]:
    """The configuration draw before the fixed design: re-drawn from the audit seed."""
    from sklearn.model_selection import ParameterSampler

    configs = []
    for offset, family in enumerate(families):
        sampler = ParameterSampler(dict(FAMILIES[family].grid), n_iter=n_configs, random_state=seed + offset)
        for i, params in enumerate(sampler):
            configs.append(ModelConfig(family, f"{family}-{i:02d}", {k: params[k] for k in sorted(params)}))
    return configs


@contextmanager
def configs_from(draw: Callable[[Sequence[str], int], list[ModelConfig]] | None) -> Iterator[None]:
    """Make the pipeline fit ``draw``'s configurations (None: the library's own design)."""
    original = pipeline.sample_configs
    if draw is not None:
        pipeline.sample_configs = lambda families, n_configs, *_, **__: draw(families, n_configs)
    try:
        yield
    finally:
        pipeline.sample_configs = original


# --- audits ------------------------------------------------------------------------------------

def truncated_template(frame: pd.DataFrame, dataset: RealDataset) -> str:
    """A custom template naming only the first half of the feature columns."""
    features = [c for c in frame.columns if c not in (dataset.target, dataset.shift_col)]
    return ", ".join(f"{c}: {{{c}}}" for c in features[: max(1, len(features) // 2)])


def appended(frame: pd.DataFrame, share: float, seed: int = 12345) -> pd.DataFrame:
    """The table plus ``share`` new rows: real rows' cells shuffled column by column, at the end."""
    rng = np.random.default_rng(seed)
    k = max(1, round(share * len(frame)))
    new = frame.iloc[rng.choice(len(frame), k, replace=False)].reset_index(drop=True)
    new = pd.DataFrame({c: rng.permutation(new[c].to_numpy()) for c in new.columns})
    return pd.concat([frame, new], ignore_index=True)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class NoisyNumbers:
    """The real model, shown texts whose numbers are scrambled by ±50%-ish multiplicative noise.

    The noise of a text is seeded by the text itself, so the cache stays valid and every audit seed
    sees the same degradation; the identity differs, so noised vectors never mix with clean ones.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim, self.device = inner.name, inner.dim, inner.device
        self.identity = f"{inner.identity}:noised-numbers-lognormal-0.5"

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return self.inner.encode([self._noised(t) for t in texts], batch_size)

    @staticmethod
    def _noised(text: str) -> str:
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little"))
        return _NUMBER.sub(lambda m: f"{float(m.group()) * rng.lognormal(0.0, 0.5):.4g}", text)


class Runner:
    """Audits one (dataset, condition, seed) once; later calls load the pickled report."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(args.work).expanduser()
        self.work.mkdir(parents=True, exist_ok=True)
        self._model: object | None = None
        self.seconds: dict[tuple[str, str, int], float] = {}

    @property
    def model(self) -> object:
        if self._model is None:
            self._model = SentenceTransformerEmbedder()
        return self._model

    def report(self, dataset: RealDataset, condition: str, seed: int, *, draw_seed: int | None = None,
               audit_seed: int | None = None, n_configs: int = 8, degrade: bool = False,
               append: float = 0.0, cold: bool = False, noised: bool = False, **settings: object) -> AuditReport:
        key = f"{dataset.item}-{condition}-{seed}".replace(" ", "_").replace(",", "")
        path = self.work / f"{key}.pkl"
        if path.exists() and not cold:
            kept = pickle.loads(path.read_bytes())
            vars(kept).setdefault("grid", {})  # kept before the report recorded its design
            return kept
        frame = load_real(dataset)
        if append:
            frame = appended(frame, append)
        overrides: dict[str, object] = {"seed": seed if audit_seed is None else audit_seed, "n_configs": n_configs,
                                        **settings}
        if degrade:
            overrides["template"] = truncated_template(frame, dataset)
        if cold:
            overrides["use_cache"] = False
        config = real_config(dataset, self.args, **overrides)
        draw = None if draw_seed is None else (lambda fams, n, s=draw_seed: random_draw(fams, n, s))
        with tempfile.TemporaryDirectory() as tmp, configs_from(draw):
            csv = Path(tmp) / f"{dataset.item}.csv"
            frame.to_csv(csv, index=False)
            start = time.perf_counter()
            report = audit(str(csv), config, embedder=NoisyNumbers(self.model) if noised else self.model)
            self.seconds[(dataset.item, condition, seed)] = time.perf_counter() - start
        print(f"  {key}: {report.verdict.status} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        if not cold:
            path.write_bytes(pickle.dumps(report))
        return report


def collect(runner: Runner, seeds: Sequence[int]) -> dict[str, dict[str, list[AuditReport]]]:
    """``[condition][dataset] -> one report per seed``."""
    n = runner.args.design_n
    plans: dict[str, Callable[[RealDataset, int], AuditReport]] = {
        "random": lambda d, s: runner.report(d, "random", s, draw_seed=s),
        "design": lambda d, s: runner.report(d, f"design{n}", s, n_configs=n),
        "random, configs fixed": lambda d, s: runner.report(d, "random configs fixed", s, draw_seed=0),
        "random, split fixed": lambda d, s: runner.report(d, "random split fixed", s, draw_seed=s, audit_seed=0),
        "design, truncated": lambda d, s: runner.report(d, f"design{n} truncated", s, n_configs=n, degrade=True),
        "random, truncated": lambda d, s: runner.report(d, "random truncated", s, draw_seed=s, degrade=True),
        "design, noised": lambda d, s: runner.report(d, f"design{n} noised", s, n_configs=n, noised=True),
        "random, noised": lambda d, s: runner.report(d, "random noised", s, draw_seed=s, noised=True),
    }
    degraded = seeds[: runner.args.degraded_seeds]
    return {name: {d.name: [plan(d, s) for s in (degraded if ("truncated" in name or "noised" in name) else seeds)]
                   for d in DATASETS}
            for name, plan in plans.items()}


NUMBERLESS: dict[str, bool] = {}
"""Healthy tables whose feature values hold no number: noising their numbers changes no text."""


def collect_healthy(runner: Runner, seeds: Sequence[int]) -> dict[str, dict[str, list[AuditReport]]]:
    """``[dataset][condition] -> one report per seed`` on :data:`HEALTHY` (the chosen grid only)."""
    n, k = runner.args.design_n, runner.args.n_configs
    degraded = seeds[: runner.args.healthy_degraded_seeds]
    out: dict[str, dict[str, list[AuditReport]]] = {}
    for d in HEALTHY:
        frame = load_real(d)
        features = [c for c in frame.columns if c not in (d.target, d.shift_col)]
        NUMBERLESS[d.name] = not any(_NUMBER.search(str(v)) for v in frame[features].to_numpy().ravel())
        out[d.name] = {
            "base": [reanalyzed(runner.report(d, f"design{n}", s, n_configs=n), k)
                     for s in range(max(len(seeds), 2 * max(runner.args.repeats_k)))],
            "truncated": [reanalyzed(runner.report(d, f"design{n} truncated", s, n_configs=n, degrade=True), k)
                          for s in degraded],
            "noised": [reanalyzed(runner.report(d, f"design{n} noised", s, n_configs=n, noised=True), k)
                       for s in degraded],
        }
    return out


# --- re-deciding -------------------------------------------------------------------------------

def reanalyzed(report: AuditReport, keep: int | None = None, **overrides: object) -> AuditReport:
    """The report the same fitted models give with only the first ``keep`` configurations per
    family, today's gates at their defaults and the settings ``overrides`` (no refit)."""
    models = [m for m in report.models if keep is None or int(m.config_id.rsplit("-", 1)[1]) < keep]
    classes = report.target["classes"]
    shares = {name: np.array([dist[c] for c in classes]) for name, dist in report.target["distribution"].items()
              if name != "id_train"}
    gate_knobs = {setting.name for gate in GATES.values() for setting in gate.settings}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in report.config.items()
             if k in AuditConfig.__dataclass_fields__ and k not in gate_knobs}
    config = replace(AuditConfig(**given), **overrides)
    result = analyze(models, shares, config)
    return replace(report, models=models, summary=result.summary, aotl=result.aotl, verdict=result.verdict,
                   config={**report.config, **overrides})


def legacy_statuses(report: AuditReport) -> dict[str, str]:
    """The gates before this change: absolute te collapse > 0.5, te-only > 0.2 (any: warn),
    spurious te-only line fails, any spurious line warns."""
    te = max(s.collapse_rate for s in report.summary.representations["te"].values())
    te_only = max(p.te_only_collapse_rate for p in report.summary.paired.values())
    flagged = {rep: {s for s, f in fits.items() if f.spurious} for rep, fits in report.aotl.items()}
    spurious = ("fail" if flagged.get("te", set()) - flagged.get("raw", set())
                else "warn" if any(flagged.values()) else "pass")
    return {"te_collapse_rate": "fail" if te > 0.5 else "pass",
            "te_only_collapse": "fail" if te_only > 0.2 else "warn" if te_only > 0 else "pass",
            "spurious_aotl": spurious}


def statuses(report: AuditReport, confidence: float | None = None) -> dict[str, str]:
    """The report's gate statuses; with ``confidence``, the collapse gates re-decided at that
    ``gate_confidence`` (they read only the summary, so this needs no re-analysis)."""
    out = {g.gate: g.status for g in report.verdict.gates}
    if confidence is not None:
        config = replace(AuditConfig(target="y"), gate_confidence=confidence)
        ctx = GateContext(report.models, report.summary, report.aotl, config)
        out.update({name: GATES[name].evaluate(ctx).status for name in ("te_collapse_rate", "te_only_collapse")})
    return out


def flip_cells(per_dataset: dict[str, list[dict[str, str]]]) -> list[str]:
    """Seeds off the median seed's status per gate, summed over datasets (as §5 counts them)."""
    cells = []
    for gate in GATE_NAMES:
        total, where = 0, []
        for name, runs in per_dataset.items():
            k = flips([run[gate] for run in runs])
            total += k
            if k:
                where.append(name.split("/")[1])
        n = sum(len(runs) for runs in per_dataset.values())
        statuses_seen = sorted({run[gate] for runs in per_dataset.values() for run in runs})
        cells.append(f"{total}/{n}" + (f" ({', '.join(where)})" if where else "") + f" [{'/'.join(statuses_seen)}]")
    return cells


# --- figures -------------------------------------------------------------------------------------

def worst(report: AuditReport, get: Callable[[PairedSummary], float]) -> float:
    return max(get(p) for p in summarize(report.models).paired.values())


FIGURES: dict[str, Callable[[AuditReport], float]] = {
    "te collapse, id_test": lambda r: summarize(r.models).representations["te"][ID_TEST].collapse_rate,
    "raw collapse, id_test": lambda r: summarize(r.models).representations["raw"][ID_TEST].collapse_rate,
    "te-only share, worst split": lambda r: worst(r, lambda p: p.te_only_collapse_rate),
    "excess te − raw, worst split": lambda r: worst(r, lambda p: p.excess_collapse_rate),
    "spurious te lines (as fitted)": lambda r: float(sum(f.spurious for f in r.aotl["te"].values())),
}
"""Recomputed from the models, so audits kept before the summary had a field still count."""


def decomposition(groups: dict[str, dict[str, list[AuditReport]]]) -> str:
    """SD over seeds of each figure, per condition, averaged over the datasets."""
    rows = []
    for figure, get in FIGURES.items():
        cells = []
        for runs in groups.values():
            sds = [float(np.std([get(r) for r in reports], ddof=1)) for reports in runs.values()]
            cells.append(f"{np.mean(sds):.3f}")
        rows.append([figure, *cells])
    return table(["SD over seeds (mean of 4 datasets)", *groups], rows)


# --- compare -------------------------------------------------------------------------------------

def legacy_regression(old: AuditReport, new: AuditReport, allowed: float = 0.05) -> bool:
    """``compare`` before this change: any watched rate up by more than ``allowed``, a newly
    spurious line, or a worse verdict (legacy gates)."""
    for split, p in new.summary.paired.items():
        q = old.summary.paired.get(split)
        if q is None:
            continue
        te_new, te_old = (r.summary.representations["te"][split].collapse_rate for r in (new, old))
        gap_new, gap_old = p.median_accuracy_gap, q.median_accuracy_gap
        if (te_new - te_old > allowed + 1e-9 or p.te_only_collapse_rate - q.te_only_collapse_rate > allowed + 1e-9
                or (gap_new is not None and gap_old is not None and gap_new - gap_old > allowed + 1e-9)):
            return True
    for rep, fits in new.aotl.items():
        for split, fit in fits.items():
            before = old.aotl.get(rep, {}).get(split)
            if before is not None and fit.spurious and not before.spurious:
                return True
    order = {"pass": 0, "warn": 1, "fail": 2}
    old_worst = max(order[s] for s in legacy_statuses(old).values())
    return max(order[s] for s in legacy_statuses(new).values()) > old_worst


def regression(old: AuditReport, new: AuditReport) -> set[str]:
    """The failing checks of today's ``compare``."""
    return {c.name for c in compare_reports(old.to_dict(), new.to_dict()).regressions}


def regression_before_verdict_rule(old: AuditReport, new: AuditReport) -> set[str]:
    """``compare`` before the verdict check weighed gate flips against the noise: any worse
    verdict regressed (every other check as today)."""
    comparison = compare_reports(old.to_dict(), new.to_dict())
    failed = {c.name for c in comparison.regressions if c.name != "verdict"}
    return failed | ({"verdict"} if severity(new.verdict.status) > severity(old.verdict.status) else set())


def pair_rate(pairs: Sequence[tuple[AuditReport, AuditReport]], judge: Callable[[AuditReport, AuditReport], object]) -> str:
    hits = sum(bool(judge(old, new)) for old, new in pairs)
    return f"{hits}/{len(pairs)} ({hits / len(pairs):.0%})"


def seed_pairs(reports: Sequence[AuditReport]) -> list[tuple[AuditReport, AuditReport]]:
    return list(permutations(reports, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="also write the markdown here")
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--design-n", type=int, default=12, help="configurations per family of the design runs")
    parser.add_argument("--cache-dir", default=None, help="embedding and fit cache [default: ~/.cache/tecurate]")
    parser.add_argument("--work", default="~/.cache/tecurate/noise", help="where the audits are kept")
    parser.add_argument("--append", type=float, default=0.0, help="also audit each table with this share of rows appended")
    parser.add_argument("--degraded-seeds", type=int, default=2, help="seeds of the truncated-template audits")
    parser.add_argument("--cost-datasets", type=int, default=2, help="datasets audited cold for the cost")
    parser.add_argument("--n-configs", type=int, default=12, help="the default n_configs judged for compare and cost")
    parser.add_argument("--healthy-degraded-seeds", type=int, default=3,
                        help="seeds of the degraded audits on the healthy tables (HEALTHY)")
    parser.add_argument("--healthy-only", action="store_true",
                        help="only the section on the healthy tables (skips the four tables of section 7)")
    parser.add_argument("--repeats-k", type=int, nargs="+", default=[2, 3],
                        help="--repeats K judged on the healthy tables (base audits at seeds 0..2K-1)")
    parser.add_argument("--collect-only", action="store_true")
    args = parser.parse_args()
    runner = Runner(args)
    seeds = range(args.seeds)
    runs = {} if args.healthy_only else collect(runner, seeds)
    healthy = collect_healthy(runner, seeds)
    if args.collect_only:
        return
    sections = [] if args.healthy_only else [report(runs, args, runner)]
    sections.append(HEALTHY_HEADING + healthy_section(healthy, args))
    sections.append(REPEATS_HEADING + repeats_section(healthy, args))
    text = "\n\n".join(sections)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


def at(runs: dict[str, list[AuditReport]], keep: int | None = None, **overrides: object) -> dict[str, list[AuditReport]]:
    return {name: [reanalyzed(r, keep, **overrides) for r in reports] for name, reports in runs.items()}


def report(runs: dict[str, dict[str, list[AuditReport]]], args: argparse.Namespace, runner: Runner) -> str:
    n = args.design_n
    design = {k: at(runs["design"], k) for k in (8, 10, n)}
    sections = ["### Where the noise comes from\n\n" + decomposition({
        "random draw (before)": runs["random"],
        "random, configurations fixed": runs["random, configs fixed"],
        "random, split and model seed fixed": runs["random, split fixed"],
        "fixed design, 8 per family": design[8],
        f"fixed design, {n} per family": design[n],
    })]

    rows = [["random draw, 8 per family, gates before (today)",
             *flip_cells({d: [legacy_statuses(r) for r in rs] for d, rs in runs["random"].items()})],
            ["fixed design, 8 per family, gates before",
             *flip_cells({d: [legacy_statuses(r) for r in rs] for d, rs in design[8].items()})]]
    for k in (8, 10, n):
        for confidence in (0.5, 0.9, 0.95):
            label = f"fixed design, {k} per family, new gates, gate_confidence {confidence}"
            rows.append([label, *flip_cells({d: [statuses(r, confidence) for r in rs]
                                             for d, rs in design[k].items()})])
    sections.append("### Gate flips over seeds\n\n" + table(["draw, gates", *GATE_NAMES], rows))

    chosen = design[args.n_configs]
    degraded = at(runs["design, truncated"], args.n_configs)
    before_pairs = [p for rs in runs["random"].values() for p in seed_pairs(rs)]
    after_pairs = [p for rs in chosen.values() for p in seed_pairs(rs)]
    before_caught = [(b, t) for d in runs["random"] for b in runs["random"][d] for t in runs["random, truncated"][d]]
    after_caught = [(b, t) for d in chosen for b in chosen[d] for t in degraded[d]]
    noised = at(runs["design, noised"], args.n_configs)
    before_noised = [(b, t) for d in runs["random"] for b in runs["random"][d] for t in runs["random, noised"][d]]
    after_noised = [(b, t) for d in chosen for b in chosen[d] for t in noised[d]]
    compare_rows = [
        ["before (random draw, point estimates, allowed rise 5%)", pair_rate(before_pairs, legacy_regression),
         pair_rate(before_caught, legacy_regression), pair_rate(before_noised, legacy_regression)],
        [f"after (fixed design, {args.n_configs} per family, bounds)", pair_rate(after_pairs, regression),
         pair_rate(after_caught, regression), pair_rate(after_noised, regression)],
    ]
    which: dict[str, int] = {}
    for old, new in after_pairs:
        for name in regression(old, new):
            which[name] = which.get(name, 0) + 1
    sections.append("### compare: false regressions and a real degradation\n\n" + table(
        ["compare", "false regressions (same data, other seed; all ordered seed pairs)",
         "truncated template caught (all base × degraded seed pairs)",
         "noised numbers caught (all base × degraded seed pairs)"], compare_rows)
        + f"\n\nChecks behind the remaining false regressions: {which or 'none'}.")
    sections.append(cost_section(runner, args))
    if args.append:
        sections.append(append_section(runner, args))
    return "\n\n".join(sections)


def median_accuracy(report: AuditReport, representation: str) -> float:
    return float(np.median([m.splits[ID_TEST].accuracy for m in report.models if m.representation == representation]))


HEALTHY_HEADING = "### compare on tables where the text route has something to lose\n\n"


def healthy_section(runs: dict[str, dict[str, list[AuditReport]]], args: argparse.Namespace) -> str:
    """Per healthy table: how large each degradation is, how often compare catches it, and how
    often it cries regression on unchanged data (another seed only); compare before and after
    the verdict check weighs a gate's flip against the noise of what the gate watches."""
    rows = []
    judges: dict[str, Callable[[AuditReport, AuditReport], set[str]]] = {
        "before": regression_before_verdict_rule, "after": regression}
    for label, judge in judges.items():
        totals = {"false": [0, 0], "truncated": [0, 0], "noised": [0, 0]}
        for name, conditions in runs.items():
            base = conditions["base"][: args.seeds]
            size = {c: np.median([median_accuracy(r, "te") for r in reports]) for c, reports in conditions.items()}
            raw = np.median([median_accuracy(r, "raw") for r in base])
            te_only = np.median([r.summary.paired[ID_TEST].te_only_collapse_rate for r in base])
            cells = [label, name, f"{size['base']:.3f} / {raw:.3f}", f"{te_only:.0%}"]
            found = [judge(a, b) for a, b in seed_pairs(base)]
            false = [bool(f) for f in found]
            totals["false"][0] += sum(false)
            totals["false"][1] += len(false)
            behind = sorted({name for f in found for name in f})
            cells.append(f"{sum(false)}/{len(false)}" + (f" ({', '.join(behind)})" if behind else ""))
            for condition in ("truncated", "noised"):
                caught: dict[str, int] = {}
                hits = same = n_same = 0
                pairs = [(b, d, i == j) for i, b in enumerate(base) for j, d in enumerate(conditions[condition])]
                for b, d, same_seed in pairs:
                    checks = judge(b, d)
                    hits += bool(checks)
                    n_same += same_seed
                    same += same_seed and bool(checks)
                    for check in checks:
                        caught[check] = caught.get(check, 0) + 1
                noop = condition == "noised" and NUMBERLESS.get(name, False)
                if not noop:
                    totals[condition][0] += hits
                    totals[condition][1] += len(pairs)
                by = ", ".join(f"{k} {v}" for k, v in sorted(caught.items(), key=lambda kv: -kv[1]))
                cell = (f"{hits}/{len(pairs)} ({hits / len(pairs):.0%}); same seed {same}/{n_same}"
                        + (f" — {by}" if by else ""))
                cells += [f"{size[condition] - size['base']:+.3f}",
                          f"no-op (no number in its texts): {cell}" if noop else cell]
            rows.append(cells)
        share = {key: f"{k}/{n} ({k / n:.0%})" for key, (k, n) in totals.items()}
        rows.append([label, "all", "", "", share["false"], "", share["truncated"], "", share["noised"]])
    return table(["compare", "table (target, shift)", "median te / raw accuracy, id_test", "te-only share, id_test",
                  "false regressions (other seed; ordered pairs)", "truncated: Δ median te accuracy",
                  "truncated caught (base × degraded seeds)", "noised: Δ median te accuracy",
                  "noised caught (base × degraded seeds)"], rows)


REPEATS_HEADING = "### compare between `--repeats` reports\n\n"


def repeated(reports: Sequence[AuditReport]) -> AuditReport:
    """The ``--repeats`` report of these single-seed audits, exactly as the pipeline combines them."""
    first = reports[0].config
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in first.items()
             if k in AuditConfig.__dataclass_fields__}
    return assess_stability(list(reports), replace(AuditConfig(**given), repeats=len(reports)))


def repeats_section(runs: dict[str, dict[str, list[AuditReport]]], args: argparse.Namespace) -> str:
    """compare between ``--repeats K`` reports on disjoint seed sets (a change of data moves the
    split as a seed does), and base K-sets against degraded K-sets of seeds 0..2."""
    rows = []
    for k in args.repeats_k:
        totals = {"false": [0, 0], "truncated": [0, 0], "noised": [0, 0]}
        for name, conditions in runs.items():
            sets = list(combinations(range(len(conditions["base"])), k))
            base = {ss: repeated([conditions["base"][i] for i in ss]) for ss in sets}
            pairs = [(base[a], base[b]) for a, b in permutations(sets, 2) if not set(a) & set(b)]
            found = [regression(a, b) for a, b in pairs]
            behind = sorted({c for f in found for c in f})
            false = sum(map(bool, found))
            totals["false"][0] += false
            totals["false"][1] += len(pairs)
            cells = [f"--repeats {k}", name, f"{false}/{len(pairs)}" + (f" ({', '.join(behind)})" if behind else "")]
            for condition in ("truncated", "noised"):
                degraded = [repeated(ds) for ds in combinations(conditions[condition], k)]
                hits = sum(bool(regression(b, d)) for b in base.values() for d in degraded)
                n = len(base) * len(degraded)
                noop = condition == "noised" and NUMBERLESS.get(name, False)
                if not noop:
                    totals[condition][0] += hits
                    totals[condition][1] += n
                cells.append(("no-op: " if noop else "") + f"{hits}/{n}")
            rows.append(cells)
        rows.append([f"--repeats {k}", "all", *(f"{h}/{n} ({h / n:.0%})" for h, n in totals.values())])
    return table(["compare", "table", "false regressions (disjoint seed sets, ordered pairs)",
                  "truncated caught (base × degraded sets)", "noised caught (base × degraded sets)"], rows)


def cost_section(runner: Runner, args: argparse.Namespace) -> str:
    """Cold audits (no cache at all), seed 0: today's grid vs the chosen one, stage by stage.

    The embedding is the same work in both and dominates; on these shared cores its time swings
    by tens of seconds between two runs, so the grid's and the analysis' own cost is shown too.
    """
    rows = []
    sums = {"before": np.zeros(4), "after": np.zeros(4)}
    stages = ("embed", "fit", "analyze", "total")
    for d in DATASETS[: args.cost_datasets]:
        # Before: 8 random configurations and the spurious gate on the fitted flags (no resampling).
        before = runner.report(d, "cold random", 0, draw_seed=0, cold=True, spurious_resamples=0)
        after = runner.report(d, "cold design", 0, n_configs=args.n_configs, cold=True)
        for label, r in (("before", before), ("after", after)):
            times = np.array([r.timings[k] for k in stages])
            sums[label] += times
            rows.append([d.name, label, *(f"{t:.1f}" for t in times)])
    for label in ("before", "after"):
        rows.append(["all", label, *(f"{t:.1f}" for t in sums[label])])
    b, a = sums["before"], sums["after"]
    return ("### Cold-audit cost (no embedding or fit cache, seed 0)\n\n"
            + table(["dataset", "grid", *(f"{k} (s)" for k in stages)], rows)
            + f"\n\nTotal {a[3] / b[3] - 1:+.0%}; fit + analysis {(a[1] + a[2]) / (b[1] + b[2]) - 1:+.0%} "
            f"({b[1] + b[2]:.1f} s → {a[1] + a[2]:.1f} s), i.e. {(a[1] + a[2] - b[1] - b[2]) / b[3]:+.0%} of the "
            "cold audit at equal embedding time.")


def append_section(runner: Runner, args: argparse.Namespace) -> str:
    """A table vs the same table with ``--append`` rows appended (same seed), against a seed change."""
    rows = []
    for d in DATASETS:
        base = [reanalyzed(runner.report(d, f"design{args.design_n}", s, n_configs=args.design_n), args.n_configs)
                for s in range(args.seeds)]
        grown = [reanalyzed(runner.report(d, f"design{args.design_n} append{args.append}", s,
                                          n_configs=args.design_n, append=args.append), args.n_configs)
                 for s in range(args.seeds)]
        moved = sum(statuses(a)[g] != statuses(b)[g] for a, b in zip(base, grown) for g in GATE_NAMES)
        seed_moved = sum(statuses(a)[g] != statuses(b)[g] for a, b in zip(base, base[1:]) for g in GATE_NAMES)
        rates = sum(c.delta not in (None, 0.0) for a, b in zip(base, grown)
                    for c in compare_reports(a.to_dict(), b.to_dict()).checks if c.delta is not None)
        seed_rates = sum(c.delta not in (None, 0.0) for a, b in zip(base, base[1:])
                         for c in compare_reports(a.to_dict(), b.to_dict()).checks if c.delta is not None)
        false = sum(bool(regression(a, b)) for a, b in zip(base, grown))
        rows.append([d.name, moved, seed_moved, rates, seed_rates, f"{false}/{len(base)}"])
    return (f"### Appending {args.append:.0%} rows vs changing the seed\n\n"
            + table(["dataset", "gate statuses moved by the rows", "… by the next seed",
                     "compare rates moved by the rows", "… by the next seed", "compare regressions (rows)"], rows))

if __name__ == "__main__":
    main()
