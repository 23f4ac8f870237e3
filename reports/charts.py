"""
Charts drawn on our server: no chart library, no script, nothing loaded from
elsewhere. Each chart is laid out once as a few shapes (rectangles, lines,
texts); the same layout is written as SVG, for the pages and the SVG
download, or painted with Pillow, for the PNG download. Colours are SVG
presentation attributes, not style attributes, so a strict
Content-Security-Policy has nothing to refuse.

A withheld figure (None) is drawn as nothing and named as withheld in the
shape's tooltip: a chart never shows what the tables withhold.
"""

import io
import logging
from dataclasses import dataclass, field
from functools import cache
from math import ceil, log10
from pathlib import Path

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Fonts with Cyrillic glyphs, as Debian installs them (fonts-dejavu-core comes
# with fontconfig, and so with chromium; fonts-liberation and fonts-freefont
# are alternatives). No font is shipped with the app.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
)
INK, MUTED, GRID = "#1b1f23", "#4a5560", "#d0d7de"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    values: list[int | None]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    tooltip: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: int = 11
    fill: str = MUTED
    anchor: str = "start"  # start, middle or end, as SVG's text-anchor


@dataclass
class Drawing:
    name: str  # the id of its title, unique on a page
    title: str
    width: int
    height: int
    shapes: list = field(default_factory=list)


def _nice_ceiling(value: int) -> int:
    """A round number at least `value`, for the top of an axis."""
    if value <= 0:
        return 1
    magnitude = 10 ** int(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return ceil(step * magnitude)
    return value


def _figure(value: int | None) -> str:
    return _("withheld") if value is None else number_format(value, force_grouping=True)


def stacked_bars_drawing(
    name: str, title: str, categories: list[str], series: list[Series]
) -> Drawing:
    """Monthly bars, one segment per series, with axis, month labels and legend."""
    width, height = 760, 320
    left, right, top, bottom = 64, 12, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    ceiling = _nice_ceiling(max(totals, default=0))
    slot = plot_w / max(1, len(categories))
    bar_w = max(2.0, slot * 0.7)
    drawing = Drawing(name, title, width, height)
    add = drawing.shapes.append
    for step in range(5):
        y = top + plot_h - plot_h * step / 4
        add(Line(left, y, width - right, y, GRID))
        add(Text(left - 6, y + 4, _figure(int(ceiling * step / 4)), anchor="end"))
    for i, month in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        for s in series:
            value = s.values[i]
            h = plot_h * (value or 0) / ceiling
            y -= h
            add(Rect(x, y, bar_w, h, s.colour, f"{month} · {s.label}: {_figure(value)}"))
        # Months in words are wider than "2026-11": every sixth, and the last.
        if (i % 6 == 0 and len(categories) - 1 - i >= 3) or i == len(categories) - 1:
            add(Text(x + bar_w / 2, top + plot_h + 16, month, anchor="middle"))
    legend_x = left
    for s in series:
        add(Rect(legend_x, height - 22, 12, 12, s.colour))
        add(Text(legend_x + 16, height - 12, s.label, size=12, fill=INK))
        legend_x += 24 + 8 * len(str(s.label))
    return drawing


def horizontal_bars_drawing(
    name: str, title: str, items: list[tuple[str, int | None]], colour: str
) -> Drawing:
    """Shares of a whole: one labelled bar per item, with count and percentage."""
    known = [count for _label, count in items if count is not None]
    # A share is only given when every part is published: otherwise the
    # percentages would reveal the withheld ones.
    total = sum(known) if len(known) == len(items) else None
    longest = max((len(str(label)) for label, _count in items), default=10)
    row, width = 30, 760
    label_w = min(400, 7 * longest + 16)
    height = row * len(items) + 12
    bar_room = width - label_w - 130
    biggest = max(known, default=0) or 1
    drawing = Drawing(name, title, width, height)
    add = drawing.shapes.append
    for i, (label, count) in enumerate(items):
        y = 6 + i * row
        add(Text(label_w - 8, y + 17, str(label), size=12, fill=INK, anchor="end"))
        if count is None:
            add(Text(label_w, y + 17, _("withheld"), size=12, fill=MUTED))
            continue
        # Bars are scaled to the largest count, so they stay comparable
        # even when a share cannot be given.
        length = bar_room * count / biggest
        add(Rect(label_w, y + 4, max(1.0, length), 18, colour, f"{label}: {_figure(count)}"))
        figure = _figure(count)
        if total:
            figure += f" ({number_format(round(100 * count / total))}%)"
        add(Text(label_w + length + 6, y + 17, figure, size=12, fill=INK))
    return drawing


def captioned(drawing: Drawing, lines: list[str]) -> Drawing:
    """The drawing with lines of small print below it: a downloaded chart
    travels without the page around it, so it says its period, date and source."""
    row = 16
    shapes = list(drawing.shapes)
    for i, line in enumerate(lines):
        shapes.append(Text(8, drawing.height + 14 + i * row, line, size=11, fill=MUTED))
    return Drawing(
        drawing.name, drawing.title, drawing.width, drawing.height + row * len(lines) + 8, shapes
    )


def to_svg(drawing: Drawing) -> SafeString:
    title_id = f"chart-{drawing.name}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {drawing.width} {drawing.height}" '
        f'width="{drawing.width}" height="{drawing.height}" '
        f'role="img" aria-labelledby="{title_id}" class="chart">',
        f'<title id="{title_id}">{escape(drawing.title)}</title>',
    ]
    for shape in drawing.shapes:
        if isinstance(shape, Line):
            parts.append(
                f'<line x1="{shape.x1:.1f}" y1="{shape.y1:.1f}" x2="{shape.x2:.1f}" '
                f'y2="{shape.y2:.1f}" stroke="{shape.stroke}" stroke-width="1"/>'
            )
        elif isinstance(shape, Rect):
            tooltip = f"<title>{escape(shape.tooltip)}</title>" if shape.tooltip else ""
            parts.append(
                f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.width:.1f}" '
                f'height="{shape.height:.1f}" fill="{shape.fill}">{tooltip}</rect>'
            )
        else:
            parts.append(
                f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" text-anchor="{shape.anchor}" '
                f'font-size="{shape.size}" font-family="DejaVu Sans, sans-serif" '
                f'fill="{shape.fill}">{escape(shape.text)}</text>'
            )
    parts.append("</svg>")
    # Reviewed (bandit B308/B703): every text above went through escape(); the
    # numbers and colours are our own.
    return mark_safe("".join(parts))  # noqa: S308 # nosec B308 B703


@cache
def chart_font_path() -> Path | None:
    """The first font with Cyrillic glyphs found on this machine, or None."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    logger.warning(
        "No font for PNG charts among %s: PNG downloads are off (install fonts-dejavu-core).",
        ", ".join(FONT_CANDIDATES),
    )
    return None


PNG_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}


def to_png(drawing: Drawing, scale: int = 2) -> bytes:
    """The same layout painted with Pillow, twice the SVG's size for sharp text."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = chart_font_path()
    if font_path is None:
        raise LookupError("no font for PNG charts")
    title_size = 14
    offset = 28  # room for the title above the chart
    image = Image.new("RGB", (drawing.width * scale, (drawing.height + offset) * scale), "white")
    paint = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def font(size: int):
        if size not in fonts:
            fonts[size] = ImageFont.truetype(str(font_path), size * scale)
        return fonts[size]

    paint.text((8 * scale, 18 * scale), drawing.title, fill=INK, font=font(title_size), anchor="ls")
    for shape in drawing.shapes:
        if isinstance(shape, Line):
            paint.line(
                [(shape.x1 * scale, (shape.y1 + offset) * scale),
                 (shape.x2 * scale, (shape.y2 + offset) * scale)],
                fill=shape.stroke, width=scale,
            )  # fmt: skip
        elif isinstance(shape, Rect):
            if shape.height <= 0 or shape.width <= 0:
                continue
            paint.rectangle(
                [shape.x * scale, (shape.y + offset) * scale,
                 (shape.x + shape.width) * scale - 1,
                 (shape.y + shape.height + offset) * scale - 1],
                fill=shape.fill,
            )  # fmt: skip
        else:
            paint.text(
                (shape.x * scale, (shape.y + offset) * scale),
                shape.text,
                fill=shape.fill,
                font=font(shape.size),
                anchor=PNG_ANCHORS[shape.anchor],
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def to_svg_document(drawing: Drawing) -> str:
    """A standalone SVG file: the chart with its title drawn as text too."""
    svg = str(to_svg(drawing))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"
