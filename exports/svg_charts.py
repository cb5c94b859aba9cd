"""Small server-rendered SVG charts: no script, nothing fetched, they print.

Pure functions from plain numbers to an SVG string. Every chart is an ``img`` with a
title and a description (the data table beside it carries the figures); it scales
to its container through its ``viewBox`` (360 px phones included). All text given
is escaped. Colours come from classes (``series-N``) with a fill in the markup as a
fallback, so a stylesheet may restyle them and a printout without it still reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#2e7d32", "#f9a825", "#c62828", "#9e9e9e", "#1565c0", "#6a1b9a")
TARGET_COLOUR = "#c62828"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str = ""


def _open(width: int, height: int, title: str, description: str, ident: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{ident}-t {ident}-d" class="chart" '
        f'preserveAspectRatio="xMinYMin meet" data-width="{width}">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
    ]


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-family="sans-serif" fill="#333"{extra}>{escape(text)}</text>')


def _axis_label(x: float, y: float, label: str, crowded: bool) -> str:
    """A category label under the axis, slanted when the labels would overlap."""
    if not crowded:
        return _text(x, y, label, anchor="middle", size=10)
    return _text(x, y, label, anchor="end", size=10,
                 extra=f' transform="rotate(-40 {x:.1f} {y:.1f})"')


def _crowded(labels: Sequence[str], room: float) -> bool:
    """Whether *labels* side by side over *room* units would run into each other."""
    widest = max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in label) for label in labels),
                 default=0)
    return widest * 5.5 > room / max(len(labels), 1)


def _legend(series: Sequence[Series], y: float, width: int) -> list[str]:
    parts, x = [], 8.0
    for index, item in enumerate(series):
        colour = item.colour or PALETTE[index % len(PALETTE)]
        step = 26 + 12 * len(item.name)
        if x + step > width and x > 8:
            x, y = 8.0, y + 16
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" '
                     f'fill="{colour}" class="series-{index}"/>')
        parts.append(_text(x + 14, y, item.name))
        x += step
    return parts


def stacked_columns(labels: Sequence[str], series: Sequence[Series], *, title: str,
                    description: str, ident: str = "chart", width: int = 640,
                    height: int = 260) -> str:
    """Columns per label, the series stacked (counts); the height scales to the tallest."""
    top, bottom, left = 34, 44, 36
    crowded = _crowded(labels, width - left - 8)
    if crowded:
        bottom, height = 84, height + 40
    plot = height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    parts = _open(width, height, title, description, ident)
    parts += _legend(series, 14, width)
    slot = (width - left - 8) / max(len(labels), 1)
    bar = max(min(slot * 0.7, 48), 4)
    for tick in (0, peak):
        y = top + plot - plot * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(_text(left - 4, y + 4, f"{tick:g}", anchor="end", size=10))
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot
        for index, item in enumerate(series):
            value = item.values[i]
            if not value:
                continue
            h = plot * value / peak
            y -= h
            colour = item.colour or PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}" class="series-{index}">'
                         f'<title>{escape(f"{label} {item.name}: {value:g}")}</title></rect>')
        parts.append(_axis_label(x + bar / 2, top + plot + 14, label, crowded))
    parts.append("</svg>")
    return "\n".join(parts)


def lines(labels: Sequence[str], series: Sequence[Series], *, title: str, description: str,
          target: float | None = None, target_label: str = "", ident: str = "chart",
          width: int = 640, height: int = 240, percent: bool = False) -> str:
    """Lines over the labels (None: a gap), with an optional dashed target line."""
    top, bottom, left = 34, 30, 40
    crowded = _crowded(labels, width - left - 16)
    if crowded:  # room below and on the left for the slanted labels
        bottom, height, left = 70, height + 40, 64
    plot = height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    peak = max([*values, target or 0, 1.0 if percent else 0]) or 1
    parts = _open(width, height, title, description, ident)
    parts += _legend(series, 14, width)
    step = (width - left - 16) / max(len(labels) - 1, 1)

    def point(i: int, value: float) -> tuple[float, float]:
        return left + step * i, top + plot - plot * value / peak

    shown = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:g}")
    for tick in (0, peak):
        y = top + plot - plot * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(_text(left - 4, y + 4, shown(tick), anchor="end", size=10))
    if target is not None:
        y = point(0, target)[1]
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{TARGET_COLOUR}" stroke-dasharray="6 4" class="target"/>')
        parts.append(_text(width - 10, y - 4, target_label, anchor="end", size=10))
    for index, item in enumerate(series):
        colour = item.colour or PALETTE[index % len(PALETTE)]
        run: list[str] = []
        for i, value in enumerate(item.values):
            if value is None:
                if len(run) > 1:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                                 f'stroke="{colour}" stroke-width="2"/>')
                run = []
                continue
            x, y = point(i, value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" '
                         f'class="series-{index}"><title>'
                         f'{escape(f"{labels[i]} {item.name}: {shown(value)}")}</title></circle>')
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                         'stroke-width="2"/>')
    for i, label in enumerate(labels):
        parts.append(_axis_label(point(i, 0)[0], top + plot + 14, label, crowded))
    parts.append("</svg>")
    return "\n".join(parts)


def ranking_bars(labels: Sequence[str], shares: Sequence[float | None], *, title: str,
                 description: str, ident: str = "chart", width: int = 640,
                 row: int = 20) -> str:
    """One horizontal bar per label: a share from 0 to 1 (None: nothing owed)."""
    label_width = min(max((len(label) for label in labels), default=4) * 12 + 8, width // 3)
    height = 12 + row * len(labels)
    parts = _open(width, height, title, description, ident)
    room = width - label_width - 52
    for i, (label, share) in enumerate(zip(labels, shares, strict=True)):
        y = 6 + row * i
        parts.append(_text(label_width - 6, y + row * 0.65, label, anchor="end",
                           extra=f" data-label={quoteattr(label)}"))
        if share is None:
            parts.append(_text(label_width, y + row * 0.65, "–"))
            continue
        parts.append(f'<rect x="{label_width}" y="{y + 3:.1f}" width="{room * share:.1f}" '
                     f'height="{row - 6}" fill="{PALETTE[0] if share >= 1 else PALETTE[4]}"/>')
        parts.append(_text(label_width + room * share + 4, y + row * 0.65, f"{share:.0%}"))
    parts.append("</svg>")
    return "\n".join(parts)
