"""Terminal rendering of a report's plain JSON data (fresh or loaded from disk).

Every string from a report is escaped (:func:`tecurate.reporting._sanitize.sanitize`) before it
is laid out: a column name or a path must not drive the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tecurate.analysis import gate_route
from tecurate.reporting._compare import Check, Comparison
from tecurate.reporting._ood_view import best_estimates, mae_table
from tecurate.reporting._report import split_names
from tecurate.reporting._sanitize import sanitize, sanitize_data

STATUS_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}

EXAMPLE_CHARS = 200
"""Most characters of the example text the summary shows (the report keeps all of it)."""


def verdict_line(report: Mapping[str, Any]) -> Text:
    """One line: the status and the first reason, for ``--quiet`` and the panel title."""
    verdict = sanitize_data(report["verdict"])
    status = verdict["status"]
    line = Text.assemble(("tecurate: ", "bold"), (status.upper(), STATUS_STYLE[status]))
    if verdict["reasons"]:
        line.append(f" - {verdict['reasons'][0]}")
        if len(verdict["reasons"]) > 1:
            line.append(f" (+{len(verdict['reasons']) - 1} more)")
    return line


def shorten(text: str, limit: int = EXAMPLE_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut.

    A first word longer than ``limit`` has no boundary to cut at: it alone is cut, so the
    summary stays bounded whatever a cell holds.
    """
    if len(text) <= limit:
        return text
    room = limit - 1  # the ellipsis takes one character
    head = text[:room]
    if not text[room].isspace():  # head ends inside a word: drop that word
        head = head[:max(head.rfind(" "), 0)] or head
    return head.rstrip() + "…"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def collapse_table(report: Mapping[str, Any], route: str = "te") -> Table:
    """Collapse rates and median accuracy per split, raw vs ``route`` (te, or an extra route)."""
    report = _safe(report, "summary")
    summary = report["summary"]
    reps = summary["representations"]
    pairs = summary["paired"] if route == "te" else summary.get("paired_routes", {}).get(route, {})
    title = "Collapse and accuracy per split" + ("" if route == "te" else f", {route} against raw")
    table = Table(title=title, title_justify="left", expand=False)
    for header in ("split", "raw collapse", f"{route} collapse", f"{route}-only", "raw acc", f"{route} acc", "gap"):
        table.add_column(header, justify="left" if header == "split" else "right")
    for split in split_names(report):
        raw, te = reps.get("raw", {}).get(split), reps.get(route, {}).get(split)
        paired = pairs.get(split)
        te_only = paired["te_only_collapse_rate"] if paired else None
        table.add_row(
            Text(split),
            _pct(raw["collapse_rate"] if raw else None),
            Text(_pct(te["collapse_rate"] if te else None),
                 style="red" if te and raw and te["collapse_rate"] > raw["collapse_rate"] else ""),
            Text(_pct(te_only), style="red" if te_only else ""),
            _num(raw["accuracy_quantiles"]["median"] if raw else None, ".3f"),
            _num(te["accuracy_quantiles"]["median"] if te else None, ".3f"),
            _num(paired["median_accuracy_gap"] if paired else None, "+.3f"),
        )
    return table


def route_tables(report: Mapping[str, Any]) -> list[Table]:
    """:func:`collapse_table` of each route besides raw and te (raw+te), when the audit fitted one."""
    return [collapse_table(report, route) for route in report["summary"].get("paired_routes", {})]


def aotl_table(report: Mapping[str, Any]) -> Table:
    """Accuracy-on-the-line fits: all models vs healthy models, with the spurious flag."""
    report = _safe(report, "aotl")
    table = Table(title="Accuracy-on-the-line (probit ID vs OOD accuracy)", title_justify="left")
    for header in ("route", "OOD split", "n", "r² all", "r² healthy", "collapsed", "spurious"):
        table.add_column(header, justify="left" if header in ("route", "OOD split", "spurious") else "right")
    for rep, fits in report["aotl"].items():
        for split, fit in fits.items():
            flag = Text("yes: " + ", ".join(fit["reasons"]), style="bold red") if fit["spurious"] else \
                Text("no" + (f" ({', '.join(fit['reasons'])})" if fit["reasons"] else ""))
            table.add_row(Text(rep), Text(split), str(fit["all"]["n"]), _num(fit["all"]["r2"]),
                          _num(fit["healthy"]["r2"]), _pct(fit["collapsed_share"]), flag)
    return table


def ood_tables(report: Mapping[str, Any]) -> list[Table]:
    """Label-free OOD accuracy: each estimator's error where the OOD rows have labels, tecurate's
    estimate with its interval for the best models where they have none."""
    report = _safe(report, "ood_estimates")
    tables = []
    header, rows = mae_table(report)
    if rows:
        table = Table(title="OOD accuracy without labels: error of each estimator", title_justify="left")
        for name in header:
            table.add_column(name, justify="left" if name == header[0] else "right")
        for row in rows:
            table.add_row(*(Text(cell, style="bold" if row[0] == "tecurate" else "") for cell in row))
        tables.append(table)
    best = best_estimates(report)
    if best:
        table = Table(title="Estimated OOD accuracy (no labels), best models, 90% interval", title_justify="left")
        for name in ("route", "OOD split", "model", "estimate", "interval"):
            table.add_column(name, justify="right" if name in ("estimate", "interval") else "left")
        for row in best:
            table.add_row(*(Text(cell) for cell in row))
        tables.append(table)
    return tables


def gates_table(report: Mapping[str, Any]) -> Table:
    report = _safe(report, "verdict")
    table = Table(title="Gates", title_justify="left", show_header=False)
    table.add_column("status")
    table.add_column("gate")
    table.add_column("detail")
    for gate in report["verdict"]["gates"]:
        table.add_row(Text(gate["status"], style=STATUS_STYLE[gate["status"]]), Text(gate["gate"]),
                      Text(gate["message"]))
    return table


def _safe(report: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The parts ``keys`` of ``report`` that a table shows, sanitized (the rest is left out: a
    report's model list is most of its strings, and only its length is shown)."""
    return {key: sanitize_data(report[key]) for key in keys if key in report}


def _from_cache(models: list[dict[str, Any]]) -> str:
    """How many fits came from the fit cache (reports before it existed have no ``cached``)."""
    cached = sum(1 for model in models if model.get("cached"))
    return f" ({cached} from the cache)" if cached else ""


def summary(report: Mapping[str, Any], written: Mapping[str, str] | None = None) -> Group:
    """The full terminal summary; ``written`` maps what was written ("JSON report") to where."""
    shown, written = _safe(report, "input", "target", "shift", "embedding", "engine", "serialization", "warnings"), \
        sanitize_data(written or {})
    emb = shown["embedding"]
    shift = shown["shift"]
    head = Text()
    head.append(f"{shown['input']['path']}", style="bold")
    head.append(f"  {shown['input']['n_rows_used']} rows, target '{shown['target']['name']}' "
                f"({len(shown['target']['classes'])} classes), shift: {shift['description']}\n")
    source = emb.get("source")
    brought = None if not source else source.get("path") or ", ".join(source["columns"])
    head.append((f"embedding: your vectors from {brought} (dim {emb['dim']}, {source['dtype']}, {emb['n_texts']} rows)"
                 if brought else f"embedding: {emb['model']} (dim {emb['dim']}, {emb['n_unique_texts']} unique texts, "
                 f"{emb['cache_hits']} cache hits)") + f"  models: {len(report['models'])} fits"
                f"{_from_cache(report['models'])}\n")
    if (engine := shown.get("engine")) and engine["name"] != "local":
        head.append(f"engine: {engine['name']} {engine['version'] or ''} ({engine['address']} cluster, "
                    f"{engine['nodes']} nodes, {engine['cpus']} CPUs, {engine['gpus']} GPUs, "
                    f"{engine['actors']} embedding actors)\n")
    head.append("example text: ", style="dim")
    head.append(shorten(shown["serialization"]["example"]))
    parts: list[Any] = [head, collapse_table(report), *route_tables(report), aotl_table(report), *ood_tables(report),
                        gates_table(report)]
    for warning in shown["warnings"]:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts += [Text(f"{what} written to {where}", style="dim") for what, where in written.items()]
    return Group(Panel(verdict_line(report), expand=False), *parts)


def print_summary(console: Console, report: Mapping[str, Any],
                  written: Mapping[str, str] | None = None) -> None:
    console.print(summary(report, written))


def comparison_line(comparison: Comparison) -> Text:
    """One line: regression or not, and the first regression, for ``--quiet`` and the panel."""
    line = Text("tecurate compare: ", style="bold")
    regressions = comparison.regressions
    if not regressions:
        line.append("OK", STATUS_STYLE["pass"])
        line.append(" - nothing got worse beyond its threshold")
        return line
    line.append("REGRESSION", STATUS_STYLE["fail"])
    line.append(f" - {sanitize(regressions[0].message)}")
    if len(regressions) > 1:
        line.append(f" (+{len(regressions) - 1} more)")
    return line


def _compared(check: Check, value: float | bool | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "spurious" if value else "no"
    if isinstance(value, str):
        return sanitize(value)
    return _num(value, "+.3f") if _is_gap(check) else _pct(value)


def _is_gap(check: Check) -> bool:
    """The accuracy gap (te's, or another route's ``accuracy_gap[route]``) reads as a signed number."""
    return gate_route(check.name)[0] == "accuracy_gap"


def comparison_summary(comparison: Comparison) -> Group:
    """Every check of a comparison, worst first, then what could not be compared."""
    table = Table(title="What changed (old -> new)", title_justify="left")
    for header in ("check", "scope", "old", "new", "allowed rise", "result"):
        table.add_column(header, justify="right" if header in ("old", "new", "allowed rise") else "left")
    for check in sorted(comparison.checks, key=lambda c: c.status != "fail"):
        limit = "-" if check.threshold is None else (
            _num(check.threshold, ".3f") if _is_gap(check) else _pct(check.threshold))
        result = Text("worse", style="bold red") if check.status == "fail" else Text("ok", style="green")
        table.add_row(Text(check.name), Text(sanitize(check.scope)), Text(_compared(check, check.old)),
                      Text(_compared(check, check.new)), limit, result)
    head = Text()
    for label, side in (("old", comparison.old), ("new", comparison.new)):
        head.append(f"{label}: ", style="dim")
        side = sanitize_data(side)
        head.append(f"{side['path']} ({side['status']}, {side['created_at']})\n")
    parts: list[Any] = [head, table]
    parts += [Text(f"note: {sanitize(note)}", style="yellow") for note in comparison.notes]
    return Group(Panel(comparison_line(comparison), expand=False), *parts)
