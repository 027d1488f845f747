"""The terminal view of a sweep report's plain data: the leaderboard and the one-line answer.

Every string from the data goes into a ``Text`` (never markup) and the CLI prints through the
project's sanitizing console, so a column name or template cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

STATUS_STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def score_text(combination: Mapping[str, Any]) -> str:
    """"0.123" or "0.123 (0.100–0.150)" with a seed spread."""
    score = combination["score"]
    if score["min"] == score["max"]:
        return f"{score['median']:.3f}"
    return f"{score['median']:.3f} ({score['min']:.3f}–{score['max']:.3f})"


def tie_text(combination: Mapping[str, Any]) -> str:
    """"=1" for a combination tied with the best, "=k" for other tie groups of two or more."""
    return f"={combination['tie_group']}"


def summary_table(report: Mapping[str, Any]) -> Table:
    """One row per combination, best first."""
    seeds = report["seeds"]
    table = Table(title=f"Sweep of {len(report['combinations'])} combinations on {len(seeds)} seed(s); score: "
                        "lower is better (te-only + excess collapse + accuracy gap + spurious/4 + truncated)",
                  title_justify="left", expand=False)
    for header in ("#", "tie", "template", "curation", "embedder", "score", "te-only", "excess", "gap",
                   "spurious", "trunc", "verdict"):
        table.add_column(header, justify="left" if header in ("template", "curation", "embedder", "verdict",
                                                             "tie") else "right")
    sizes: dict[int, int] = {}
    for c in report["combinations"]:
        sizes[c["tie_group"]] = sizes.get(c["tie_group"], 0) + 1
    for c in report["combinations"]:
        terms = c["terms"]
        marker = tie_text(c) if sizes[c["tie_group"]] > 1 else ""
        table.add_row(str(c["rank"]), marker, Text(c["template"]), Text(c["curation"] + (" *" if c["is_default"] else "")),
                      Text(c["embedder"]), score_text(c), f"{terms['te_only']:.0%}", f"{terms['excess']:.0%}",
                      f"{terms['gap']:+.3f}", f"{terms['spurious']:.0%}", f"{terms['truncated']:.0%}",
                      Text(c["status"].upper(), style=STATUS_STYLES.get(c["status"], "")))
    table.caption = "* the default combination; tie =k: inside the seed spread of the group's first row"
    table.caption_justify = "left"
    return table


def outcome_line(report: Mapping[str, Any]) -> Text:
    """The answer in one line, and the ``--fail-if-best-fails`` outcome."""
    line = Text.assemble(("tecurate sweep: ", "bold"), report["statement"])
    if report["fail_if_best_fails"]:
        if report["best_fails"]:
            line.append("; FAIL: the best combination fails a gate (--fail-if-best-fails)", "bold red")
        else:
            line.append("; PASS: the best combination passes its gates", "bold green")
    return line
