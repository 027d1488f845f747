"""The simulation's HTML page: one self-contained file, inline CSS and SVG, no script, no network.

Trajectory plots (metric vs generation, one line per α and schedule averaged over the
configurations, raw and te side by side on the same axes), then the summary table. Every string
from the data is escaped; a Content-Security-Policy forbids scripts and fetches. Plots reuse
the audit page's SVG primitives, imported when a page is drawn: the settings table
(:mod:`tecurate.config`) imports this package, and :mod:`tecurate.reporting` imports the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tecurate.reporting import ROUTE_COLORS as COLORS
from tecurate.reporting import ROUTE_LABELS as LABELS
from tecurate.reporting import SvgFrame as Frame
from tecurate.reporting import escape_html as esc
from tecurate.reporting import svg_axes as axes
from tecurate.reporting import svg_line_key as line_key
from tecurate.reporting import svg_ticks as ticks
from tecurate.simulate._terminal import collapse_text

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_CSS = ("body{font:14px/1.45 system-ui,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}"
        "main{max-width:1100px;margin:0 auto;padding:16px}section{background:#fff;border:1px solid #d0d7de;"
        "border-radius:6px;padding:12px 16px;margin:12px 0}table{border-collapse:collapse}"
        "td,th{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:right}td:first-child,th:first-child"
        "{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-weight:600}"
        ".muted{color:#59636e}.legend span{margin-right:14px;white-space:nowrap}svg text{font-size:11px}")
_DASHES = (None, "6 3", "2 3", "10 3 2 3", "1 2")
_SHADES = ("#1f2328", "#1a7f37", "#8250df", "#bf3989", "#9a6700", "#0969da")
METRICS = (("majority_class_rate", "majority-class rate", (0.0, 1.0)), ("accuracy", "accuracy", (0.0, 1.0)),
           ("balanced_accuracy", "balanced accuracy", (0.0, 1.0)), ("tv", "TV to the true class shares", (0.0, 1.0)))
"""The plotted id_test metrics: (field, axis title, y range)."""


def _mean_paths(report: Mapping[str, Any], rep: str, metric: str) -> dict[tuple[float, str], list[float]]:
    """Per (α, schedule): the metric's mean over configurations at each generation."""
    paths: dict[tuple[float, str], list[list[float]]] = {}
    for run in report["trajectories"]:
        if run["representation"] == rep:
            paths.setdefault((run["real_fraction"], run["schedule"]), []).append(
                [g["splits"]["id_test"][metric] for g in run["generations"]])
    return {key: [sum(col) / len(col) for col in zip(*runs)] for key, runs in paths.items()}


def _style(keys: Sequence[tuple[float, str]], key: tuple[float, str]) -> tuple[str, str | None]:
    """Colour by α, dash by schedule."""
    alphas = sorted({k[0] for k in keys})
    schedules = list(dict.fromkeys(k[1] for k in keys))
    return _SHADES[alphas.index(key[0]) % len(_SHADES)], _DASHES[schedules.index(key[1]) % len(_DASHES)]


def trajectory_plot(report: Mapping[str, Any], rep: str, metric: str, title: str,
                    y_range: tuple[float, float]) -> str:
    """One SVG: metric vs generation for one route, a polyline per α/schedule."""

    generations = report["config"]["generations"]
    frame = Frame((0.0, float(max(generations, 1))), y_range, 420, 240)
    step = max(1, generations // 10)
    x_ticks = [(float(t), str(t)) for t in range(0, generations + 1, step)]
    y_ticks = [(v, f"{v:g}") for v in ticks(*y_range)]
    paths = _mean_paths(report, rep, metric)
    lines = []
    for key, values in paths.items():
        color, dash = _style(list(paths), key)
        points = " ".join(f"{frame.x(t):.1f},{frame.y(v):.1f}" for t, v in enumerate(values))
        dashed = f" stroke-dasharray=\"{dash}\"" if dash else ""
        lines.append(f"<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dashed}>"
                     f"<title>{esc(f'{rep}, alpha {key[0]:g}, {key[1]}')}</title></polyline>")
    label = f"{title} on id_test vs generation, {LABELS.get(rep, rep)}"
    return (f"<figure><figcaption style=\"color:{COLORS.get(rep, '#1f2328')}\">{esc(LABELS.get(rep, rep))}"
            f"</figcaption>{frame.open(label)}{axes(frame, x_ticks, y_ticks, 'generation', title)}"
            f"{''.join(lines)}</svg></figure>")


def _legend(report: Mapping[str, Any]) -> str:

    keys = list(dict.fromkeys((r["real_fraction"], r["schedule"]) for r in report["trajectories"]))
    items = []
    for key in keys:
        color, dash = _style(keys, key)
        items.append(f"<span><svg width=\"24\" height=\"12\">{line_key(color, dash)}</svg> "
                     f"α = {esc(f'{key[0]:g}')}, {esc(key[1])}</span>")
    return f"<p class=\"legend\">{''.join(items)}</p>\n"


def _summary_table(report: Mapping[str, Any]) -> str:

    generations = report["config"]["generations"]
    head = "".join(f"<th>{h}</th>" for h in ("route", "α", "schedule", "collapsed", "generations to collapse",
                                              "final TV", "final accuracy", "final balanced accuracy"))
    rows = "".join(
        f"<tr><td>{esc(r['representation'])}</td><td>{esc(format(r['real_fraction'], 'g'))}</td>"
        f"<td>{esc(r['schedule'])}</td><td>{esc(r['n_collapsed'])}/{esc(r['n_runs'])}</td>"
        f"<td>{esc(collapse_text(r, generations))}</td><td>{r['final_tv']:.3f}</td>"
        f"<td>{r['final_accuracy']:.3f}</td><td>{r['final_balanced_accuracy']:.3f}</td></tr>"
        for r in report["summary"])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>\n"


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for one simulation report (plain data)."""

    config, source = report["config"], report["input"]
    reps = list(dict.fromkeys(r["representation"] for r in report["trajectories"]))
    plots = "".join(
        f"<section><h2>{esc(title)}</h2>\n<div class=\"grid\">"
        + "".join(trajectory_plot(report, rep, metric, title, y_range) for rep in reps)
        + "</div>\n</section>\n" for metric, title, y_range in METRICS)
    check = report["collapse_check"]
    verdict = "" if check is None else (
        f"<p><b>{'FAIL' if check['failed'] else 'PASS'}</b>: {esc(len(check['runs']))} run(s) collapsed before "
        f"generation {esc(check['before'])}.</p>\n")
    body = (
        f"<h1>tecurate simulate: {esc(source['path'])}</h1>\n"
        f"<p class=\"muted\">target <b>{esc(report['target']['name'])}</b> · {esc(source['n_rows_used'])} rows · "
        f"{esc(config['generations'])} generations · n0 {esc(config['n0'])} · mode {esc(config['mode'])} · "
        f"synthetic {esc(config['synthetic'])} · filter {esc(config['filter'])} · shift: "
        f"{esc(report['shift']['description'])}</p>\n{verdict}"
        f"<section><h2>Generations to collapse</h2>\n{_summary_table(report)}"
        "<p class=\"muted\">Collapse: the id_test majority-class rate reaches the collapse threshold. "
        "Lower median over configurations; &gt;T: most runs never collapsed.</p></section>\n"
        f"{_legend(report)}{plots}"
        f"<footer class=\"muted\">tecurate {esc(report['tool_version'])} · simulate schema "
        f"{esc(report['schema_version'])} · created {esc(report['created_at'])}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            f"<title>{esc('tecurate simulate – ' + str(source['path']))}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")
