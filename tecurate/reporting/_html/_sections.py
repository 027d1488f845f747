"""The cards of the page, one function each, in the order a reader needs them: the verdict,
the plots that explain it, then the data, text and configuration behind it.

Every string from the data goes through ``esc``; cells and captions handed to the building
blocks of ``_markup`` are finished HTML.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tecurate.reporting._html._markup import (
    COLORS,
    LABELS,
    MUTED,
    STATUS_COLORS,
    bad,
    badge,
    esc,
    figure,
    grid,
    kv_table,
    legend,
    note,
    num,
    pct,
    section,
    table,
)
from tecurate.reporting._html._plots import aotl_plot, pairs_plot, strip_plot
from tecurate.reporting._html._svg import FAINT, base_marker, line_key, marker
from tecurate.reporting._report import split_names

Group = tuple[str, str, list[Mapping[str, Any]]]
"""Models of one family and route: ("logreg · te", "te", [models])."""


def _groups(models: Sequence[Mapping[str, Any]]) -> list[Group]:
    families = list(dict.fromkeys(m["family"] for m in models))
    groups = []
    for family in families:
        for rep in COLORS:
            members = [m for m in models if m["family"] == family and m["representation"] == rep]
            if members:
                groups.append((f"{family} · {rep}", rep, members))
    return groups


def verdict_section(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    status = verdict["status"]
    reasons = "".join(f"<li>{esc(reason)}</li>" for reason in verdict["reasons"])
    rows = [[badge(gate["status"]), esc(gate["gate"]), esc(gate["message"]),
             esc(num(gate["value"])), esc(num(gate["threshold"]))] for gate in verdict["gates"]]
    return (f"<section class=\"verdict\" style=\"--status:{STATUS_COLORS[status]}\">\n"
            f"<h2>Verdict {badge(status)} <span class=\"muted\">exit code {esc(verdict['exit_code'])}"
            f"</span></h2>\n"
            + (f"<ul>{reasons}</ul>\n" if reasons else "<p>Every gate passed.</p>\n")
            + table(["status", "gate", "finding", "value", "threshold"], rows, numeric={3, 4})
            + "</section>")


def _aotl_table(fits: Mapping[str, Mapping[str, Any]], split: str) -> str:
    rows = []
    for rep, per_rep in fits.items():
        fit = per_rep.get(split)
        if fit is None:
            continue
        healthy_ci = fit["healthy"]["r_ci"]
        ci = "–" if healthy_ci is None else f"[{healthy_ci[0]:.2f}, {healthy_ci[1]:.2f}]"
        flag = bad("spurious") if fit["spurious"] else "no"
        rows.append([esc(rep), esc(f"{num(fit['all']['r2'], '.2f')} ({fit['all']['n']})"),
                     esc(f"{num(fit['healthy']['r2'], '.2f')} ({fit['healthy']['n']})"), esc(ci),
                     esc(pct(fit["collapsed_share"])),
                     flag + "".join(f"<br><span class=\"muted code\">{esc(r)}</span>"
                                    for r in fit["reasons"])])
    return table(["route", "R² all (n)", "R² healthy (n)", "r CI healthy", "collapsed", "spurious"],
                 rows, numeric={1, 2, 3, 4})


def _aotl_legend(routes: Collection[str]) -> str:
    return legend([
        *[(marker(rep, False, 6, 6, 4), LABELS[rep]) for rep in COLORS if rep in routes],
        (marker("raw", True, 6, 6, 4) + marker("te", True, 18, 6, 4), "collapsed"),
        (line_key(MUTED, None), "fit, all models"),
        (line_key(MUTED, "6 4"), "fit, healthy models"),
        (base_marker(6, 6), "base-rate point"),
        (line_key(FAINT, "2 3"), "y = x"),
    ])


def aotl_section(report: Mapping[str, Any]) -> str:
    fits = report["aotl"]
    splits = list(dict.fromkeys(split for per_rep in fits.values() for split in per_rep))
    eps = report["config"]["probit_eps"]
    figures = [figure(esc(split), aotl_plot(report, split, eps) + _aotl_table(fits, split))
               for split in splits]
    if not figures:
        figures.append("<p class=\"muted\">No labelled OOD split, so no accuracy-on-the-line fit.</p>")
    return section("Accuracy on the line",
                   note("Each point is one model: ID accuracy (id_test) against OOD accuracy, both on "
                        f"probit axes (clipped to [{esc(eps)}, 1 − {esc(eps)}]). Collapsed models pile up "
                        "at the base-rate point; a line that only holds because of them is spurious.")
                   + _aotl_legend({m["representation"] for m in report["models"]} | {"raw", "te"})
                   + grid(figures))


def _collapse_figure(report: Mapping[str, Any], groups: list[Group], split: str) -> str:
    rates = [(label, rep, [(m["splits"][split]["majority_class_rate"], m["splits"][split]["collapsed"],
                            f"{m['config_id']} ({rep})") for m in members if split in m["splits"]])
             for label, rep, members in groups]
    summary = report["summary"]["representations"]
    caption = " · ".join(f"{rep} {pct(summary[rep][split]['collapse_rate'])} collapsed"
                         for rep in COLORS if split in summary.get(rep, {}))
    plot = strip_plot(rates, report["config"]["collapse_threshold"], report["target"]["n_classes"])
    return figure(f"{esc(split)} <span class=\"muted\">{esc(caption)}</span>", plot)


def _collapse_table(groups: list[Group], splits: list[str]) -> str:
    rows = []
    for label, _, members in groups:
        cells = []
        for split in splits:
            on_split = [m["splits"][split] for m in members if split in m["splits"]]
            collapsed = sum(metrics["collapsed"] for metrics in on_split)
            cells.append(bad(f"{collapsed}/{len(on_split)}") if collapsed else f"0/{len(on_split)}")
        rows.append([esc(label), *cells])
    return table(["family · route", *splits], rows, numeric=set(range(1, len(splits) + 1)))


def collapse_section(report: Mapping[str, Any]) -> str:
    splits = split_names(report)
    groups = _groups(report["models"])
    figures = [_collapse_figure(report, groups, split) for split in splits]
    return section("Collapse per family and representation",
                   note("Majority-class rate of every model (share of its predictions that go to one "
                        "class). At or beyond the dashed line "
                        f"({esc(report['config']['collapse_threshold'])}) a model counts as collapsed.")
                   + grid(figures) + "<h3>Collapsed models</h3>\n" + _collapse_table(groups, splits))


def _accuracy_row(summary: Mapping[str, Any], split: str, route: str = "te") -> list[str]:
    reps = summary["representations"]
    raw, te = reps.get("raw", {}).get(split), reps.get(route, {}).get(split)
    paired = (summary["paired"] if route == "te" else summary["paired_routes"][route]).get(split)
    gap = paired["median_accuracy_gap"] if paired else None
    shown = esc(num(gap, "+.3f"))
    return [esc(split), esc(num(raw["accuracy_quantiles"]["median"] if raw else None)),
            esc(num(te["accuracy_quantiles"]["median"] if te else None)),
            bad(shown) if gap is not None and gap > 0 else shown,
            esc(pct(paired["te_only_collapse_rate"] if paired else None)),
            esc(pct(paired["raw_only_collapse_rate"] if paired else None)),
            esc(paired["n_pairs"] if paired else "–")]


def accuracy_section(report: Mapping[str, Any]) -> str:
    splits = split_names(report)
    rows = [_accuracy_row(report["summary"], split) for split in splits]
    figures = [figure(esc(split), pairs_plot(report["models"], split)) for split in splits]
    extra = "".join(
        f"<h3>{esc(route)} against raw</h3>\n"
        + note(f"The same configurations fitted on {esc(LABELS.get(route, route))}; a negative gap means "
               "the route gains accuracy over raw features alone.")
        + table(["split", "raw median acc", f"{esc(route)} median acc", f"gap raw − {esc(route)}",
                 f"{esc(route)}-only collapse", "raw-only collapse", "pairs"],
                [_accuracy_row(report["summary"], split, route) for split in splits], numeric={1, 2, 3, 4, 5, 6})
        for route in report["summary"].get("paired_routes", {}))
    return section("Accuracy, raw vs text embeddings",
                   note("The same configuration fitted on raw features and on the embeddings; a positive "
                        "gap means the embeddings cost accuracy. The dotted line is the split's base rate "
                        "(always predicting its most frequent class).")
                   + table(["split", "raw median acc", "te median acc", "gap raw − te", "te-only collapse",
                            "raw-only collapse", "pairs"], rows, numeric={1, 2, 3, 4, 5, 6})
                   + extra + grid(figures))


def agreement_section(report: Mapping[str, Any]) -> str:
    """Agreement-on-the-line estimates, when the report has them (tecurate.analysis._agreement)."""
    rows = []
    for rep, fits in (report.get("agreement") or {}).items():
        for split, fit in fits.items():
            mae = fit.get("mae_pp") or {}
            rows.append([esc(rep), esc(split), esc(fit["healthy"]["n_models"]), esc(fit["n_collapsed"]),
                         esc(num(fit["healthy"]["r2"], ".2f")), esc(num(fit["all"]["r2"], ".2f")),
                         esc(num(mae.get("aline_d"), ".1f")), esc(num(mae.get("aline_d_all"), ".1f"))])
    if not rows:
        return ""
    return section("Agreement on the line",
                   note("OOD accuracy estimated from unlabelled OOD rows (Baek et al. 2022), fitted on "
                        "healthy models; collapsed models agree with each other perfectly and would bias "
                        "it. The error columns need OOD labels.")
                   + table(["route", "OOD split", "healthy models", "collapsed", "agreement R² healthy",
                            "agreement R² all", "MAE ALine-D healthy (pp)", "MAE ALine-D all (pp)"],
                           rows, numeric={2, 3, 4, 5, 6, 7}))


def stability_section(report: Mapping[str, Any]) -> str:
    """The spread of the headline figures over ``--repeats`` seeds, when there were repeats."""
    stability = report.get("stability")
    if not stability:
        return ""
    seeds = ", ".join(f"{seed}: {status}" for seed, status in zip(stability["seeds"], stability["statuses"]))
    rows = [[esc(f["figure"]), esc(f["representation"] or "–"), esc(f["split"] or "–"), esc(f["n"]),
             esc(num(f["min"])), esc(num(f["median"])), esc(num(f["max"]))] for f in stability["figures"]]
    return section("Stability over seeds",
                   f"<p>Verdict per seed: {esc(seeds)}; {esc(stability['verdict_flips'])} flip(s); the "
                   f"report shows seed {esc(stability['reported_seed'])}.</p>\n"
                   + table(["figure", "route", "split", "seeds", "min", "median", "max"], rows,
                           numeric={3, 4, 5, 6}))


def data_section(report: Mapping[str, Any]) -> str:
    target = report["target"]
    shift = report["shift"]
    classes = target["classes"]
    rows = [[esc(split), esc(target["n_rows"].get(split, "–")),
             *[esc(pct(shares.get(cls))) for cls in classes]]
            for split, shares in target["distribution"].items()]
    distribution = table(["split", "rows", *classes], rows, numeric=set(range(1, len(classes) + 2)))
    ood = table(["OOD split", "rows", "description"],
                [[esc(s["name"]), esc(s["n_rows"]), esc(s["description"])] for s in shift["ood_splits"]],
                numeric={1})
    warnings = "".join(f"<li class=\"warn\">{esc(w)}</li>" for w in report["warnings"])
    return section("Data and shift",
                   kv_table(report["input"])
                   + f"<h3>Shift ({esc(shift['kind'])})</h3>\n<p>{esc(shift['description'])}</p>\n" + ood
                   + "<h3>Target distribution per split</h3>\n" + distribution
                   + (f"<h3>Warnings</h3>\n<ul>{warnings}</ul>\n" if warnings else ""))


def text_section(report: Mapping[str, Any]) -> str:
    ser = report["serialization"]
    return section("Serialization and embedding",
                   f"<p>Template <b>{esc(ser['template'])}</b> over {len(ser['columns'])} columns: "
                   f"{esc(', '.join(ser['columns']))}</p>\n<h3>Example row text</h3>\n"
                   f"<div class=\"example\">{esc(ser['example'])}</div>\n<h3>Embedding</h3>\n"
                   + kv_table(report["embedding"]))


def config_section(report: Mapping[str, Any]) -> str:
    return section("Resolved configuration",
                   note("CLI flags over the config file over the defaults, as used.")
                   + kv_table(report["config"]) + "<h3>Stage timings (seconds)</h3>\n"
                   + kv_table(report["timings"]))
