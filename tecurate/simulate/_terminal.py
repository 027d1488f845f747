"""The terminal summary of a simulation report's plain data: one table and a line per outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text


def collapse_text(row: Mapping[str, Any], generations: int) -> str:
    """Generations to collapse as shown: a number, or ">T" when censored at the last generation."""
    return f">{generations}" if row["censored"] else str(row["generations_to_collapse"])


def summary_table(report: Mapping[str, Any]) -> Table:
    """Route × α × schedule -> generations to collapse, final TV, final accuracy (id_test)."""
    generations = report["config"]["generations"]
    table = Table(title=f"Self-consuming loops: {generations} generations, {report['config']['mode']}, "
                        f"synthetic {report['config']['synthetic']}, filter {report['config']['filter']}",
                  title_justify="left", expand=False)
    for header in ("route", "alpha", "schedule", "collapsed", "gens to collapse", "final TV", "final acc",
                   "final bal acc"):
        table.add_column(header, justify="left" if header in ("route", "schedule") else "right")
    for row in report["summary"]:
        table.add_row(Text(row["representation"]), f"{row['real_fraction']:g}", Text(row["schedule"]),
                      f"{row['n_collapsed']}/{row['n_runs']}",
                      Text(collapse_text(row, generations), style="" if row["censored"] else "red"),
                      f"{row['final_tv']:.3f}", f"{row['final_accuracy']:.3f}",
                      f"{row['final_balanced_accuracy']:.3f}")
    return table


def outcome_line(report: Mapping[str, Any]) -> Text:
    """One line: how many runs collapsed, and the ``--fail-if-collapse-before`` result."""
    runs = report["trajectories"]
    collapsed = sum(not t["censored"] for t in runs)
    line = Text.assemble(("tecurate simulate: ", "bold"), f"{collapsed} of {len(runs)} runs collapsed")
    check = report["collapse_check"]
    if check is not None:
        if check["failed"]:
            line.append(f"; FAIL: {len(check['runs'])} collapsed before generation {check['before']}", "bold red")
        else:
            line.append(f"; PASS: none collapsed before generation {check['before']}", "bold green")
    return line
