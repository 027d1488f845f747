"""The sweep's HTML leaderboard: one self-contained page, the audit report's stylesheet and
escaping, inline SVG, no script, no network.

The leaderboard (one row per combination, ordered by score), then small multiples: for each
combination, its collapse rates (raw and te, per test split) and its median accuracy gaps,
on shared axes so the panels compare at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tecurate.reporting import REPORT_CSS, ROUTE_COLORS, escape_html as esc, html_badge, html_table
from tecurate.sweeps._terminal import score_text, tie_marks

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_WIDTH, _HEIGHT, _LEFT, _BOTTOM = 250, 120, 34, 26


def _bars(splits: Mapping[str, Mapping[str, Any]], title: str, values: list[tuple[str, str]],
          y_range: tuple[float, float]) -> str:
    """A small bar chart: one group per split, one bar per (field, colour)."""
    lo, hi = y_range
    names = list(splits)
    inner_w, inner_h = _WIDTH - _LEFT - 6, _HEIGHT - _BOTTOM - 8
    def y(v: float) -> float:
        return 8 + (hi - max(lo, min(hi, v))) / (hi - lo) * inner_h
    parts = [f"<svg viewBox=\"0 0 {_WIDTH} {_HEIGHT}\" width=\"{_WIDTH}\" height=\"{_HEIGHT}\" role=\"img\" "
             f"aria-label=\"{esc(title)}\"><rect x=\"{_LEFT}\" y=\"8\" width=\"{inner_w}\" height=\"{inner_h}\" "
             "fill=\"#fff\" stroke=\"#afb8c1\"/>"]
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(f"<line x1=\"{_LEFT}\" x2=\"{_LEFT + inner_w}\" y1=\"{y(tick):.1f}\" y2=\"{y(tick):.1f}\" "
                     f"stroke=\"#eaeef2\"/><text x=\"{_LEFT - 4}\" y=\"{y(tick) + 4:.1f}\" text-anchor=\"end\">"
                     f"{esc(f'{tick:g}')}</text>")
    group = inner_w / max(len(names), 1)
    bar = group * 0.7 / max(len(values), 1)
    for g, split in enumerate(names):
        x0 = _LEFT + g * group + group * 0.15
        for b, (field, color) in enumerate(values):
            value = splits[split].get(field)
            if value is None:
                continue
            top, base = min(y(value), y(0.0)), max(y(value), y(0.0))
            parts.append(f"<rect x=\"{x0 + b * bar:.1f}\" y=\"{top:.1f}\" width=\"{bar:.1f}\" "
                         f"height=\"{max(base - top, 0.5):.1f}\" fill=\"{color}\"><title>"
                         f"{esc(f'{split}, {field}: {value:.3f}')}</title></rect>")
        parts.append(f"<text x=\"{x0 + group * 0.35:.1f}\" y=\"{_HEIGHT - 10}\" text-anchor=\"middle\">"
                     f"{esc(split if len(split) <= 14 else split[:13] + '…')}</text>")
    return "".join(parts) + "</svg>"


def _gap_range(report: Mapping[str, Any]) -> tuple[float, float]:
    gaps = [s["median_accuracy_gap"] for c in report["combinations"] for s in c["splits"].values()
            if s["median_accuracy_gap"] is not None]
    reach = max([0.05, *map(abs, gaps)])
    return (-reach, reach)


def _leaderboard(report: Mapping[str, Any]) -> str:
    rows = []
    marks = tie_marks(report)
    for c in report["combinations"]:
        terms = c["terms"]
        rows.append([esc(c["rank"]), esc(marks[c["id"]]), esc(c["template"]),
                     esc(c["curation"]) + (" <b>(default)</b>" if c["is_default"] else ""), esc(c["embedder"]),
                     esc(score_text(c)), esc(f"{terms['te_only']:.0%}"), esc(f"{terms['excess']:.0%}"),
                     esc(f"{terms['gap']:+.3f}"), esc(f"{terms['spurious']:.0%}"), esc(f"{terms['truncated']:.0%}"),
                     html_badge(c["status"])])
    return html_table(["#", "tie", "template", "curation", "embedder", "score", "te-only", "excess", "gap",
                       "spurious", "truncated", "verdict"], rows, numeric=(0, 5, 6, 7, 8, 9, 10))


def _multiples(report: Mapping[str, Any]) -> str:
    gap_range = _gap_range(report)
    figures = []
    for c in report["combinations"]:
        collapse = _bars(c["splits"], f"collapse rates of {c['id']}",
                         [("raw_collapse_rate", ROUTE_COLORS["raw"]), ("te_collapse_rate", ROUTE_COLORS["te"])],
                         (0.0, 1.0))
        gap = _bars(c["splits"], f"median accuracy gaps of {c['id']}", [("median_accuracy_gap", "#59636e")],
                    gap_range)
        figures.append(f"<figure style=\"flex:0 1 520px\"><figcaption>#{esc(c['rank'])} {esc(c['id'])}</figcaption>"
                       f"<div style=\"display:flex;gap:8px\">{collapse}{gap}</div>"
                       f"<p class=\"muted\" style=\"margin:2px 0\">{esc(c['example'][:160])}</p></figure>")
    return "<div class=\"grid\">" + "".join(figures) + "</div>\n"


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for one sweep report (plain data)."""
    source, config = report["input"], report["config"]
    warnings = "".join(f"<li>{esc(w)}</li>" for w in report["warnings"])
    body = (
        f"<h1>tecurate sweep of {esc(source['path'])}</h1>\n"
        f"<p class=\"sub\">{esc(source['n_rows_used'])} rows used of {esc(source['n_rows'])} · target "
        f"<b>{esc(report['target']['name'])}</b> · shift: {esc(report['shift']['description'])} · seeds "
        f"{esc(', '.join(map(str, report['seeds'])))} · families {esc(', '.join(config['families']))} · "
        f"{esc(config['n_configs'])} configurations each</p>\n"
        f"<section><h2>Answer</h2>\n<p>{esc(report['statement'])}</p>\n</section>\n"
        f"<section><h2>Leaderboard</h2>\n{_leaderboard(report)}"
        "<p class=\"muted\">Score, lower is better: te-only collapse + collapse above raw + median accuracy gap "
        "(raw − te) + ¼ · share of spurious te lines + share of truncated texts, averaged over the test splits; "
        "the median over the seeds, min–max in brackets. A tie =k: inside the seed spread of the combination "
        "ranked k (with one seed: the same score).</p>\n</section>\n"
        f"<section><h2>Collapse rates and accuracy gaps</h2>\n<p class=\"muted\">Left: collapse rate per split, "
        f"<span style=\"color:{ROUTE_COLORS['raw']}\">raw features</span> and "
        f"<span style=\"color:{ROUTE_COLORS['te']}\">text embeddings</span>; right: median accuracy gap raw − te "
        f"(above 0: the embeddings cost accuracy).</p>\n{_multiples(report)}</section>\n"
        + (f"<section><h2>Warnings</h2>\n<ul>{warnings}</ul>\n</section>\n" if warnings else "")
        + f"<footer>tecurate {esc(report['tool_version'])} · sweep schema {esc(report['schema_version'])} · "
        f"created {esc(report['created_at'])}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc('tecurate sweep – ' + str(source['path']))}</title>\n<style>\n{REPORT_CSS}</style>\n"
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")
