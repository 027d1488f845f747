"""``sweep``: every template × curation × embedder as one audit of the same rows, splits,
configurations and seeds, scored and ranked. Nothing here prints or exits.

The table is loaded once; every combination is checked (its template, its curation, its
embedder loaded) before the first text is embedded, so bad input is exit 2 with nothing spent.
Embeddings and fits come from the audit's caches: the raw route is fitted once for all
combinations, a text two combinations share is embedded once, and a re-run embeds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from tecurate import __version__
from tecurate.analysis import assess_stability
from tecurate.curation import parse_curation
from tecurate.embedding import Embedder
from tecurate.errors import TecurateError
from tecurate.reporting import created_now
from tecurate.status import exit_code
from tecurate.sweeps._report import Combination, SweepReport
from tecurate.sweeps._score import TERMS, Spread, rank, score_terms
from tecurate.sweeps._settings import DEFAULT_EMBEDDER, REPLACED, SweepConfig

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: "sweep" (combinations done), and each audit's "embed" and "fit"."""


def sweep(data: Any, config: Any = None, sweep_config: Any = None, *, target: str | None = None,
          shift_col: str | None = None, templates: Any = None, curations: Any = None, embedders: Any = None,
          fail_if_best_fails: bool | None = None, embedder: Embedder | None = None,
          progress: Progress | None = None, **settings: Any) -> SweepReport:
    """Audit ``data`` once per template × curation × embedder and rank the combinations.

    >>> sweep("data.csv", target="y", shift_col="region", curations="none,round:3,drop-ids",
    ...       repeats=3).statement  # doctest: +SKIP

    Audit settings come from ``config`` (an ``AuditConfig``) or as keywords, as for ``audit``
    (``repeats`` seeds score each combination); the lists to compare from ``sweep_config`` (a
    :class:`SweepConfig`) or ``templates``, ``curations``, ``embedders`` (a list or a
    comma-separated string). ``representations`` is the audit's setting: every combination fits
    those routes (``raw+te`` too) and the report gives each route's accuracy per split; the score
    compares te with raw, so te must be one of them. ``embedder`` replaces every model named
    (tests pass a fake).
    """
    from tecurate.engines import open_engine
    from tecurate.pipeline import (
        audit_seeds,
        build_embedder,
        choose_rows,
        curate_rows,
        load,
        resolve_settings,
        with_template,
    )

    lists = {"sweep_templates": templates, "sweep_curations": curations, "sweep_embedders": embedders,
             "fail_if_best_fails": fail_if_best_fails}
    given = {k: v for k, v in lists.items() if v is not None}
    if sweep_config is not None and given:
        raise TecurateError(f"give either a SweepConfig or {', '.join(given)}, not both")
    sweep_config = sweep_config if sweep_config is not None else SweepConfig(**given)
    config = resolve_settings(config, {"target": target, "shift_col": shift_col, **settings})
    if config.embeddings or config.embedding_col:
        raise TecurateError("sweep compares the texts and embedders that make the vectors; brought vectors "
                            "(--embeddings, --embedding-col) have one of each: audit them instead")
    if "te" not in config.representations:
        raise TecurateError("--representations must include te: the sweep scores the text embeddings against raw")
    notify: Progress = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    curations = _canonical(sweep_config.sweep_curations)
    loaded = load(data, replace(config, template="sentence", curations="none"))
    rows = choose_rows(loaded, config)
    templates = {t: with_template(loaded, t) for t in sweep_config.sweep_templates}
    combos = [(t, c, e) for t in sweep_config.sweep_templates for c in curations for e in sweep_config.sweep_embedders]
    for template, curation in dict.fromkeys((t, c) for t, c, _ in combos):
        curate_rows(templates[template], rows, replace(config, template=template, curations=curation))
    models = {name: embedder if embedder is not None else
              build_embedder(replace(config, embedder=None if name == DEFAULT_EMBEDDER else name))
              for name in sweep_config.sweep_embedders}
    checked = time.perf_counter()
    results = []
    with open_engine(config.to_dict()) as engine:  # one engine (one Ray cluster) for every combination
        for done, (template, curation, name) in enumerate(combos):
            notify("sweep", done, len(combos))
            combo_config = replace(config, template=template, curations=curation,
                                   embedder=None if name == DEFAULT_EMBEDDER else name)
            begun = time.perf_counter()
            reports = audit_seeds(templates[template], combo_config, models[name], notify, engine=engine)
            shown = reports[0] if len(reports) == 1 else assess_stability(reports, combo_config)
            results.append((template, curation, name, [r.to_dict() for r in reports], shown.to_dict(),
                            time.perf_counter() - begun))
    notify("sweep", len(combos), len(combos))
    default = (config.template, "none", sweep_config.sweep_embedders[0])
    return _report(results, default, config, sweep_config, started, checked)


def _canonical(curations: Sequence[str]) -> list[str]:
    """Each curation in its canonical spelling; two that mean the same are a user error."""
    specs = [parse_curation(c).spec for c in curations]
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise TecurateError(f"--curations names {', '.join(repeated)} twice")
    return specs


def _split_figures(seeds: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per split, the medians over the seeds of the collapse rates, the accuracy gap raw − te, each
    route's median model accuracy (``raw_median_accuracy``, ``te_median_accuracy``, ...) and, for a
    route besides te (``raw+te``), its paired median gap raw − route (``raw+te_median_accuracy_gap``)."""
    figures: dict[str, dict[str, float | None]] = {}
    for split in seeds[0]["summary"]["paired"]:
        def median(read: Callable[[dict[str, Any]], float | None]) -> float | None:
            values = [v for v in (read(r) for r in seeds) if v is not None]
            return float(np.median(values)) if values else None

        figures[split] = {
            "raw_collapse_rate": median(lambda r: r["summary"]["representations"]["raw"][split]["collapse_rate"]),
            "te_collapse_rate": median(lambda r: r["summary"]["representations"]["te"][split]["collapse_rate"]),
            "te_only_collapse_rate": median(lambda r: r["summary"]["paired"][split]["te_only_collapse_rate"]),
            "median_accuracy_gap": median(lambda r: r["summary"]["paired"][split]["median_accuracy_gap"]),
            **{f"{rep}_median_accuracy": median(lambda r, rep=rep: r["summary"]["representations"][rep][split]
                                                ["accuracy_quantiles"]["median"])
               for rep in seeds[0]["summary"]["representations"] if split in seeds[0]["summary"]["representations"][rep]},
            **{f"{rep}_median_accuracy_gap": median(lambda r, rep=rep: r["summary"]["paired_routes"][rep][split]
                                                    ["median_accuracy_gap"])
               for rep, pairs in seeds[0]["summary"].get("paired_routes", {}).items() if split in pairs},
        }
    return figures


def _report(results: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any], float]],
            default: tuple[str, str, str], config: Any, sweep_config: Any, started: float,
            checked: float) -> SweepReport:
    per_seed = [[score_terms(r) for r in seeds] for _, _, _, seeds, _, _ in results]
    scores = [Spread.of([t["score"] for t in terms]) for terms in per_seed]
    order, groups = rank(scores)
    combinations = []
    for position, i in enumerate(order, start=1):
        template, curation, name, seeds, shown, seconds = results[i]
        combinations.append(Combination(
            id=f"{template} | {curation} | {name}", template=template, curation=curation, embedder=name,
            is_default=(template, curation, name) == default, rank=position, tie_group=groups[i], score=scores[i],
            terms={term: float(np.median([t[term] for t in per_seed[i]])) for term in TERMS},
            splits=_split_figures(seeds), status=shown["verdict"]["status"],
            gates={g["gate"]: g["status"] for g in shown["verdict"]["gates"]},
            example=shown["serialization"]["example"], columns=shown["serialization"]["columns"],
            steps=shown["serialization"]["curation"]["steps"], seconds=round(seconds, 3)))
    best = combinations[0]
    baseline = next((c for c in combinations if c.is_default), None)
    improvement = None if baseline is None else {
        "score": baseline.score.median - best.score.median,
        "te_only": baseline.terms["te_only"] - best.terms["te_only"],
        "gap": baseline.terms["gap"] - best.terms["gap"]}
    first = results[0][3][0]
    shared = {k: v for k, v in config.to_dict().items() if k not in REPLACED}
    warnings = list(dict.fromkeys(w for _, _, _, seeds, _, _ in results for r in seeds for w in r["warnings"]))
    if config.repeats == 1:
        warnings.append("one seed: the ranking has no seed spread, so only equal scores tie; --repeats 3 or "
                        "more marks the differences that are noise")
    if baseline is None:
        warnings.append(f"the default combination ({' | '.join(default)}) is not in the sweep: no improvement "
                        "is stated")
    finished = time.perf_counter()
    return SweepReport(
        tool_version=__version__,
        created_at=created_now(),
        input={k: first["input"][k] for k in ("path", "sha256", "format", "n_rows", "n_rows_used", "sampled")},
        config={**shared, **sweep_config.to_dict()},
        target={"name": first["target"]["name"], "classes": first["target"]["classes"],
                "n_rows": first["target"]["n_rows"]},
        shift={"description": first["shift"]["description"]},
        seeds=[config.seed + k for k in range(config.repeats)],
        combinations=combinations, best=best.id, default=None if baseline is None else baseline.id,
        improvement=improvement, statement=_statement(best, baseline),
        fail_if_best_fails=sweep_config.fail_if_best_fails,
        best_fails=exit_code(best.status, config.fail_on) != 0,
        timings={"check": round(checked - started, 3), "audits": round(finished - checked, 3),
                 "total": round(finished - started, 3)},
        warnings=warnings,
    )


def _statement(best: Combination, baseline: Combination | None) -> str:
    """The sweep's answer in one sentence."""
    head = f"best: {best.id} (score {best.score.median:.3f}, {best.status})"
    if baseline is None:
        return head
    if baseline is best:
        return f"{head}: the default is the best combination"
    if baseline.tie_group == 1:
        return (f"{head}; the default {baseline.id} (score {baseline.score.median:.3f}) is tied with it inside "
                "the seed spread: no combination is better than the default beyond noise")
    return (f"{head}, {baseline.score.median - best.score.median:.3f} better than the default {baseline.id} "
            f"(score {baseline.score.median:.3f}): te-only collapse {best.terms['te_only']:.0%} vs "
            f"{baseline.terms['te_only']:.0%}, median accuracy gap {best.terms['gap']:+.3f} vs "
            f"{baseline.terms['gap']:+.3f}")
