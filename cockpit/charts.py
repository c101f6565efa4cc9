"""Bar charts of the last day as SVG drawn on the server: pure functions, no script, no network.

Why SVG from the server rather than a charting package: the page must draw with no network
access and nothing built at install time (no Node.js), and a chart here is 24 bars of a few
colours. A few dozen lines of SVG need no JavaScript in the browser, cost well under a
millisecond to render, print and zoom sharply, follow the admin's own stylesheet (colours are CSS
classes in cockpit/home.css, dark mode included), and are read by assistive technology through
the SVG's title and description, each bar's own title (a tooltip too) and the table beside every
chart. A PyPI package shipping a JavaScript charting library would add a dependency, a script
and a JSON endpoint or inline data for the same 24 bars.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# The drawing's own units (the SVG scales to the width it is given).
WIDTH = 420
HEIGHT = 180
LEFT = 44
RIGHT = 6
TOP = 10
BOTTOM = 24
# Every how many hours the time axis is labelled.
LABEL_EVERY = 6


@dataclass(frozen=True)
class ChartSeries:
    """One coloured series: a key (its CSS class), its label, a value per hour (None: unknown)."""

    key: str
    label: str
    values: list[int | None]


def css_key(key: str) -> str:
    """A key as a CSS class suffix (statuses and events are words already)."""
    return re.sub(r"[^a-z0-9-]", "-", key.lower())


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(value: int) -> str:
    return f"{value:,}"


def _hour_label(hour: datetime) -> str:
    return timezone.localtime(hour).strftime("%H:%M")


def _span_label(hour: datetime) -> str:
    start = timezone.localtime(hour)
    end = timezone.localtime(hour + timedelta(hours=1))
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    hours: list[datetime],
    series: list[ChartSeries],
    stacked: bool,
) -> SafeString:
    """A figure with the chart, its legend and a table of the same numbers (the page puts the
    title above it; the SVG carries it too, for assistive technology).

    Stacked: each hour's bar is the sum of the series (parts of one whole, e.g. statuses).
    Grouped: the series stand side by side (different things, e.g. received and abandoned).
    An hour whose values are unknown (not counted yet) is drawn as an empty dashed box.

    Built as plain strings: every text that comes from outside (labels, keys, the title, the
    id) is escaped once here; the rest are numbers. A page draws three of these.
    """
    count = len(hours)
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    plot_height = HEIGHT - TOP - BOTTOM
    known = [all(s.values[i] is not None for s in series) for i in range(count)]
    if stacked:
        peak = max(
            (sum(s.values[i] or 0 for s in series) for i in range(count) if known[i]), default=0
        )
    else:
        peak = max((s.values[i] or 0 for s in series for i in range(count) if known[i]), default=0)
    top = nice_ceiling(peak)
    spans = [escape(_span_label(hour)) for hour in hours]
    keys = [escape(css_key(s.key)) for s in series]
    labels = [escape(s.label) for s in series]
    not_counted = escape(_("not counted yet"))

    def y(value: float) -> float:
        return TOP + plot_height - plot_height * value / top

    shapes: list[str] = []
    # Gridlines at 0, the middle (when it is a whole number) and the top.
    for level in sorted({0, top} | ({top // 2} if top % 2 == 0 else set())):
        at = y(level)
        shapes.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{at + 3:.1f}" text-anchor="end">'
            f"{_number(level)}</text>"
        )
    bar_width = slot * 0.7 if stacked else slot * 0.8 / max(len(series), 1)
    for i, hour in enumerate(hours):
        x = LEFT + i * slot
        if not known[i]:
            shapes.append(
                f'<rect class="uncounted" x="{x + 1:.1f}" y="{TOP}" width="{slot - 2:.1f}" '
                f'height="{plot_height}"><title>{spans[i]}: {not_counted}</title></rect>'
            )
        else:
            base = 0
            for n, s in enumerate(series):
                value = s.values[i] or 0
                if not value:
                    continue
                if stacked:
                    left, upper, lower = x + slot * 0.15, y(base + value), y(base)
                    base += value
                else:
                    left, upper, lower = x + slot * 0.1 + n * bar_width, y(value), y(0)
                shapes.append(
                    f'<rect class="bar s-{keys[n]}" x="{left:.1f}" y="{upper:.1f}" '
                    f'width="{bar_width:.1f}" height="{lower - upper:.1f}">'
                    f"<title>{spans[i]}: {labels[n]} {_number(value)}</title></rect>"
                )
        if i % LABEL_EVERY == 0 or i == count - 1:
            last = i == count - 1
            shapes.append(
                f'<text class="axis" x="{x + slot if last else x + slot / 2:.1f}" '
                f'y="{HEIGHT - 8}" text-anchor="{"end" if last else "middle"}">'
                f"{_hour_label(hour)}</text>"
            )
    totals = [
        f"{labels[n]} {_number(sum(v or 0 for v in s.values))}"
        for n, s in enumerate(series)
        if any(s.values[i] for i in range(count))
    ]
    description = (
        escape(_("Totals over the hours counted: %(totals)s.")).replace(
            "%(totals)s", ", ".join(totals)
        )
        if totals
        else escape(_("Nothing in these hours."))
    )
    ident = escape(chart_id)
    legend = "".join(
        f'<li><span class="swatch s-{keys[n]}"></span>{labels[n]}</li>' for n in range(len(series))
    )
    return mark_safe(  # noqa: S308 - every outside text above went through escape()
        f'<figure class="chart-figure" id="{ident}">'
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{description}</desc>{"".join(shapes)}</svg>'
        f'<ul class="legend">{legend}</ul>{_table(spans, labels, series)}</figure>'
    )


def _table(spans: Sequence[str], labels: Sequence[str], series: list[ChartSeries]) -> str:
    """The chart's numbers as a table (collapsed), for screen readers and for copying; `spans`
    and `labels` are escaped already."""
    head = "".join(f'<th scope="col">{label}</th>' for label in labels)
    rows = "".join(
        f'<tr><th scope="row">{span}</th>'
        + "".join(
            "<td>—</td>" if s.values[i] is None else f"<td>{_number(s.values[i] or 0)}</td>"
            for s in series
        )
        + "</tr>"
        for i, span in enumerate(spans)
    )
    return (
        f'<details class="chart-table"><summary>{escape(_("Show as a table"))}</summary>'
        f'<table><thead><tr><th scope="col">{escape(_("Hour"))}</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )
