"""The home page: what the admin index shows above its sections (`extensions.admin_index_blocks`).

Each part is shown only to users who may view the rows it is about (a model's view permission),
and is read only then: a user without the permission to view callbacks gets no callback figure,
chart or link, and costs no query for them. The cards of figures are built in `figures`, the
charts here. What each figure means and how fresh it is: docs/admin-home.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cockpit import charts, checklist, selectors
from cockpit.choices import Metric
from cockpit.figures import (
    Card,
    backlog_card,
    callbacks_card,
    deliveries_card,
    integrations_card,
    local_time,
    unrouted_card,
    waiting_card,
)
from conversations.choices import Event
from integrations.choices import DeliveryStatus
from messaging.choices import CallbackStatus

# The permission that shows each part (the checklist's steps have theirs in `checklist.STEPS`).
CAN_VIEW = {
    "callbacks": "messaging.view_callback",
    "contacts": "conversations.view_contact",
    "deliveries": "integrations.view_delivery",
    "integrations": "integrations.view_integration",
    "workers": "configurator.view_workerheartbeat",
    "tasks": "django_tasks_database.view_dbtaskresult",
}


def _every(seconds: int) -> str:
    """The rollup's interval in words ("5 minutes")."""
    if seconds >= 60 and seconds % 60 == 0:
        return ngettext("%(count)d minute", "%(count)d minutes", seconds // 60) % {
            "count": seconds // 60
        }
    return _("%(seconds)d s") % {"seconds": seconds}


# --- charts -----------------------------------------------------------------------------------


def _values(series: selectors.Series, key: str) -> list[int | None]:
    return [None if tally is None else tally.counts.get(key, 0) for tally in series.tallies]


@dataclass(frozen=True)
class Chart:
    """A chart of the page: its heading and its figure (SVG, legend, table)."""

    title: str
    figure: SafeString


def status_chart(
    chart_id: str, title: str, series: selectors.Series, labels: dict[str, str]
) -> Chart:
    """A metric's keys stacked per hour (statuses: parts of each hour's whole)."""
    return Chart(
        title,
        charts.bar_chart(
            chart_id=chart_id,
            title=title,
            hours=series.hours,
            series=[
                charts.ChartSeries(key=key, label=labels.get(key, key), values=_values(series, key))
                for key in series.ordered_keys()
            ],
            stacked=True,
        ),
    )


def conversations_chart(series: selectors.Series) -> Chart:
    """Conversations received and abandoned side by side per hour."""
    title = _("Conversations received and abandoned per hour, last 24 hours")
    return Chart(
        title,
        charts.bar_chart(
            chart_id="chart-conversations",
            title=title,
            hours=series.hours,
            series=[
                charts.ChartSeries(
                    key=event.value, label=str(event.label), values=_values(series, event.value)
                )
                for event in (Event.RECEIVED, Event.ABANDONED)
            ],
            stacked=False,
        ),
    )


# --- the page -----------------------------------------------------------------------------------


def home_context(user: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the home page shows to `user`, read now (what they may not see is not read)."""
    moment = now or timezone.now()
    period = selectors.Period(now=moment)
    can = {part: bool(user.has_perm(perm)) for part, perm in CAN_VIEW.items()}
    steps = checklist.setup_checklist(user)
    cards: list[Card] = []
    chart_list: list[Chart] = []
    metrics = [
        metric
        for metric, part in (
            (Metric.CALLBACKS, "callbacks"),
            (Metric.UNROUTED, "callbacks"),
            (Metric.DELIVERIES, "deliveries"),
            (Metric.CONVERSATIONS, "contacts"),
        )
        if can[part]
    ]
    stored = selectors.stored_hours(period, metrics)
    day: dict[Metric, selectors.Series] = {
        metric: selectors.series(metric, period, stored) for metric in metrics
    }
    if can["contacts"]:
        cards.append(waiting_card(moment))
    if can["callbacks"]:
        cards.append(callbacks_card(period, day[Metric.CALLBACKS].last_hour))
        unrouted = day[Metric.UNROUTED]
        cards.append(
            unrouted_card(
                period,
                unrouted.day(),
                unrouted.missing_hours,
                can_add_queue=bool(user.has_perm("queues.add_queue")),
            )
        )
        chart_list.append(
            status_chart(
                "chart-callbacks",
                _("Callbacks received per hour by status, last 24 hours"),
                day[Metric.CALLBACKS],
                {status.value: str(status.label) for status in CallbackStatus},
            )
        )
    if can["deliveries"]:
        cards.append(deliveries_card(period, day[Metric.DELIVERIES].last_hour))
        chart_list.append(
            status_chart(
                "chart-deliveries",
                _("Integration deliveries per hour by status, last 24 hours"),
                day[Metric.DELIVERIES],
                {status.value: str(status.label) for status in DeliveryStatus},
            )
        )
    if can["contacts"]:
        chart_list.append(conversations_chart(day[Metric.CONVERSATIONS]))
    if can["integrations"]:
        cards.append(integrations_card())
    backlog = backlog_card(can, moment)
    if backlog is not None:
        cards.append(backlog)
    missing = max((series.missing_hours for series in day.values()), default=0)
    return {
        "steps": steps,
        "steps_done": sum(1 for step in steps if step.done),
        "setup_done": all(step.done or step.optional for step in steps),
        "cards": cards,
        "charts": chart_list,
        "uncounted_hours": missing,
        "rollup_every": _every(int(settings.HOME_ROLLUP_INTERVAL_SECONDS)),
        "read_at": local_time(moment),
    }


def home_page(request: HttpRequest) -> str:
    """The home page's part of the admin index ("" for a user who may see none of it)."""
    user: Any = request.user
    if not (user.is_active and user.is_staff):
        return ""
    context = home_context(user)
    if not (context["steps"] or context["cards"] or context["charts"]):
        return ""
    return render_to_string("cockpit/home.html", context, request=request)
