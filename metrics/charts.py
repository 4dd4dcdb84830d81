"""Server-rendered SVG charts (no JavaScript, no inline style attributes: colours come from
classes in static/paved/metrics.css). Each chart is a <figure> with an accessible title and a
<title> per mark so hovering shows the value."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 180
WIDE = 1100  # a chart across a full-width card
PAD_L, PAD_R, PAD_T, PAD_B = 44, 8, 10, 26


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "h":
        return f"{value:.1f} h" if value < 100 else f"{value:.0f} h"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _frame(
    title: str,
    body: list[str],
    top: float,
    unit: str,
    labels: Sequence[str],
    width: int = WIDTH,
) -> SafeString:
    inner_h = HEIGHT - PAD_T - PAD_B
    classes = "chart wide" if width > WIDTH else "chart"
    parts = [
        f'<svg class="{classes}" viewBox="0 0 {width} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0, 0.5, 1):
        y = PAD_T + inner_h * (1 - frac)
        parts.append(
            f'<line class="grid" x1="{PAD_L}" y1="{y:.1f}" x2="{width - PAD_R}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(top * frac, unit))}</text>"
        )
    parts += body
    n = len(labels)
    if n:
        step = max(1, n // 6)
        slot = (width - PAD_L - PAD_R) / n
        for i in range(0, n, step):
            x = PAD_L + slot * (i + 0.5)
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(labels[i])}</text>"
            )
    parts.append("</svg>")
    return format_html(
        '<figure class="chart-figure"><figcaption>{}</figcaption>'
        '<div class="chart-scroll" tabindex="0">{}</div></figure>',
        title,
        mark_safe("".join(parts)),  # noqa: S308  (every interpolated value above is escaped)
    )


def bar_chart(
    title: str, points: Sequence[tuple[str, float | None]], unit: str = "", width: int = WIDTH
) -> SafeString:
    """Bars; `width` is the drawing's width in CSS pixels at which its 10 px labels read well
    (the default fits a half-width card; a full-width card wants WIDE)."""
    values = [v or 0 for _, v in points]
    top = max(values, default=0) or 1
    inner_h = HEIGHT - PAD_T - PAD_B
    slot = (width - PAD_L - PAD_R) / max(len(points), 1)
    body = []
    for i, (label, value) in enumerate(points):
        h = inner_h * (value or 0) / top
        x = PAD_L + slot * i + slot * 0.15
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{PAD_T + inner_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: '
            f"{escape(_fmt(value or 0, unit))}</title></rect>"
        )
    return _frame(title, body, top, unit, [p[0] for p in points], width)


def line_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    unit: str = "",
    top: float | None = None,
    width: int = WIDTH,
) -> SafeString:
    """A line with a dot per point; gaps (None) break the line."""
    values = [v for _, v in points if v is not None]
    top = top or (max(values, default=0) or 1)
    inner_h = HEIGHT - PAD_T - PAD_B
    slot = (width - PAD_L - PAD_R) / max(len(points), 1)
    body: list[str] = []
    segment: list[str] = []
    for i, (label, value) in enumerate(points):
        if value is None:
            if len(segment) > 1:
                body.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
            continue
        x = PAD_L + slot * (i + 0.5)
        y = PAD_T + inner_h * (1 - min(value, top) / top)
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(label)}: '
            f"{escape(_fmt(value, unit))}</title></circle>"
        )
    if len(segment) > 1:
        body.insert(0, f'<polyline class="line" points="{" ".join(segment)}"/>')
    return _frame(title, body, top, unit, [p[0] for p in points], width)
