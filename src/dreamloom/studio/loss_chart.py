"""The loss graph of the render view: the loss log's columns as lines of an inline SVG.

Drawn here rather than by a charting library so that it needs nothing more and shows at once; one line per
loss column, step on the x axis, the losses' common range on the y axis.
"""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT, MARGIN = 480, 200, 36
COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
NOT_LOSSES = ("step", "frame")


def loss_svg(rows: list[dict[str, float]]) -> str:
    """An SVG with a polyline per loss column of ``rows`` (one dict per step, as the loss log holds them)."""
    names = [name for name in dict.fromkeys(key for row in rows for key in row) if name not in NOT_LOSSES]
    points = {name: [(row["step"], row[name]) for row in rows if name in row and math.isfinite(row[name])]
              for name in names}
    values = [value for series in points.values() for _, value in series]
    if not values:
        return '<p class="dl-losses-empty">The loss graph appears at the render\'s first save.</p>'
    steps = [step for series in points.values() for step, _ in series]
    low, high = min(values), max(values)
    first, last = min(steps), max(steps)

    def place(step: float, value: float) -> str:
        x = MARGIN + (step - first) / ((last - first) or 1) * (WIDTH - 2 * MARGIN)
        y = HEIGHT - MARGIN - (value - low) / ((high - low) or 1) * (HEIGHT - 2 * MARGIN)
        return f"{x:.1f},{y:.1f}"

    lines, legend = [], []
    for index, name in enumerate(names):
        colour = COLOURS[index % len(COLOURS)]
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" data-series="{html.escape(name)}" '
                     f'points="{" ".join(place(step, value) for step, value in points[name])}"/>')
        legend.append(f'<text x="{MARGIN + 150 * (index % 3)}" y="{14 + 14 * (index // 3)}" fill="{colour}">{html.escape(name)}</text>')
    axes = (f'<text x="2" y="{MARGIN}">{high:.3g}</text><text x="2" y="{HEIGHT - MARGIN}">{low:.3g}</text>'
            f'<text x="{MARGIN}" y="{HEIGHT - 8}">step {first:g}</text>'
            f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 8}" text-anchor="end">{last:g}</text>'
            f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" height="{HEIGHT - 2 * MARGIN}" fill="none" stroke="#d0d5dd"/>')
    return (f'<svg class="dl-losses" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" font-size="11" '
            f'xmlns="http://www.w3.org/2000/svg">{axes}{"".join(legend)}{"".join(lines)}</svg>')
