"""Plain-text tables for the terminal (no dependency, monospace alignment)."""

from __future__ import annotations


def fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def table(headers: list[str], rows: list[list[object]], max_width: int = 60) -> str:
    cells = [[fmt(c)[:max_width] for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def _numeric(v: str) -> bool:
    return v.replace(",", "").replace(".", "").replace("-", "").replace("%", "").isdigit()
