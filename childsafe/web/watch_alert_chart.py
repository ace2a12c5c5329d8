"""The risk trajectory of a watched conversation as a server-side SVG line chart.

Like `charts.bar_chart`: no script, no inline style (CSP), labelled for screen readers with a
text summary of what the picture shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def risk_chart(points: Sequence[tuple[int, float]], *, threshold: float,
               crossing: int | None = None, title: str = "Risk after each message",
               width: int = 560, height: int = 200) -> str:
    """Score (0..1) per message seq, the alert threshold as a dashed line, the crossing dot."""
    left, right, top, bottom = 36, 12, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    first = points[0][0] if points else 1
    last = points[-1][0] if points else 1
    span = max(1, last - first)

    def x(seq: int) -> float:
        return left + plot_w * (seq - first) / span

    def y(score: float) -> float:
        return top + plot_h * (1 - min(1.0, max(0.0, score)))

    parts = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             'stroke="#888"/>']
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{tick:.1f}</text>')
    for seq in sorted({first, last}):
        parts.append(f'<text x="{x(seq):.1f}" y="{height - 8}" text-anchor="middle" '
                     f'font-size="11">{seq}</text>')
    parts.append(f'<line class="threshold" x1="{left}" y1="{y(threshold):.1f}" '
                 f'x2="{left + plot_w}" y2="{y(threshold):.1f}" stroke="#b00020" '
                 'stroke-dasharray="5 4"/>')
    parts.append(f'<text x="{left + plot_w}" y="{y(threshold) - 4:.1f}" text-anchor="end" '
                 f'font-size="11" fill="#b00020">threshold {threshold:.2f}</text>')
    if points:
        path = " ".join(f"{x(seq):.1f},{y(score):.1f}" for seq, score in points)
        parts.append(f'<polyline class="risk" points="{path}" fill="none" stroke="#1f4e9c" '
                     'stroke-width="2"/>')
        hit = next((p for p in points if p[0] == crossing), None)
        if hit is not None:
            parts.append(f'<circle class="crossing" cx="{x(hit[0]):.1f}" cy="{y(hit[1]):.1f}" '
                         'r="5" fill="#b00020"/>')
    desc = _describe(points, threshold, crossing)
    return (f'<svg class="chart risk-chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(parts)}</svg>")


def _describe(points: Sequence[tuple[int, float]], threshold: float,
              crossing: int | None) -> str:
    if not points:
        return "No message of this conversation has been scored yet."
    (s0, v0), (s1, v1) = points[0], points[-1]
    peak = max(points, key=lambda p: p[1])
    text = (f"Risk {v0:.2f} at message {s0}, {v1:.2f} at message {s1}; highest {peak[1]:.2f} "
            f"at message {peak[0]}. Threshold {threshold:.2f}")
    return text + (f", crossed at message {crossing}." if crossing else ".")
