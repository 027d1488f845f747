"""The self-contained HTML report: one file, inline CSS and SVG, no script, no network.

Rendered from the report's plain JSON data (fresh or loaded from disk), like the terminal
summary, so ``tecurate report saved.json --html`` writes the same page as ``audit --html``.
Every string that comes from the data (column names, class labels, cell values, paths, split
names) goes through ``_e``; a Content-Security-Policy that forbids scripts and every fetch is
the second line of defence. Plots are drawn here, in a few small SVG helpers, so the page
needs no plotting library and opens offline.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tecurate.analysis import probit
from tecurate.data import ID_TEST

__all__ = ["render_html"]

COLORS = {"raw": "#1f6fb4", "te": "#e0620d"}
"""Raw-feature models in blue, text-embedding models in orange, in every plot."""

LABELS = {"raw": "raw features", "te": "text embeddings"}
STATUS_COLORS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
background:#f6f8fa}
main{max-width:1120px;margin:0 auto;padding:24px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;margin:0 0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px}
p.sub{margin:0 0 16px;color:#59636e;overflow-wrap:anywhere}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:700;
letter-spacing:.04em}
.verdict{border-left:8px solid var(--status)}
.verdict ul{margin:8px 0 12px;padding-left:20px}
table{border-collapse:collapse;margin:4px 0 8px;font-size:13px}
th,td{border-bottom:1px solid #e4e7eb;padding:3px 10px 3px 0;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}
.kv td:first-child{white-space:nowrap}
td{overflow-wrap:anywhere}
.grid{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;flex:1 1 480px;max-width:540px;min-width:0}
figcaption{font-weight:600;margin:0 0 4px;overflow-wrap:anywhere}
svg{display:block;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#424a53}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:0 0 10px;color:#424a53}
.legend span{display:inline-flex;align-items:center;gap:5px}
.legend svg{display:inline}
.example{font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;
border:1px solid #e4e7eb;border-radius:6px;padding:10px;white-space:pre-wrap;overflow-wrap:anywhere;
margin:4px 0 8px}
.code{white-space:nowrap}.bad{color:#cf222e;font-weight:600}.warn{color:#9a6700}.muted{color:#59636e}
footer{color:#59636e;font-size:12px;padding:0 4px}
"""


def _e(value: Any) -> str:
    """Text from the data, made safe for element content and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for one report: verdict and reasons first, then plots, then details."""
    verdict = report["verdict"]
    title = f"tecurate: {verdict['status'].upper()} – {report['input']['path']}"
    body = "\n".join([
        _header(report),
        _verdict_section(report),
        _aotl_section(report),
        _collapse_section(report),
        _accuracy_section(report),
        _agreement_section(report),
        _stability_section(report),
        _data_section(report),
        _text_section(report),
        _config_section(report),
        _footer(report),
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


# --- sections -------------------------------------------------------------------------------

def _header(report: Mapping[str, Any]) -> str:
    source = report["input"]
    target = report["target"]
    return (f"<h1>tecurate audit of {_e(source['path'])}</h1>\n"
            f"<p class=\"sub\">{_e(source['n_rows_used'])} rows used of {_e(source['n_rows'])} · "
            f"target <b>{_e(target['name'])}</b> ({_e(target['n_classes'])} classes) · "
            f"shift: {_e(report['shift']['description'])}</p>")


def _verdict_section(report: Mapping[str, Any]) -> str:
    verdict = report["verdict"]
    status = verdict["status"]
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in verdict["reasons"])
    rows = [[_badge(gate["status"]), _e(gate["gate"]), _e(gate["message"]),
             _e(_num(gate["value"])), _e(_num(gate["threshold"]))] for gate in verdict["gates"]]
    return (f"<section class=\"verdict\" style=\"--status:{STATUS_COLORS[status]}\">\n"
            f"<h2>Verdict {_badge(status)} <span class=\"muted\">exit code {_e(verdict['exit_code'])}"
            f"</span></h2>\n"
            + (f"<ul>{reasons}</ul>\n" if reasons else "<p>Every gate passed.</p>\n")
            + _table(["status", "gate", "finding", "value", "threshold"], rows, numeric={3, 4})
            + "</section>")


def _aotl_section(report: Mapping[str, Any]) -> str:
    fits = report["aotl"]
    splits = list(dict.fromkeys(split for per_rep in fits.values() for split in per_rep))
    eps = report["config"].get("probit_eps", 1e-3)
    figures = []
    for split in splits:
        plot = _aotl_plot(report, split, eps)
        rows = []
        for rep, per_rep in fits.items():
            fit = per_rep.get(split)
            if fit is None:
                continue
            healthy_ci = fit["healthy"]["r_ci"]
            ci = "–" if healthy_ci is None else f"[{healthy_ci[0]:.2f}, {healthy_ci[1]:.2f}]"
            flag = "<span class=\"bad\">spurious</span>" if fit["spurious"] else "no"
            rows.append([_e(rep), _e(f"{_num(fit['all']['r2'], '.2f')} ({fit['all']['n']})"),
                         _e(f"{_num(fit['healthy']['r2'], '.2f')} ({fit['healthy']['n']})"), _e(ci),
                         _e(_pct(fit["collapsed_share"])),
                         flag + "".join(f"<br><span class=\"muted code\">{_e(r)}</span>"
                                        for r in fit["reasons"])])
        table = _table(["route", "R² all (n)", "R² healthy (n)", "r CI healthy", "collapsed", "spurious"],
                       rows, numeric={1, 2, 3, 4})
        figures.append(f"<figure><figcaption>{_e(split)}</figcaption>{plot}{table}</figure>")
    legend = _legend([
        *[(_marker(rep, False, 6, 6, 4), LABELS[rep]) for rep in COLORS],
        (_marker("raw", True, 6, 6, 4) + _marker("te", True, 18, 6, 4), "collapsed"),
        (_line_key("#59636e", None), "fit, all models"),
        (_line_key("#59636e", "6 4"), "fit, healthy models"),
        (_base_marker(6, 6), "base-rate point"),
        (_line_key("#afb8c1", "2 3"), "y = x"),
    ])
    if not figures:
        figures.append("<p class=\"muted\">No labelled OOD split, so no accuracy-on-the-line fit.</p>")
    return ("<section>\n<h2>Accuracy on the line</h2>\n"
            "<p class=\"muted\">Each point is one model: ID accuracy (id_test) against OOD accuracy, "
            f"both on probit axes (clipped to [{_e(eps)}, 1 − {_e(eps)}]). Collapsed models pile up "
            "at the base-rate point; a line that only holds because of them is spurious.</p>\n"
            + legend + "<div class=\"grid\">" + "".join(figures) + "</div>\n</section>")


def _collapse_section(report: Mapping[str, Any]) -> str:
    splits = _splits(report)
    groups = _groups(report["models"])
    threshold = report["config"].get("collapse_threshold", 0.99)
    n_classes = report["target"]["n_classes"]
    figures = []
    for split in splits:
        rates = [(label, rep, [(m["splits"][split]["majority_class_rate"], m["splits"][split]["collapsed"],
                                f"{m['config_id']} ({rep})") for m in members if split in m["splits"]])
                 for label, rep, members in groups]
        summary = report["summary"]["representations"]
        caption = " · ".join(f"{rep} {_pct(summary[rep][split]['collapse_rate'])} collapsed"
                             for rep in COLORS if split in summary.get(rep, {}))
        figures.append(f"<figure><figcaption>{_e(split)} <span class=\"muted\">{_e(caption)}</span>"
                       f"</figcaption>{_strip_plot(rates, threshold, n_classes)}</figure>")
    rows = []
    for label, rep, members in groups:
        cells = []
        for split in splits:
            on_split = [m["splits"][split] for m in members if split in m["splits"]]
            collapsed = sum(metrics["collapsed"] for metrics in on_split)
            cells.append(f"<span class=\"bad\">{collapsed}/{len(on_split)}</span>" if collapsed
                         else f"0/{len(on_split)}")
        rows.append([_e(label), *cells])
    table = _table(["family · route", *splits], rows, numeric=set(range(1, len(splits) + 1)))
    return ("<section>\n<h2>Collapse per family and representation</h2>\n"
            "<p class=\"muted\">Majority-class rate of every model (share of its predictions that go to "
            f"one class). At or beyond the dashed line ({_e(threshold)}) a model counts as collapsed.</p>\n"
            + "<div class=\"grid\">" + "".join(figures) + "</div>\n<h3>Collapsed models</h3>\n"
            + table + "</section>")


def _accuracy_section(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    reps = summary["representations"]
    rows = []
    for split in _splits(report):
        raw, te = reps.get("raw", {}).get(split), reps.get("te", {}).get(split)
        paired = summary["paired"].get(split)
        gap = paired["median_accuracy_gap"] if paired else None
        shown = _e(_num(gap, "+.3f"))
        rows.append([_e(split), _e(_num(raw["accuracy_quantiles"]["median"] if raw else None)),
                     _e(_num(te["accuracy_quantiles"]["median"] if te else None)),
                     f"<span class=\"bad\">{shown}</span>" if gap is not None and gap > 0 else shown,
                     _e(_pct(paired["te_only_collapse_rate"] if paired else None)),
                     _e(_pct(paired["raw_only_collapse_rate"] if paired else None)),
                     _e(paired["n_pairs"] if paired else "–")])
    table = _table(["split", "raw median acc", "te median acc", "gap raw − te", "te-only collapse",
                    "raw-only collapse", "pairs"], rows, numeric={1, 2, 3, 4, 5, 6})
    figures = [f"<figure><figcaption>{_e(split)}</figcaption>{_pairs_plot(report['models'], split)}</figure>"
               for split in _splits(report)]
    return ("<section>\n<h2>Accuracy, raw vs text embeddings</h2>\n"
            "<p class=\"muted\">The same configuration fitted on raw features and on the embeddings; "
            "a positive gap means the embeddings cost accuracy. The dotted line is the split's base "
            "rate (always predicting its most frequent class).</p>\n"
            + table + "<div class=\"grid\">" + "".join(figures) + "</div>\n</section>")


def _agreement_section(report: Mapping[str, Any]) -> str:
    """Agreement-on-the-line estimates, when the report has them (tecurate.analysis._agreement)."""
    rows = []
    for rep, fits in (report.get("agreement") or {}).items():
        for split, fit in fits.items():
            mae = fit.get("mae_pp") or {}
            rows.append([_e(rep), _e(split), _e(fit["healthy"]["n_models"]), _e(fit["n_collapsed"]),
                         _e(_num(fit["healthy"]["r2"], ".2f")), _e(_num(fit["all"]["r2"], ".2f")),
                         _e(_num(mae.get("aline_d"), ".1f")), _e(_num(mae.get("aline_d_all"), ".1f"))])
    if not rows:
        return ""
    return ("<section>\n<h2>Agreement on the line</h2>\n"
            "<p class=\"muted\">OOD accuracy estimated from unlabelled OOD rows (Baek et al. 2022), fitted "
            "on healthy models; collapsed models agree with each other perfectly and would bias it. "
            "The error columns need OOD labels.</p>\n"
            + _table(["route", "OOD split", "healthy models", "collapsed", "agreement R² healthy",
                      "agreement R² all", "MAE ALine-D healthy (pp)", "MAE ALine-D all (pp)"],
                     rows, numeric={2, 3, 4, 5, 6, 7})
            + "</section>")


def _stability_section(report: Mapping[str, Any]) -> str:
    """The spread of the headline figures over ``--repeats`` seeds, when there were repeats."""
    stability = report.get("stability")
    if not stability:
        return ""
    seeds = ", ".join(f"{seed}: {status}" for seed, status in zip(stability["seeds"], stability["statuses"]))
    rows = [[_e(f["figure"]), _e(f["representation"] or "–"), _e(f["split"] or "–"), _e(f["n"]),
             _e(_num(f["min"])), _e(_num(f["median"])), _e(_num(f["max"]))] for f in stability["figures"]]
    return ("<section>\n<h2>Stability over seeds</h2>\n"
            f"<p>Verdict per seed: {_e(seeds)}; {_e(stability['verdict_flips'])} flip(s); the report shows "
            f"seed {_e(stability['reported_seed'])}.</p>\n"
            + _table(["figure", "route", "split", "seeds", "min", "median", "max"], rows,
                     numeric={3, 4, 5, 6})
            + "</section>")


def _data_section(report: Mapping[str, Any]) -> str:
    source = report["input"]
    target = report["target"]
    shift = report["shift"]
    facts = _kv_table(source)
    classes = target["classes"]
    rows = [[_e(split), _e(target["n_rows"].get(split, "–")),
             *[_e(_pct(shares.get(cls))) for cls in classes]]
            for split, shares in target["distribution"].items()]
    distribution = _table(["split", "rows", *classes], rows, numeric=set(range(1, len(classes) + 2)))
    ood = _table(["OOD split", "rows", "description"],
                 [[_e(s["name"]), _e(s["n_rows"]), _e(s["description"])] for s in shift["ood_splits"]],
                 numeric={1})
    warnings = "".join(f"<li class=\"warn\">{_e(w)}</li>" for w in report["warnings"])
    return ("<section>\n<h2>Data and shift</h2>\n" + facts
            + f"<h3>Shift ({_e(shift['kind'])})</h3>\n<p>{_e(shift['description'])}</p>\n" + ood
            + "<h3>Target distribution per split</h3>\n" + distribution
            + (f"<h3>Warnings</h3>\n<ul>{warnings}</ul>\n" if warnings else "") + "</section>")


def _text_section(report: Mapping[str, Any]) -> str:
    ser = report["serialization"]
    return ("<section>\n<h2>Serialization and embedding</h2>\n"
            f"<p>Template <b>{_e(ser['template'])}</b> over {len(ser['columns'])} columns: "
            f"{_e(', '.join(ser['columns']))}</p>\n<h3>Example row text</h3>\n"
            f"<div class=\"example\">{_e(ser['example'])}</div>\n<h3>Embedding</h3>\n"
            + _kv_table(report["embedding"]) + "</section>")


def _config_section(report: Mapping[str, Any]) -> str:
    return ("<section>\n<h2>Resolved configuration</h2>\n"
            "<p class=\"muted\">CLI flags over the config file over the defaults, as used.</p>\n"
            + _kv_table(report["config"]) + "<h3>Stage timings (seconds)</h3>\n"
            + _kv_table(report["timings"]) + "</section>")


def _footer(report: Mapping[str, Any]) -> str:
    return (f"<footer>tecurate {_e(report['tool_version'])} · report schema "
            f"{_e(report['schema_version'])} · created {_e(report['created_at'])}</footer>")


# --- HTML helpers ---------------------------------------------------------------------------

def _badge(status: str) -> str:
    return (f"<span class=\"badge\" style=\"background:{STATUS_COLORS.get(status, '#59636e')}\">"
            f"{_e(status.upper())}</span>")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Collection[int] = (),
           css_class: str = "") -> str:
    """Headers are escaped here; cells arrive as finished (already escaped) HTML."""
    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>\n"
                   for row in rows)
    table = f"<table class=\"{css_class}\">" if css_class else "<table>"
    return f"{table}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n"


def _kv_table(data: Mapping[str, Any]) -> str:
    """Any flat mapping (config, embedding, input) as a two-column table, lists joined."""
    def show(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or "–"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return format(value, ".6g")
        return "–" if value is None else str(value)

    return _table(["setting", "value"], [[_e(key), _e(show(value))] for key, value in data.items()],
                  css_class="kv")


def _legend(items: Sequence[tuple[str, str]]) -> str:
    keys = "".join(f"<span><svg width=\"24\" height=\"12\" viewBox=\"0 0 24 12\">{icon}</svg>"
                   f"{_e(text)}</span>" for icon, text in items)
    return f"<div class=\"legend\">{keys}</div>\n"


def _splits(report: Mapping[str, Any]) -> list[str]:
    """The test splits in report order: id_test first, then every OOD split."""
    reps = report["summary"]["representations"]
    return list(reps.get("te") or reps.get("raw") or {})


def _groups(models: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, list[Mapping[str, Any]]]]:
    """Models grouped by family, then route: ("logreg · te", "te", [models])."""
    families = list(dict.fromkeys(m["family"] for m in models))
    groups = []
    for family in families:
        for rep in COLORS:
            members = [m for m in models if m["family"] == family and m["representation"] == rep]
            if members:
                groups.append((f"{family} · {rep}", rep, members))
    return groups


# --- SVG helpers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Frame:
    """A plot area: data ranges mapped onto pixel boxes (SVG y grows downwards)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int
    height: int
    left: int = 52
    right: int = 12
    top: int = 12
    bottom: int = 40

    def x(self, value: float) -> float:
        lo, hi = self.x_range
        return self.left + (value - lo) / (hi - lo) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        lo, hi = self.y_range
        return self.height - self.bottom - (value - lo) / (hi - lo) * (self.height - self.top - self.bottom)

    def open(self, label: str) -> str:
        return (f"<svg viewBox=\"0 0 {self.width} {self.height}\" width=\"{self.width}\" "
                f"height=\"{self.height}\" role=\"img\" aria-label=\"{_e(label)}\">"
                f"<rect x=\"{self.left}\" y=\"{self.top}\" width=\"{self.width - self.left - self.right}\" "
                f"height=\"{self.height - self.top - self.bottom}\" fill=\"#fff\" stroke=\"#afb8c1\"/>")


def _marker(rep: str, collapsed: bool, x: float, y: float, size: float, title: str = "") -> str:
    """Raw: circle, te: square (shape and colour both differ); collapsed: hollow."""
    color = COLORS[rep]
    fill = "#fff" if collapsed else color
    tip = f"<title>{_e(title)}</title>" if title else ""
    stroke_width = 2 if collapsed else 1
    if rep == "raw":
        return (f"<circle cx=\"{x:.1f}\" cy=\"{y:.1f}\" r=\"{size:.1f}\" fill=\"{fill}\" "
                f"fill-opacity=\"{1 if collapsed else 0.8}\" stroke=\"{color}\" "
                f"stroke-width=\"{stroke_width}\">{tip}</circle>")
    side = size * 1.7
    return (f"<rect x=\"{x - side / 2:.1f}\" y=\"{y - side / 2:.1f}\" width=\"{side:.1f}\" "
            f"height=\"{side:.1f}\" fill=\"{fill}\" fill-opacity=\"{1 if collapsed else 0.8}\" "
            f"stroke=\"{color}\" stroke-width=\"{stroke_width}\">{tip}</rect>")


def _base_marker(x: float, y: float, title: str = "") -> str:
    tip = f"<title>{_e(title)}</title>" if title else ""
    return (f"<path d=\"M{x:.1f} {y - 6:.1f} L{x + 6:.1f} {y:.1f} L{x:.1f} {y + 6:.1f} "
            f"L{x - 6:.1f} {y:.1f} Z\" fill=\"#1f2328\" stroke=\"#fff\" stroke-width=\"1\">{tip}</path>")


def _line_key(color: str, dash: str | None) -> str:
    pattern = f" stroke-dasharray=\"{dash}\"" if dash else ""
    return f"<line x1=\"1\" y1=\"6\" x2=\"23\" y2=\"6\" stroke=\"{color}\" stroke-width=\"2\"{pattern}/>"


def _ticks(lo: float, hi: float) -> list[float]:
    """Round values inside [lo, hi]: about five of them."""
    span = hi - lo
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0) if span / s <= 6)
    first = -(-lo // step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


_ACCURACY_TICKS = (
    (0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999),
    (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
    tuple(round(0.01 * i, 2) for i in range(1, 100)),
)
"""Candidate accuracy ticks for probit axes, coarse to fine; the first with 3+ in range wins."""


def _probit_ticks(lo: float, hi: float, eps: float) -> list[tuple[float, float]]:
    """(probit position, accuracy label) pairs for an axis spanning [lo, hi] in probit units."""
    for candidates in _ACCURACY_TICKS:
        ticks = [(float(p), acc) for acc, p in zip(candidates, probit(candidates, eps)) if lo <= p <= hi]
        if len(ticks) >= 3:
            break
    stride = -(-len(ticks) // 7)
    return ticks[::stride]


def _axes(frame: _Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]],
          x_label: str, y_label: str) -> str:
    parts = []
    for value, label in x_ticks:
        x = frame.x(value)
        parts.append(f"<line x1=\"{x:.1f}\" y1=\"{frame.top}\" x2=\"{x:.1f}\" "
                     f"y2=\"{frame.height - frame.bottom}\" stroke=\"#eaeef2\"/>"
                     f"<text x=\"{x:.1f}\" y=\"{frame.height - frame.bottom + 14}\" "
                     f"text-anchor=\"middle\">{_e(label)}</text>")
    for value, label in y_ticks:
        y = frame.y(value)
        parts.append(f"<line x1=\"{frame.left}\" y1=\"{y:.1f}\" x2=\"{frame.width - frame.right}\" "
                     f"y2=\"{y:.1f}\" stroke=\"#eaeef2\"/>"
                     f"<text x=\"{frame.left - 5}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{_e(label)}</text>")
    middle_x = (frame.left + frame.width - frame.right) / 2
    parts.append(f"<text x=\"{middle_x:.1f}\" y=\"{frame.height - 6}\" text-anchor=\"middle\">"
                 f"{_e(x_label)}</text>")
    if y_label:
        middle_y = (frame.top + frame.height - frame.bottom) / 2
        parts.append(f"<text transform=\"translate(12 {middle_y:.1f}) rotate(-90)\" "
                     f"text-anchor=\"middle\">{_e(y_label)}</text>")
    return "".join(parts)


def _clip_line(slope: float, intercept: float, frame: _Frame) -> tuple[float, float, float, float] | None:
    """The part of y = intercept + slope·x inside the frame's data box, if any."""
    (x0, x1), (y0, y1) = frame.x_range, frame.y_range
    if slope == 0:
        return (x0, intercept, x1, intercept) if y0 <= intercept <= y1 else None
    xa, xb = sorted(((y0 - intercept) / slope, (y1 - intercept) / slope))
    lo, hi = max(x0, xa), min(x1, xb)
    if lo >= hi:
        return None
    return lo, intercept + slope * lo, hi, intercept + slope * hi


def _padded(values: Sequence[float], min_span: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < min_span:
        middle = (lo + hi) / 2
        lo, hi = middle - min_span / 2, middle + min_span / 2
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _aotl_plot(report: Mapping[str, Any], split: str, eps: float) -> str:
    """Probit ID vs probit OOD accuracy for both routes, fitted lines and base-rate points."""
    points = []
    for model in report["models"]:
        on_id, on_ood = model["splits"].get(ID_TEST), model["splits"].get(split)
        if on_id is None or on_ood is None:
            continue
        # A point is collapsed when either end is, as in the AotL fit itself (tecurate.analysis._aotl).
        collapsed = on_id["collapsed"] or on_ood["collapsed"]
        title = (f"{model['config_id']} ({model['representation']}): ID {on_id['accuracy']:.3f}, "
                 f"OOD {on_ood['accuracy']:.3f}{', collapsed' if collapsed else ''}")
        points.append((model["representation"], collapsed, on_id["accuracy"], on_ood["accuracy"], title))
    fits = {rep: per_rep[split] for rep, per_rep in report["aotl"].items() if split in per_rep}
    bases = {(f["base_rate_point"]["class"], f["base_rate_point"]["id"], f["base_rate_point"]["ood"])
             for f in fits.values() if f["base_rate_point"]}
    xs = [float(v) for v in probit([p[2] for p in points] + [b[1] for b in bases], eps)]
    ys = [float(v) for v in probit([p[3] for p in points] + [b[2] for b in bases], eps)]
    if not xs:
        return "<p class=\"muted\">No model was evaluated on this split.</p>"
    frame = _Frame(_padded(xs, 0.6), _padded(ys, 0.6), 500, 400)
    ticks_x = [(p, f"{acc:g}") for p, acc in _probit_ticks(*frame.x_range, eps)]
    ticks_y = [(p, f"{acc:g}") for p, acc in _probit_ticks(*frame.y_range, eps)]
    parts = [frame.open(f"accuracy on the line, {split}"),
             _axes(frame, ticks_x, ticks_y, "ID accuracy (id_test, probit scale)",
                   f"OOD accuracy ({split}, probit scale)")]
    diagonal = _clip_line(1.0, 0.0, frame)
    if diagonal:
        parts.append(_svg_line(frame, diagonal, "#afb8c1", "2 3", 1))
    for rep, fit in fits.items():
        for which, dash in (("all", None), ("healthy", "6 4")):
            line = fit[which]
            if line["slope"] is None or line["intercept"] is None:
                continue
            segment = _clip_line(line["slope"], line["intercept"], frame)
            if segment:
                parts.append(_svg_line(frame, segment, COLORS.get(rep, "#59636e"), dash, 2))
    for (rep, collapsed, _, _, title), x, y in zip(points, xs, ys):
        parts.append(_marker(rep, collapsed, frame.x(x), frame.y(y), 4.5, title))
    for (cls, acc_id, acc_ood), x, y in zip(bases, xs[len(points):], ys[len(points):]):
        parts.append(_base_marker(frame.x(x), frame.y(y),
                                  f"base-rate point: always predict '{cls}' "
                                  f"(ID {acc_id:.3f}, OOD {acc_ood:.3f})"))
        near_right = frame.x(x) > frame.width * 0.6
        parts.append(f"<text x=\"{frame.x(x) + (-9 if near_right else 9):.1f}\" y=\"{frame.y(y) - 8:.1f}\" "
                     f"text-anchor=\"{'end' if near_right else 'start'}\">base rate ({_e(cls)})</text>")
    parts.append("</svg>")
    return "".join(parts)


def _svg_line(frame: _Frame, segment: tuple[float, float, float, float], color: str,
              dash: str | None, width: float) -> str:
    x0, y0, x1, y1 = segment
    pattern = f" stroke-dasharray=\"{dash}\"" if dash else ""
    return (f"<line x1=\"{frame.x(x0):.1f}\" y1=\"{frame.y(y0):.1f}\" x2=\"{frame.x(x1):.1f}\" "
            f"y2=\"{frame.y(y1):.1f}\" stroke=\"{color}\" stroke-width=\"{width}\"{pattern}/>")


def _rows_frame(labels: Sequence[str], x_range: tuple[float, float], row_height: int) -> _Frame:
    return _Frame(x_range, (0.0, float(max(len(labels), 1))), 500, 24 + 40 + row_height * max(len(labels), 1),
                  left=112, top=24)


def _row_labels(frame: _Frame, labels: Sequence[str]) -> str:
    return "".join(f"<text x=\"{frame.left - 6}\" y=\"{frame.y(len(labels) - i - 0.5) + 4:.1f}\" "
                   f"text-anchor=\"end\">{_e(label)}</text>" for i, label in enumerate(labels))


def _strip_plot(groups: Sequence[tuple[str, str, Sequence[tuple[float, bool, str]]]],
                threshold: float, n_classes: int) -> str:
    """One row per family and route, one dot per model at its majority-class rate."""
    labels = [label for label, _, _ in groups]
    values = [rate for _, _, rates in groups for rate, _, _ in rates]
    low = min([1.0 / n_classes, *values])
    frame = _rows_frame(labels, (max(0.0, low - 0.05), 1.02), 26)
    parts = [frame.open("majority-class rate per model"),
             _axes(frame, [(t, f"{t:g}") for t in _ticks(*frame.x_range)], [], "majority-class rate", ""),
             _row_labels(frame, labels)]
    x = frame.x(threshold)
    parts.append(f"<line x1=\"{x:.1f}\" y1=\"{frame.top}\" x2=\"{x:.1f}\" "
                 f"y2=\"{frame.height - frame.bottom}\" "
                 f"stroke=\"#cf222e\" stroke-dasharray=\"5 3\"/>"
                 f"<text x=\"{x:.1f}\" y=\"{frame.top - 8}\" text-anchor=\"end\">collapse threshold</text>")
    for i, (_, rep, rates) in enumerate(groups):
        centre = len(groups) - i - 0.5
        for j, (rate, collapsed, title) in enumerate(rates):
            jitter = ((j * 0.618034) % 1.0 - 0.5) * 0.6
            parts.append(_marker(rep, collapsed, frame.x(rate), frame.y(centre + jitter), 4,
                                 f"{title}: majority-class rate {rate:.3f}"))
    parts.append("</svg>")
    return "".join(parts)


def _pairs_plot(models: Sequence[Mapping[str, Any]], split: str) -> str:
    """Per configuration, raw and te accuracy on one split joined by a line."""
    pairs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for model in models:
        if "accuracy" in model["splits"].get(split, {}):
            pairs.setdefault(model["config_id"], {})[model["representation"]] = model["splits"][split]
    if not pairs:
        return "<p class=\"muted\">No accuracy on this split (it has no labels).</p>"
    labels = list(pairs)
    frame = _rows_frame(labels, (0.0, 1.0), 14)
    parts = [frame.open(f"accuracy per configuration, {split}"),
             _axes(frame, [(t, f"{t:g}") for t in _ticks(0.0, 1.0)], [], f"accuracy on {split}", ""),
             _row_labels(frame, labels)]
    base = next(iter(next(iter(pairs.values())).values()))["base_rate"]
    parts.append(f"<line x1=\"{frame.x(base):.1f}\" y1=\"{frame.top}\" x2=\"{frame.x(base):.1f}\" "
                 f"y2=\"{frame.height - frame.bottom}\" stroke=\"#59636e\" stroke-dasharray=\"2 3\"/>")
    for i, label in enumerate(labels):
        y = frame.y(len(labels) - i - 0.5)
        by_rep = pairs[label]
        if len(by_rep) == 2:
            parts.append(f"<line x1=\"{frame.x(by_rep['raw']['accuracy']):.1f}\" y1=\"{y:.1f}\" "
                         f"x2=\"{frame.x(by_rep['te']['accuracy']):.1f}\" y2=\"{y:.1f}\" stroke=\"#afb8c1\" "
                         "stroke-width=\"2\"/>")
        for rep, metrics in by_rep.items():
            parts.append(_marker(rep, metrics["collapsed"], frame.x(metrics["accuracy"]), y, 4,
                                 f"{label} ({rep}): accuracy {metrics['accuracy']:.3f}"
                                 f"{', collapsed' if metrics['collapsed'] else ''}"))
    parts.append("</svg>")
    return "".join(parts)
