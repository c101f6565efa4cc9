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
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
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
    """
    count = len(hours)
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    plot_height = HEIGHT - TOP - BOTTOM
    known = [i for i in range(count) if all(s.values[i] is not None for s in series)]
    if stacked:
        peak = max((sum(s.values[i] or 0 for s in series) for i in known), default=0)
    else:
        peak = max((s.values[i] or 0 for s in series for i in known), default=0)
    top = nice_ceiling(peak)

    def y(value: float) -> float:
        return TOP + plot_height - plot_height * value / top

    shapes: list[str] = []
    # Gridlines at 0, the middle (when it is a whole number) and the top.
    for level in sorted({0, top} | ({top // 2} if top % 2 == 0 else set())):
        shapes.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                f"{y(level):.1f}",
                f"{y(level):.1f}",
                LEFT - 4,
                f"{y(level) + 3:.1f}",
                number_format(int(level), force_grouping=True),
            )
        )
    for i, hour in enumerate(hours):
        x = LEFT + i * slot
        span = _span_label(hour)
        if i not in known:
            shapes.append(
                format_html(
                    '<rect class="uncounted" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {}</title></rect>",
                    f"{x + 1:.1f}",
                    TOP,
                    f"{slot - 2:.1f}",
                    plot_height,
                    span,
                    _("not counted yet"),
                )
            )
        elif stacked:
            base = 0
            for s in series:
                value = s.values[i] or 0
                if value:
                    shapes.append(
                        format_html(
                            '<rect class="bar s-{}" x="{}" y="{}" width="{}" height="{}">'
                            "<title>{}: {} {}</title></rect>",
                            css_key(s.key),
                            f"{x + slot * 0.15:.1f}",
                            f"{y(base + value):.1f}",
                            f"{slot * 0.7:.1f}",
                            f"{y(base) - y(base + value):.1f}",
                            span,
                            s.label,
                            number_format(value, force_grouping=True),
                        )
                    )
                base += value
        else:
            width = slot * 0.8 / max(len(series), 1)
            for n, s in enumerate(series):
                value = s.values[i] or 0
                if value:
                    shapes.append(
                        format_html(
                            '<rect class="bar s-{}" x="{}" y="{}" width="{}" height="{}">'
                            "<title>{}: {} {}</title></rect>",
                            css_key(s.key),
                            f"{x + slot * 0.1 + n * width:.1f}",
                            f"{y(value):.1f}",
                            f"{width:.1f}",
                            f"{y(0) - y(value):.1f}",
                            span,
                            s.label,
                            number_format(value, force_grouping=True),
                        )
                    )
        if i % LABEL_EVERY == 0 or i == count - 1:
            last = i == count - 1
            shapes.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
                    f"{x + slot if last else x + slot / 2:.1f}",
                    HEIGHT - 8,
                    "end" if last else "middle",
                    _hour_label(hour),
                )
            )
    totals = [
        (s.label, sum(v or 0 for v in s.values)) for s in series if any(v for v in s.values if v)
    ]
    description = (
        _("Totals over the hours counted: %(totals)s.")
        % {
            "totals": ", ".join(
                f"{label} {number_format(total, force_grouping=True)}" for label, total in totals
            )
        }
        if totals
        else _("Nothing in these hours.")
    )
    svg = format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'preserveAspectRatio="xMidYMid meet">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        mark_safe("".join(shapes)),  # noqa: S308 - each shape was built by format_html
    )
    legend = format_html_join(
        "",
        '<li><span class="swatch s-{}"></span>{}</li>',
        ((css_key(s.key), s.label) for s in series),
    )
    return format_html(
        '<figure class="chart-figure" id="{}">{}<ul class="legend">{}</ul>{}</figure>',
        chart_id,
        svg,
        legend,
        _table(hours, series),
    )


def _table(hours: list[datetime], series: list[ChartSeries]) -> SafeString:
    """The chart's numbers as a table (collapsed), for screen readers and for copying."""
    head = format_html_join("", '<th scope="col">{}</th>', ((s.label,) for s in series))
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (
                _span_label(hour),
                format_html_join(
                    "",
                    "<td>{}</td>",
                    (
                        (
                            "—"
                            if s.values[i] is None
                            else number_format(s.values[i] or 0, force_grouping=True),
                        )
                        for s in series
                    ),
                ),
            )
            for i, hour in enumerate(hours)
        ),
    )
    return format_html(
        '<details class="chart-table"><summary>{}</summary><table><thead><tr>'
        '<th scope="col">{}</th>{}</tr></thead><tbody>{}</tbody></table></details>',
        _("Show as a table"),
        _("Hour"),
        head,
        rows,
    )
