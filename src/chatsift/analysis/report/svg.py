"""Small inline SVG charts: the report must open without network, scripts or chart libraries.

Every label goes through ``html.escape``: chart labels are data (model names, topic labels).
"""

from __future__ import annotations

from html import escape

PALETTE = ["#3b6fd8", "#e07b39", "#3aa36b", "#c8475a", "#8a5cc2", "#2ea6b8", "#b8962e", "#6b7280", "#d45fa3",
           "#5a8f29", "#9c6b3c", "#4a5fc1", "#c23b3b", "#2f8f83", "#a35ed1", "#d1a23b", "#5b7a99", "#8f3f6b",
           "#3f8f3f", "#b35a2f"]


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def hbar(items: list[tuple[str, float]], width: int = 640, bar_height: int = 18, value_fmt: str = "{:,.0f}",
         title: str = "") -> str:
    """Horizontal bars, largest first as given."""
    if not items:
        return '<p class="empty">no data</p>'
    label_w = min(240, max(60, 7 * max(len(str(k)) for k, _ in items)))
    top = max(v for _, v in items) or 1
    height = len(items) * (bar_height + 6) + 10
    rows = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * (bar_height + 6)
        w = (width - label_w - 90) * value / top
        text = escape(str(label))
        rows.append(
            f'<text x="{label_w - 6}" y="{y + bar_height - 5}" text-anchor="end" class="lbl">{text[:40]}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color(0)}" rx="2">'
            f"<title>{text}: {escape(value_fmt.format(value))}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height - 5}" class="val">'
            f"{escape(value_fmt.format(value))}</text>"
        )
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
            + "".join(rows) + "</svg>")


def columns(items: list[tuple[str, float]], width: int = 640, height: int = 220, title: str = "") -> str:
    """Vertical columns (a histogram or a time series)."""
    if not items:
        return '<p class="empty">no data</p>'
    top = max(v for _, v in items) or 1
    n = len(items)
    slot = (width - 50) / n
    bars = []
    for i, (label, value) in enumerate(items):
        h = (height - 40) * value / top
        x = 40 + i * slot
        bars.append(f'<rect x="{x + 1:.1f}" y="{height - 25 - h:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                    f'fill="{color(0)}"><title>{escape(str(label))}: {value:,.0f}</title></rect>')
        if n <= 25 or i % max(1, n // 12) == 0:
            bars.append(f'<text x="{x + slot / 2:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
                        f"{escape(str(label))[:10]}</text>")
    axis = (f'<text x="36" y="14" text-anchor="end" class="tick">{top:,.0f}</text>'
            f'<line x1="40" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" class="axis"/>')
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
            + axis + "".join(bars) + "</svg>")


def scatter(points: list[tuple[float, float, int]], labels: dict[int, str], width: int = 760, height: int = 520,
            title: str = "") -> str:
    """The topic map: a 2-D projection of prompts coloured by cluster, with cluster labels at their centres."""
    if not points:
        return '<p class="empty">no topic map</p>'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (width - 40) / ((x1 - x0) or 1)
    sy = (height - 40) / ((y1 - y0) or 1)

    def px(x: float) -> float:
        return 20 + (x - x0) * sx

    def py(y: float) -> float:
        return height - 20 - (y - y0) * sy

    dots = [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{color(c)}" fill-opacity="0.55"/>'
            for x, y, c in points]
    centres = {}
    for x, y, c in points:
        centres.setdefault(c, []).append((x, y))
    names = []
    for c, pts in sorted(centres.items()):
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        names.append(f'<text x="{px(cx):.1f}" y="{py(cy):.1f}" text-anchor="middle" class="maplbl">'
                     f"{c + 1}. {escape(labels.get(c, ''))[:28]}</text>")
    return (f'<svg class="chart map" viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-label="{escape(title)}">' + "".join(dots) + "".join(names) + "</svg>")


def whiskers(items: list[tuple[str, float, float, float]], width: int = 640, bar_height: int = 16,
             value_fmt: str = "{:,.1f}", title: str = "") -> str:
    """Ranked bars with 95% interval whiskers: (label, value, lower, upper), best first as given."""
    if not items:
        return '<p class="empty">no data</p>'
    label_w = min(240, max(60, 7 * max(len(str(k)) for k, *_ in items)))
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
        text = escape(str(label))
        shown = escape(value_fmt.format(value))
        interval = f"{escape(value_fmt.format(low))} to {escape(value_fmt.format(up))}"
        rows.append(
            f'<text x="{label_w - 6}" y="{y + bar_height - 4}" text-anchor="end" class="lbl">{text[:40]}</text>'
            f'<rect x="{label_w}" y="{y}" width="{px(value) - label_w:.1f}" height="{bar_height}" fill="{color(0)}" '
            f'rx="2" opacity="0.75"><title>{text}: {shown} (95% CI {interval})</title></rect>'
            f'<line x1="{px(low):.1f}" x2="{px(up):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="#222" '
            f'stroke-width="1.5"/>'
            f'<line x1="{px(low):.1f}" x2="{px(low):.1f}" y1="{y + 3}" y2="{y + bar_height - 3}" stroke="#222"/>'
            f'<line x1="{px(up):.1f}" x2="{px(up):.1f}" y1="{y + 3}" y2="{y + bar_height - 3}" stroke="#222"/>'
            f'<text x="{px(max(up, value)) + 6:.1f}" y="{y + bar_height - 4}" class="val">{shown}</text>'
        )
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
            + "".join(rows) + "</svg>")
