"""
Charts drawn on our server as SVG: no chart library, no script, nothing loaded
from elsewhere. Colours are presentation attributes, not style attributes, so
a strict Content-Security-Policy has nothing to refuse.
"""

from dataclasses import dataclass
from math import ceil, log10

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    values: list[int]


def _nice_ceiling(value: int) -> int:
    """A round number at least `value`, for the top of an axis."""
    if value <= 0:
        return 1
    magnitude = 10 ** int(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return ceil(step * magnitude)
    return value


def stacked_bars(title: str, categories: list[str], series: list[Series]) -> SafeString:
    """Monthly bars, one segment per series, with axis, month labels and legend."""
    width, height = 760, 320
    left, right, top, bottom = 56, 12, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    ceiling = _nice_ceiling(max(totals, default=0))
    slot = plot_w / max(1, len(categories))
    bar_w = max(2.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart-bars-title" class="chart">',
        f'<title id="chart-bars-title">{escape(title)}</title>',
    ]
    for step in range(5):
        value = ceiling * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#4a5560">{int(value)}</text>'
        )
    for i, month in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        for s in series:
            h = plot_h * s.values[i] / ceiling
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{s.colour}"><title>{escape(month)} · {escape(s.label)}: '
                f"{s.values[i]}</title></rect>"
            )
        if i % 3 == 0 or i == len(categories) - 1:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11" fill="#4a5560">{escape(month)}</text>'
            )
    legend_x = left
    for s in series:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 22}" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 12}" font-size="12" fill="#1b1f23">'
            f"{escape(s.label)}</text>"
        )
        legend_x += 24 + 8 * len(str(s.label))
    parts.append("</svg>")
    # Reviewed (bandit B308/B703): every text and number above went through escape().
    return mark_safe("".join(parts))  # noqa: S308 # nosec B308 B703


def horizontal_bars(title: str, items: list[tuple[str, int]], colour: str) -> SafeString:
    """Shares of a whole: one labelled bar per item, with count and percentage."""
    total = sum(count for _label, count in items)
    # Room for the longest label (about 7 px a character at this size).
    longest = max((len(str(label)) for label, _count in items), default=10)
    row, width = 30, 760
    label_w = min(400, 7 * longest + 16)
    height = row * len(items) + 12
    bar_room = width - label_w - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart-shares-title" class="chart">',
        f'<title id="chart-shares-title">{escape(title)}</title>',
    ]
    for i, (label, count) in enumerate(items):
        share = count / total if total else 0
        y = 6 + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
            f'fill="#1b1f23">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{max(1.0, bar_room * share):.1f}" '
            f'height="18" fill="{colour}"/>'
            f'<text x="{label_w + bar_room * share + 6:.1f}" y="{y + 17}" font-size="12" '
            f'fill="#1b1f23">{count} ({share:.0%})</text>'
        )
    parts.append("</svg>")
    # Reviewed (bandit B308/B703): every text and number above went through escape().
    return mark_safe("".join(parts))  # noqa: S308 # nosec B308 B703
