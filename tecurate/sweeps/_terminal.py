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


def tie_marks(report: Mapping[str, Any]) -> dict[str, str]:
    """Combination id -> "=k": tied with the combination ranked k (its tie group's first row);
    "" for a combination alone in its group."""
    leaders: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for c in report["combinations"]:
        leaders.setdefault(c["tie_group"], c["rank"])
        sizes[c["tie_group"]] = sizes.get(c["tie_group"], 0) + 1
    return {c["id"]: f"={leaders[c['tie_group']]}" if sizes[c["tie_group"]] > 1 else "" for c in report["combinations"]}


def summary_table(report: Mapping[str, Any]) -> Table:
    """One row per combination, best first (the embedder column only when the sweep compares embedders)."""
    combos = report["combinations"]
    embedders = list(dict.fromkeys(c["embedder"] for c in combos))
    title = (f"Sweep of {len(combos)} combinations on {len(report['seeds'])} seed(s)"
             + ("" if len(embedders) > 1 else f", embedder {embedders[0]}")
             + "; score: lower is better (te-only + excess collapse + gap + spurious/4 + truncated)")
    table = Table(title=title, title_justify="left", expand=False)
    headers = ["#", "tie", "template", "curation", *(["embedder"] if len(embedders) > 1 else []), "score",
               "te-only", "excess", "gap", "spur", "trunc", "verdict"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("template", "curation", "embedder", "verdict", "tie")
                         else "right", overflow="fold")
    marks = tie_marks(report)
    for c in combos:
        terms = c["terms"]
        table.add_row(str(c["rank"]), marks[c["id"]], Text(c["template"]),
                      Text(c["curation"] + (" *" if c["is_default"] else "")),
                      *([Text(c["embedder"])] if len(embedders) > 1 else []), score_text(c),
                      f"{terms['te_only']:.0%}", f"{terms['excess']:.0%}", f"{terms['gap']:+.3f}",
                      f"{terms['spurious']:.0%}", f"{terms['truncated']:.0%}",
                      Text(c["status"].upper(), style=STATUS_STYLES.get(c["status"], "")))
    table.caption = "* the default combination; =k: tied with #k, inside its seed spread"
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
