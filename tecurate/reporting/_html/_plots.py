"""The report's three plots, drawn from its plain data with the primitives of ``_svg``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tecurate.analysis import probit
from tecurate.data import ID_TEST
from tecurate.reporting._html._markup import COLORS, MUTED, esc
from tecurate.reporting._html._svg import (
    FAINT,
    Frame,
    axes,
    base_marker,
    clip_line,
    marker,
    padded,
    probit_ticks,
    row_centre,
    row_labels,
    rows_frame,
    segment,
    ticks,
    vline,
)

Point = tuple[str, bool, float, float, str]
"""One model in the AotL scatter: route, collapsed, ID accuracy, OOD accuracy, tooltip."""


def _aotl_points(models: Sequence[Mapping[str, Any]], split: str) -> list[Point]:
    points = []
    for model in models:
        on_id, on_ood = model["splits"].get(ID_TEST), model["splits"].get(split)
        if on_id is None or on_ood is None:
            continue
        # A point is collapsed when either end is, as in the AotL fit itself (tecurate.analysis._aotl).
        collapsed = on_id["collapsed"] or on_ood["collapsed"]
        title = (f"{model['config_id']} ({model['representation']}): ID {on_id['accuracy']:.3f}, "
                 f"OOD {on_ood['accuracy']:.3f}{', collapsed' if collapsed else ''}")
        points.append((model["representation"], collapsed, on_id["accuracy"], on_ood["accuracy"], title))
    return points


def _fit_lines(frame: Frame, fits: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The y = x diagonal, then per route the fit on all models (solid) and on healthy ones (dashed)."""
    parts = []
    diagonal = clip_line(1.0, 0.0, frame)
    if diagonal:
        parts.append(segment(frame, diagonal, FAINT, "2 3", 1))
    for rep, fit in fits.items():
        for which, dash in (("all", None), ("healthy", "6 4")):
            line = fit[which]
            if line["slope"] is None or line["intercept"] is None:
                continue
            ends = clip_line(line["slope"], line["intercept"], frame)
            if ends:
                parts.append(segment(frame, ends, COLORS.get(rep, MUTED), dash, 2))
    return parts


def _base_rate(frame: Frame, cls: str, acc_id: float, acc_ood: float, x: float, y: float) -> str:
    """The diamond of a base-rate point and its label, placed away from the right edge."""
    near_right = frame.x(x) > frame.width * 0.6
    return (base_marker(frame.x(x), frame.y(y),
                        f"base-rate point: always predict '{cls}' (ID {acc_id:.3f}, OOD {acc_ood:.3f})")
            + f"<text x=\"{frame.x(x) + (-9 if near_right else 9):.1f}\" y=\"{frame.y(y) - 8:.1f}\" "
            f"text-anchor=\"{'end' if near_right else 'start'}\">base rate ({esc(cls)})</text>")


def aotl_plot(report: Mapping[str, Any], split: str, eps: float) -> str:
    """Probit ID vs probit OOD accuracy for both routes, fitted lines and base-rate points."""
    points = _aotl_points(report["models"], split)
    fits = {rep: per_rep[split] for rep, per_rep in report["aotl"].items() if split in per_rep}
    bases = list(dict.fromkeys((f["base_rate_point"]["class"], f["base_rate_point"]["id"],
                                f["base_rate_point"]["ood"]) for f in fits.values() if f["base_rate_point"]))
    xs = [float(v) for v in probit([p[2] for p in points] + [b[1] for b in bases], eps)]
    ys = [float(v) for v in probit([p[3] for p in points] + [b[2] for b in bases], eps)]
    if not xs:
        return "<p class=\"muted\">No model was evaluated on this split.</p>"
    frame = Frame(padded(xs, 0.6), padded(ys, 0.6), 500, 400)
    ticks_x = [(p, f"{acc:g}") for p, acc in probit_ticks(*frame.x_range, eps)]
    ticks_y = [(p, f"{acc:g}") for p, acc in probit_ticks(*frame.y_range, eps)]
    parts = [frame.open(f"accuracy on the line, {split}"),
             axes(frame, ticks_x, ticks_y, "ID accuracy (id_test, probit scale)",
                  f"OOD accuracy ({split}, probit scale)"),
             *_fit_lines(frame, fits)]
    for (rep, collapsed, _, _, title), x, y in zip(points, xs, ys):
        parts.append(marker(rep, collapsed, frame.x(x), frame.y(y), 4.5, title))
    for base, x, y in zip(bases, xs[len(points):], ys[len(points):]):
        parts.append(_base_rate(frame, *base, x, y))
    parts.append("</svg>")
    return "".join(parts)


def strip_plot(groups: Sequence[tuple[str, str, Sequence[tuple[float, bool, str]]]],
               threshold: float, n_classes: int) -> str:
    """One row per family and route, one dot per model at its majority-class rate."""
    labels = [label for label, _, _ in groups]
    values = [rate for _, _, rates in groups for rate, _, _ in rates]
    low = min([1.0 / n_classes, *values])
    frame = rows_frame(labels, (max(0.0, low - 0.05), 1.02), 26)
    x = frame.x(threshold)
    parts = [frame.open("majority-class rate per model"),
             axes(frame, [(t, f"{t:g}") for t in ticks(*frame.x_range)], [], "majority-class rate", ""),
             row_labels(frame, labels),
             vline(frame, x, "#cf222e", "5 3"),
             f"<text x=\"{x:.1f}\" y=\"{frame.top - 8}\" text-anchor=\"end\">collapse threshold</text>"]
    for i, (_, rep, rates) in enumerate(groups):
        centre = row_centre(len(groups), i)
        for j, (rate, collapsed, title) in enumerate(rates):
            jitter = ((j * 0.618034) % 1.0 - 0.5) * 0.6
            parts.append(marker(rep, collapsed, frame.x(rate), frame.y(centre + jitter), 4,
                                f"{title}: majority-class rate {rate:.3f}"))
    parts.append("</svg>")
    return "".join(parts)


def pairs_plot(models: Sequence[Mapping[str, Any]], split: str) -> str:
    """Per configuration, raw and every other route's accuracy on one split, each joined to raw by a line."""
    pairs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for model in models:
        if "accuracy" in model["splits"].get(split, {}):
            pairs.setdefault(model["config_id"], {})[model["representation"]] = model["splits"][split]
    if not pairs:
        return "<p class=\"muted\">No accuracy on this split (it has no labels).</p>"
    labels = list(pairs)
    frame = rows_frame(labels, (0.0, 1.0), 14)
    base = next(iter(next(iter(pairs.values())).values()))["base_rate"]
    parts = [frame.open(f"accuracy per configuration, {split}"),
             axes(frame, [(t, f"{t:g}") for t in ticks(0.0, 1.0)], [], f"accuracy on {split}", ""),
             row_labels(frame, labels),
             vline(frame, frame.x(base), MUTED, "2 3")]
    for i, label in enumerate(labels):
        y = frame.y(row_centre(len(labels), i))
        by_rep = pairs[label]
        for rep in (r for r in by_rep if r != "raw" and "raw" in by_rep):
            parts.append(f"<line x1=\"{frame.x(by_rep['raw']['accuracy']):.1f}\" y1=\"{y:.1f}\" "
                         f"x2=\"{frame.x(by_rep[rep]['accuracy']):.1f}\" y2=\"{y:.1f}\" stroke=\"{FAINT}\" "
                         "stroke-width=\"2\"/>")
        for rep, metrics in by_rep.items():
            parts.append(marker(rep, metrics["collapsed"], frame.x(metrics["accuracy"]), y, 4,
                                f"{label} ({rep}): accuracy {metrics['accuracy']:.3f}"
                                f"{', collapsed' if metrics['collapsed'] else ''}"))
    parts.append("</svg>")
    return "".join(parts)
