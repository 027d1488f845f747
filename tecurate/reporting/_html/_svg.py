"""SVG plot primitives: a frame that maps data onto pixels, axes and ticks, lines and markers.

Drawn by hand so the page needs no plotting library and opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tecurate.analysis import probit
from tecurate.reporting._html._markup import COLORS, esc

GRID = "#eaeef2"
FAINT = "#afb8c1"


@dataclass(frozen=True)
class Frame:
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
        """The ``<svg>`` start tag and the white plot box; the caller closes with ``</svg>``."""
        return (f"<svg viewBox=\"0 0 {self.width} {self.height}\" width=\"{self.width}\" "
                f"height=\"{self.height}\" role=\"img\" aria-label=\"{esc(label)}\">"
                f"<rect x=\"{self.left}\" y=\"{self.top}\" width=\"{self.width - self.left - self.right}\" "
                f"height=\"{self.height - self.top - self.bottom}\" fill=\"#fff\" stroke=\"{FAINT}\"/>")


def _tip(title: str) -> str:
    return f"<title>{esc(title)}</title>" if title else ""


def _dash(dash: str | None) -> str:
    return f" stroke-dasharray=\"{dash}\"" if dash else ""


def marker(rep: str, collapsed: bool, x: float, y: float, size: float, title: str = "") -> str:
    """Raw: circle, te: square, raw+te: triangle (shape and colour both differ); collapsed: hollow."""
    color = COLORS[rep]
    paint = (f"fill=\"{'#fff' if collapsed else color}\" fill-opacity=\"{1 if collapsed else 0.8}\" "
             f"stroke=\"{color}\" stroke-width=\"{2 if collapsed else 1}\"")
    if rep == "raw":
        return f"<circle cx=\"{x:.1f}\" cy=\"{y:.1f}\" r=\"{size:.1f}\" {paint}>{_tip(title)}</circle>"
    if rep == "raw+te":
        h = size * 1.2
        return (f"<path d=\"M{x:.1f} {y - h:.1f} L{x + h:.1f} {y + h * 0.8:.1f} L{x - h:.1f} {y + h * 0.8:.1f} Z\" "
                f"{paint}>{_tip(title)}</path>")
    side = size * 1.7
    return (f"<rect x=\"{x - side / 2:.1f}\" y=\"{y - side / 2:.1f}\" width=\"{side:.1f}\" "
            f"height=\"{side:.1f}\" {paint}>{_tip(title)}</rect>")


def base_marker(x: float, y: float, title: str = "") -> str:
    """The diamond of a base-rate point (always predicting one class)."""
    return (f"<path d=\"M{x:.1f} {y - 6:.1f} L{x + 6:.1f} {y:.1f} L{x:.1f} {y + 6:.1f} "
            f"L{x - 6:.1f} {y:.1f} Z\" fill=\"#1f2328\" stroke=\"#fff\" stroke-width=\"1\">"
            f"{_tip(title)}</path>")


def line_key(color: str, dash: str | None) -> str:
    """A short line for a legend entry."""
    return f"<line x1=\"1\" y1=\"6\" x2=\"23\" y2=\"6\" stroke=\"{color}\" stroke-width=\"2\"{_dash(dash)}/>"


def vline(frame: Frame, x: float, color: str, dash: str | None = None) -> str:
    """A vertical line at pixel ``x`` across the whole plot box."""
    return (f"<line x1=\"{x:.1f}\" y1=\"{frame.top}\" x2=\"{x:.1f}\" y2=\"{frame.height - frame.bottom}\" "
            f"stroke=\"{color}\"{_dash(dash)}/>")


def ticks(lo: float, hi: float) -> list[float]:
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


def probit_ticks(lo: float, hi: float, eps: float) -> list[tuple[float, float]]:
    """(probit position, accuracy label) pairs for an axis spanning [lo, hi] in probit units."""
    for candidates in _ACCURACY_TICKS:
        found = [(float(p), acc) for acc, p in zip(candidates, probit(candidates, eps)) if lo <= p <= hi]
        if len(found) >= 3:
            break
    stride = -(-len(found) // 7)
    return found[::stride]


def axes(frame: Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]],
         x_label: str, y_label: str) -> str:
    """Grid lines with their labels, and the axis titles (no y title when ``y_label`` is empty)."""
    parts = []
    for value, label in x_ticks:
        x = frame.x(value)
        parts.append(vline(frame, x, GRID) + f"<text x=\"{x:.1f}\" y=\"{frame.height - frame.bottom + 14}\" "
                     f"text-anchor=\"middle\">{esc(label)}</text>")
    for value, label in y_ticks:
        y = frame.y(value)
        parts.append(f"<line x1=\"{frame.left}\" y1=\"{y:.1f}\" x2=\"{frame.width - frame.right}\" "
                     f"y2=\"{y:.1f}\" stroke=\"{GRID}\"/>"
                     f"<text x=\"{frame.left - 5}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">"
                     f"{esc(label)}</text>")
    middle_x = (frame.left + frame.width - frame.right) / 2
    parts.append(f"<text x=\"{middle_x:.1f}\" y=\"{frame.height - 6}\" text-anchor=\"middle\">"
                 f"{esc(x_label)}</text>")
    if y_label:
        middle_y = (frame.top + frame.height - frame.bottom) / 2
        parts.append(f"<text transform=\"translate(12 {middle_y:.1f}) rotate(-90)\" "
                     f"text-anchor=\"middle\">{esc(y_label)}</text>")
    return "".join(parts)


def clip_line(slope: float, intercept: float, frame: Frame) -> tuple[float, float, float, float] | None:
    """The part of y = intercept + slope·x inside the frame's data box, if any."""
    (x0, x1), (y0, y1) = frame.x_range, frame.y_range
    if slope == 0:
        return (x0, intercept, x1, intercept) if y0 <= intercept <= y1 else None
    xa, xb = sorted(((y0 - intercept) / slope, (y1 - intercept) / slope))
    lo, hi = max(x0, xa), min(x1, xb)
    if lo >= hi:
        return None
    return lo, intercept + slope * lo, hi, intercept + slope * hi


def segment(frame: Frame, ends: tuple[float, float, float, float], color: str, dash: str | None,
            width: float) -> str:
    """A line between two points in data units."""
    x0, y0, x1, y1 = ends
    return (f"<line x1=\"{frame.x(x0):.1f}\" y1=\"{frame.y(y0):.1f}\" x2=\"{frame.x(x1):.1f}\" "
            f"y2=\"{frame.y(y1):.1f}\" stroke=\"{color}\" stroke-width=\"{width}\"{_dash(dash)}/>")


def padded(values: Sequence[float], min_span: float) -> tuple[float, float]:
    """A data range around ``values``, at least ``min_span`` wide, with a margin."""
    lo, hi = min(values), max(values)
    if hi - lo < min_span:
        middle = (lo + hi) / 2
        lo, hi = middle - min_span / 2, middle + min_span / 2
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def rows_frame(labels: Sequence[str], x_range: tuple[float, float], row_height: int) -> Frame:
    """A frame with one labelled row per entry of ``labels`` (strip and dumbbell plots)."""
    rows = max(len(labels), 1)
    return Frame(x_range, (0.0, float(rows)), 500, 24 + 40 + row_height * rows, left=112, top=24)


def row_centre(n_rows: int, i: int) -> float:
    """The data y of row ``i`` of ``n_rows``: rows count from the top, data y grows upwards."""
    return n_rows - i - 0.5


def row_labels(frame: Frame, labels: Sequence[str]) -> str:
    return "".join(f"<text x=\"{frame.left - 6}\" y=\"{frame.y(row_centre(len(labels), i)) + 4:.1f}\" "
                   f"text-anchor=\"end\">{esc(label)}</text>" for i, label in enumerate(labels))
