"""Small server-rendered SVG charts: pictures for consoles without any script (CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, width: int = 420,
              bar_height: int = 22) -> str:
    """A horizontal bar chart as an inline <svg>, labelled for screen readers."""
    peak = max((v for _, v in items), default=0) or 1
    label_w, gap = 120, 6
    height = max(1, len(items)) * (bar_height + gap) + gap
    rows = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_height + gap)
        w = int((width - label_w - 50) * value / peak)
        rows.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.7:.0f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_height}" rx="3"/>'
            f'<text x="{label_w + w + 6}" y="{y + bar_height * 0.7:.0f}">{value}</text>')
    desc = ", ".join(f"{label}: {value}" for label, value in items) or "no data"
    return (f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f"<desc>{escape(desc)}</desc>{''.join(rows)}</svg>")
