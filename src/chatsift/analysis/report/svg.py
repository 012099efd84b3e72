"""Small inline SVG charts: the report must open without network, scripts or chart libraries.

Every label goes through ``html.escape``: chart labels are data (model names, topic labels).
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#3b6fd8", "#e07b39", "#3aa36b", "#c8475a", "#8a5cc2", "#2ea6b8", "#b8962e", "#6b7280", "#d45fa3",
           "#5a8f29", "#9c6b3c", "#4a5fc1", "#c23b3b", "#2f8f83", "#a35ed1", "#d1a23b", "#5b7a99", "#8f3f6b",
           "#3f8f3f", "#b35a2f"]


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


FONT_PX = 12  # chart text is drawn at this size: charts are given their pixel width, never scaled down
CHAR_PX = 7.0  # a generous average glyph width at FONT_PX (labels are measured with it, so they never clip)
MAX_LABEL_CHARS = 48


def text_width(text: str) -> float:
    """An upper-bound estimate of the drawn width of ``text`` (wide glyphs count double)."""
    return sum(CHAR_PX * (2 if ord(ch) > 0x2E80 else 1) for ch in text)


def clip(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """A label cut at a word boundary with an ellipsis (the full text goes into the <title> tooltip)."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return (cut if len(cut) > limit // 2 else text[:limit - 1]) + "…"


def _svg(width: float, height: float, title: str, body: str, css: str = "chart") -> str:
    return (f'<svg class="{css}" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'role="img" aria-label="{escape(title)}">' + body + "</svg>")


def hbar(items: list[tuple[str, float]], width: int = 640, bar_height: int = 20, value_fmt: str = "{:,.0f}",
         title: str = "") -> str:
    """Horizontal bars, largest first as given; labels are measured so that none is cut."""
    if not items:
        return '<p class="empty">no data</p>'
    shown = [clip(str(k)) for k, _ in items]
    values = [value_fmt.format(v) for _, v in items]
    label_w = max(60.0, max(text_width(t) for t in shown) + 10)
    value_w = max(text_width(v) for v in values) + 12
    width = max(width, label_w + value_w + 160)  # a long label widens the chart instead of being cut
    top = max(v for _, v in items) or 1
    height = len(items) * (bar_height + 6) + 10
    rows = []
    for i, ((label, value), text, val) in enumerate(zip(items, shown, values)):
        y = 5 + i * (bar_height + 6)
        w = (width - label_w - value_w) * value / top
        full = escape(str(label))
        rows.append(
            f'<text x="{label_w - 6:.1f}" y="{y + bar_height - 6}" text-anchor="end" class="lbl">{escape(text)}'
            f"<title>{full}</title></text>"
            f'<rect x="{label_w:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color(0)}" rx="2">'
            f"<title>{full}: {escape(val)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height - 6}" class="val">{escape(val)}</text>'
        )
    return _svg(width, height, title, "".join(rows))


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round axis values from 0 to at least ``top``: 0, 250, 500, ... (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _short(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def columns(items: list[tuple[str, float]], width: int = 640, height: int = 240, title: str = "",
            x_label: str = "") -> str:
    """Vertical columns (a histogram or a time series) with a y-axis, gridlines and evenly spaced x ticks."""
    if not items:
        return '<p class="empty">no data</p>'
    ticks = nice_ticks(max(v for _, v in items))
    top = ticks[-1] or 1
    left = max(text_width(_short(t)) for t in ticks) + 14
    bottom = 36 if x_label else 24
    plot_h = height - bottom - 12
    n = len(items)
    slot = (width - left - 10) / n
    longest = max(text_width(str(k)) for k, _ in items) + 8
    every = max(1, math.ceil(longest / slot))  # label every k-th column, evenly, so no two labels touch
    parts = []
    for t in ticks:
        y = 12 + plot_h * (1 - t / top)
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_short(t)}</text>')
    for i, (label, value) in enumerate(items):
        h = plot_h * value / top
        x = left + i * slot
        parts.append(f'<rect x="{x + 1:.1f}" y="{12 + plot_h - h:.1f}" width="{max(slot - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{color(0)}"><title>{escape(str(label))}: {value:,.0f}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{12 + plot_h + 16:.1f}" text-anchor="middle" '
                         f'class="tick">{escape(str(label))}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{12 + plot_h:.1f}" x2="{width - 10}" y2="{12 + plot_h:.1f}" '
                 f'class="axis"/><line x1="{left:.1f}" y1="12" x2="{left:.1f}" y2="{12 + plot_h:.1f}" class="axis"/>')
    if x_label:
        parts.append(f'<text x="{left + (width - left) / 2:.1f}" y="{height - 4}" text-anchor="middle" '
                     f'class="tick">{escape(x_label)}</text>')
    return _svg(width, height, title, "".join(parts))


def histogram(counts: dict[int, int], cap: int = 30, title: str = "", x_label: str = "") -> str:
    """Counts for 0..cap with every integer present (zeros included) and one ``cap+`` column beyond it."""
    if not counts:
        return '<p class="empty">no data</p>'
    low = min(counts)
    high = min(max(counts), cap)
    items = [(str(k), counts.get(k, 0)) for k in range(low, high + 1)]
    beyond = sum(v for k, v in counts.items() if k > cap)
    if beyond:
        items.append((f"{cap + 1}+", beyond))
    return columns(items, title=title, x_label=x_label)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def scatter(points: list[tuple[float, float, int]], labels: dict[int, str], width: int = 760, height: int = 520,
            title: str = "") -> str:
    """The topic map: a 2-D projection of prompts coloured by cluster, each cluster labelled near its centre.

    Labels are placed largest cluster first, each at the first of several spots around its centre
    where it overlaps no label already placed and stays inside the chart; a cluster with no free spot
    shows its number only (the list beside the map names it), so labels never overlap or clip.
    """
    if not points:
        return '<p class="empty">no topic map</p>'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad = 24
    sx = (width - 2 * pad) / ((x1 - x0) or 1)
    sy = (height - 2 * pad) / ((y1 - y0) or 1)

    def px(x: float) -> float:
        return pad + (x - x0) * sx

    def py(y: float) -> float:
        return height - pad - (y - y0) * sy

    dots = [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{color(c)}" fill-opacity="0.55"/>'
            for x, y, c in points]
    members: dict[int, list[tuple[float, float]]] = {}
    for x, y, c in points:
        members.setdefault(c, []).append((px(x), py(y)))
    placed: list[tuple[float, float, float, float]] = []
    names = []
    for c, pts in sorted(members.items(), key=lambda kv: -len(kv[1])):
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        full = f"{c + 1}. {labels.get(c, '')}".rstrip(". ")
        for text in (clip(full, 30), f"{c + 1}"):
            w, h = text_width(text) + 6, FONT_PX + 6
            spots = [(0, 0), (0, -h), (0, h), (w / 2 + 8, 0), (-w / 2 - 8, 0), (0, -2 * h), (0, 2 * h),
                     (w / 2 + 8, -h), (-w / 2 - 8, h), (w / 2 + 8, h), (-w / 2 - 8, -h)]
            spot = None
            for dx, dy in spots:
                lx = min(max(cx + dx, w / 2 + 2), width - w / 2 - 2)
                ly = min(max(cy + dy, h + 2), height - 4)
                box = (lx - w / 2, ly - h + 3, lx + w / 2, ly + 3)
                if not any(_overlaps(box, other) for other in placed):
                    spot = (lx, ly, box)
                    break
            if spot is not None:
                lx, ly, box = spot
                placed.append(box)
                names.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" class="maplbl">'
                             f"{escape(text)}<title>{escape(full)}</title></text>")
                break
    return _svg(width, height, title, "".join(dots) + "".join(names), css="chart map")


def whiskers(items: list[tuple[str, float, float, float]], width: int = 640, bar_height: int = 16,
             value_fmt: str = "{:,.1f}", title: str = "") -> str:
    """Ranked bars with 95% interval whiskers: (label, value, lower, upper), best first as given; a bound
    of None (too few battles for an interval) draws the bar without whiskers and says so."""
    if not items:
        return '<p class="empty">no data</p>'
    few = {i for i, (_, _, low, up) in enumerate(items) if low is None or up is None}
    items = [(k, v, v if low is None else low, v if up is None else up) for k, v, low, up in items]
    label_w = max(60.0, max(text_width(clip(str(k))) for k, *_ in items) + 10)
    width = max(width, label_w + 250)
    lo = min(min(v, low) for _, v, low, _ in items)
    hi = max(max(v, up) for _, v, _, up in items)
    floor = lo - 0.05 * (hi - lo or 1)
    span = (hi - floor) or 1
    plot = width - label_w - 90

    def px(value: float) -> float:
        return label_w + plot * (value - floor) / span

    height = len(items) * (bar_height + 6) + 10
    rows = []
    for i, (label, value, low, up) in enumerate(items):
        y = 5 + i * (bar_height + 6)
        mid = y + bar_height / 2
        text = escape(clip(str(label)))
        shown = escape(value_fmt.format(value))
        interval = ("too few battles for an interval" if i in few else
                    f"95% CI {escape(value_fmt.format(low))} to {escape(value_fmt.format(up))}")
        rows.append(
            f'<text x="{label_w - 6:.1f}" y="{y + bar_height - 4}" text-anchor="end" class="lbl">{text}</text>'
            f'<rect x="{label_w}" y="{y}" width="{px(value) - label_w:.1f}" height="{bar_height}" fill="{color(0)}" '
            f'rx="2" opacity="0.75"><title>{text}: {shown} ({interval})</title></rect>'
            f'<line x1="{px(low):.1f}" x2="{px(up):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="#222" '
            f'stroke-width="1.5"/>'
            f'<line x1="{px(low):.1f}" x2="{px(low):.1f}" y1="{y + 3}" y2="{y + bar_height - 3}" stroke="#222"/>'
            f'<line x1="{px(up):.1f}" x2="{px(up):.1f}" y1="{y + 3}" y2="{y + bar_height - 3}" stroke="#222"/>'
            f'<text x="{px(max(up, value)) + 6:.1f}" y="{y + bar_height - 4}" class="val">{shown}</text>'
        )
    return _svg(width, height, title, "".join(rows))
