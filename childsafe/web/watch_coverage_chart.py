"""A 24-hour coverage chart as server-side SVG: who covers each slot of a room, gaps in red.

Colours are presentation attributes (not inline styles, which the CSP forbids); the picture
is also told in words (`<desc>`), and the page lists the gaps as text beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

PALETTE = ("#1f5fa8", "#6a3d9a", "#8d4a00", "#37474f", "#ad1457", "#00695c")
GAP, GAP_BAND, COVERED = "#c62828", "#fde2e2", "#2e7d32"


def runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Consecutive True slots as (first, end) index pairs, end exclusive."""
    found: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if found and found[-1][1] == i:
            found[-1] = (found[-1][0], i + 1)
        else:
            found.append((i, i + 1))
    return found


def local_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """'16:00–22:00' in the zone; an end at the next midnight reads 24:00."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    end_text = "24:00" if b.date() > a.date() and b.hour == b.minute == 0 else f"{b:%H:%M}"
    return f"{a:%H:%M}–{end_text}"


def colour_of(index: int) -> str:
    """The colour of the index-th agency on a page (the same agency keeps it in every chart)."""
    return PALETTE[index % len(PALETTE)]


def coverage_chart(title: str, rows: Sequence[tuple[str, Sequence[bool], str]],
                   slot_starts: Sequence[datetime], slot_minutes: int, tz: ZoneInfo) -> str:
    """One row per agency (label, on duty in each slot, colour) and a summary row: covered
    or gap."""
    n = len(slot_starts)
    label_w, cell, row_h, top, axis = 150, 14, 20, 6, 24
    covered = [any(flags[i] for _, flags, _ in rows) for i in range(n)]
    all_rows = [*rows, ("Any agency", covered, COVERED)]
    width = label_w + n * cell + 24
    height = top + len(all_rows) * (row_h + 4) + axis
    step = timedelta(minutes=slot_minutes)

    def span(first: int, end: int) -> str:
        return local_span(slot_starts[first], slot_starts[end - 1] + step, tz)

    parts = []
    for first, end in runs([not c for c in covered]):
        parts.append(f'<rect x="{label_w + first * cell}" y="{top - 3}" '
                     f'width="{(end - first) * cell}" height="{len(all_rows) * (row_h + 4) + 2}" '
                     f'fill="{GAP_BAND}"/>')
    lines = []
    for r, (label, flags, colour) in enumerate(all_rows):
        y = top + r * (row_h + 4)
        summary = r == len(all_rows) - 1
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="12" '
                     f'fill="#1d2530">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{n * cell}" height="{row_h}" '
                     f'fill="none" stroke="#c9d1da"/>')
        on = runs(flags)
        for first, end in on:
            parts.append(f'<rect x="{label_w + first * cell}" y="{y}" '
                         f'width="{(end - first) * cell}" height="{row_h}" fill="{colour}"/>')
        if summary:
            for first, end in runs([not f for f in flags]):
                parts.append(f'<rect class="gap" x="{label_w + first * cell}" y="{y}" '
                             f'width="{(end - first) * cell}" height="{row_h}" fill="{GAP}"/>')
        else:
            lines.append(f"{label}: " + (", ".join(span(a, b) for a, b in on) or "off duty"))
    axis_y = top + len(all_rows) * (row_h + 4) + 14
    for i in range(0, n + 1, max(1, 180 // slot_minutes)):
        x = label_w + i * cell
        when = (slot_starts[i] if i < n else slot_starts[-1] + step).astimezone(tz)
        text = "24:00" if i == n else f"{when:%H:%M}"
        parts.append(f'<line x1="{x}" y1="{top - 3}" x2="{x}" y2="{axis_y - 12}" '
                     f'stroke="#7a8591" stroke-width="0.5"/>'
                     f'<text x="{x}" y="{axis_y}" text-anchor="middle" font-size="11" '
                     f'fill="#1d2530">{text}</text>')
    gaps = [span(a, b) for a, b in runs([not c for c in covered])]
    lines.append("Gaps: " + (", ".join(gaps) if gaps else "none, covered all day"))
    return (f'<svg class="coverage" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<desc>{escape(". ".join(lines))}</desc>{"".join(parts)}</svg>')
