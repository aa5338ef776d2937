"""Charts of the analytics page, drawn on the server as SVG: no script, no library, no CDN (the console works
offline), and nothing the Content-Security-Policy blocks (presentation attributes such as `fill=`, never `style=`).

Each chart has a title and a description (the SVG's `<title>` / `<desc>`, named by `aria-labelledby`) and the
same numbers as a table, which the page shows under it (in `<details>`): what a screen reader reads, and what
anyone who wants the exact numbers copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 44
INK, MUTED, GRID = "#1d2424", "#4a5555", "#c9d1d0"
MAX_X_LABELS = 12
TICKS = 4  # lines across a bar chart above zero
BAR_ROW = 30  # horizontal bars: height of a row
LABEL_WIDTH = 230


@dataclass
class Series:
    name: str
    color: str
    values: List[float]


@dataclass
class Chart:
    id: str
    title: str
    description: str
    svg: Markup
    headers: List[str]
    rows: List[List[str]]
    legend: List[Tuple[str, str]] = field(default_factory=list)  # (name, color)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _tick(value: float, whole: bool) -> float:
    """A round step between the axis' TICKS lines (1, 2 or 5 times a power of ten; whole numbers for counts) so that
    TICKS steps reach `value`."""
    wanted = value / TICKS
    if wanted <= 0:
        return 1
    power = 10 ** math.floor(math.log10(wanted))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(step * power for step in steps if step * power >= wanted)
    return max(step, 1) if whole else step


def _svg(chart_id: str, title: str, description: str, width: int, height: int, body: List[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart-svg" font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    formatter: Callable[[float], str] = _number,
) -> Chart:
    """Vertical bars, one per label, each stacked from the series (one series: plain bars)."""
    count = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    whole = all(float(v).is_integer() for s in series for v in s.values)
    top = _tick(max(totals, default=0), whole) * TICKS
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / count
    bar_w = max(step * 0.7, 1)
    body: List[str] = []
    for tick in range(TICKS + 1):
        value = top * tick / TICKS
        y = TOP + plot_h - plot_h * tick / TICKS
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{MUTED}">'
            f"{escape(formatter(value))}</text>"
        )
    every = math.ceil(count / MAX_X_LABELS)
    for i, label in enumerate(labels):
        x = LEFT + step * i + (step - bar_w) / 2
        y = TOP + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{s.color}">'
                f"<title>{escape(label)}: {escape(s.name)} {escape(formatter(value))}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text x="{LEFT + step * i + step / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                f'font-size="12" fill="{INK}">{escape(label)}</text>'
            )
    body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="{INK}"/>')
    headers = ["Period", *(s.name for s in series)] + (["Total"] if len(series) > 1 else [])
    rows = [
        [label, *(formatter(s.values[i]) for s in series)] + ([formatter(totals[i])] if len(series) > 1 else [])
        for i, label in enumerate(labels)
    ]
    return Chart(
        chart_id,
        title,
        description,
        _svg(chart_id, title, description, WIDTH, HEIGHT, body),
        headers,
        rows,
        legend=[(s.name, s.color) for s in series] if len(series) > 1 else [],
    )


def horizontal_bars(
    chart_id: str,
    title: str,
    description: str,
    items: Sequence[Tuple[str, float]],
    color: str,
    headers: Tuple[str, str] = ("", "Conversations"),
) -> Chart:
    """One bar per item, its label on the left and its number at its end (top topics, the ACC funnel)."""
    top = max((value for _, value in items), default=0) or 1
    plot_w = WIDTH - LABEL_WIDTH - 70
    height = max(len(items), 1) * BAR_ROW + 8
    body: List[str] = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * BAR_ROW
        w = plot_w * value / top
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 19}" text-anchor="end" font-size="13" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{max(w, 1):.1f}" height="{BAR_ROW - 8}" fill="{color}">'
            f"<title>{escape(label)}: {escape(_number(value))}</title></rect>"
        )
        body.append(
            f'<text x="{LABEL_WIDTH + max(w, 1) + 6:.1f}" y="{y + 19}" font-size="13" fill="{INK}">'
            f"{escape(_number(value))}</text>"
        )
    if not items:
        body.append(f'<text x="{LABEL_WIDTH}" y="22" font-size="13" fill="{MUTED}">Nothing in this period</text>')
    return Chart(
        chart_id,
        title,
        description,
        _svg(chart_id, title, description, WIDTH, height, body),
        list(headers),
        [[label, _number(value)] for label, value in items],
    )
