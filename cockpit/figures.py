"""The home page's figures: cards of numbers, each linking to the admin list of its rows.

Each card is built from one selector's reads (`cockpit.selectors`) by a function here; `home`
decides which cards a user sees. Every figure's link carries the same filters (and the same
moment) as its count, so the list shows exactly the rows counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from cockpit import checklist, selectors
from cockpit.counting import Tally
from configurator import times
from integrations.choices import DeliveryStatus
from messaging.choices import CallbackStatus, ReasonCode
from queues import selectors as queue_selectors


@dataclass
class Figure:
    """One number on the page, what it is, and the list of exactly its rows."""

    key: str
    label: str
    value: str
    url: str | None = None
    tone: str = ""  # "good", "warn" or "bad": how it should catch the eye
    note: str = ""


@dataclass
class Row:
    """A line of a card's table: a named thing (a queue, an address), its figures, an action."""

    key: str
    name: str
    url: str | None
    cells: list[str]
    action: checklist.Link | None = None
    # Said in the action's place when there is none to take (an address given a queue since).
    note: str = ""


@dataclass
class Card:
    """A group of figures under one heading (`key` is its id on the page)."""

    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    link: checklist.Link | None = None  # the whole list


def _url(name: str, **query: Any) -> str:
    url = reverse(f"admin:{name}")
    query = {key: value for key, value in query.items() if value is not None}
    return f"{url}?{urlencode(query)}" if query else url


def _since(moment: datetime) -> str:
    """A moment as the admin's period filters read it (`?received_at__gte=`)."""
    return moment.astimezone(timezone.get_current_timezone()).isoformat()


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


def _bounded(value: int) -> str:
    if value > selectors.BOUNDED_UP_TO:
        return _("more than %(count)s") % {"count": _number(selectors.BOUNDED_UP_TO)}
    return _number(value)


def wait_text(since: datetime, now: datetime) -> str:
    """How long since `since`, as every admin page says it ("45 s", "3 min 20 s", "29 d 9 h")."""
    return times.waited(since, now)


def local_time(moment: datetime) -> str:
    """A moment in the site's time zone, saying which, as every admin page shows it."""
    return times.moment(moment)


# --- the parts --------------------------------------------------------------------------------


def waiting_card(now: datetime) -> Card:
    """Conversations waiting for an agent, and the busiest queues."""
    waiting = selectors.conversations_waiting()
    card = Card(key="waiting", title=_("Conversations waiting"))
    card.figures.append(
        Figure(
            key="waiting-total",
            label=_("waiting for an agent"),
            value=_number(waiting.total),
            url=_url("conversations_contact_changelist", waiting="yes"),
            tone="warn" if waiting.total else "good",
            note=(
                _("oldest waiting %(wait)s") % {"wait": wait_text(waiting.oldest, now)}
                if waiting.oldest
                else ""
            ),
        )
    )
    card.columns = [_("Queue"), _("Waiting"), _("Oldest wait")]
    for queue in waiting.busiest:
        card.rows.append(
            Row(
                key=f"queue-{queue.queue_id}",
                name=queue.name,
                url=_url(
                    "conversations_contact_changelist",
                    waiting="yes",
                    queue__id__exact=queue.queue_id,
                ),
                cells=[_number(queue.waiting), wait_text(queue.oldest, now)],
            )
        )
    if waiting.queues_with_waiting > len(waiting.busiest):
        card.note = _("The %(shown)d busiest of %(count)s queues with conversations waiting.") % {
            "shown": len(waiting.busiest),
            "count": _number(waiting.queues_with_waiting),
        }
    card.link = checklist.Link(
        _url("conversations_contact_changelist", waiting="yes"), _("All waiting conversations")
    )
    return card


CALLBACK_TONES = {CallbackStatus.FAILED: "bad", CallbackStatus.PENDING: "warn"}
DELIVERY_TONES = {
    DeliveryStatus.FAILED: "bad",
    DeliveryStatus.RETRYING: "warn",
    DeliveryStatus.PENDING: "warn",
}


def callbacks_card(period: selectors.Period, last_hour: Tally) -> Card:
    """Callbacks received in the last 60 minutes, by status."""
    since = _since(period.last_hour_since)
    card = Card(key="callbacks", title=_("Callbacks, last hour"))
    for status in CallbackStatus:
        rows = last_hour.counts.get(status, 0)
        card.figures.append(
            Figure(
                key=f"callbacks-{status.value}",
                label=str(status.label),
                value=_number(rows),
                url=_url(
                    "messaging_callback_changelist",
                    status__exact=status.value,
                    received_at__gte=since,
                ),
                tone=CALLBACK_TONES.get(status, "") if rows else "",
            )
        )
    if last_hour.simulated_total:
        card.note = _("of which %(count)s simulated") % {
            "count": _number(last_hour.simulated_total)
        }
    card.link = checklist.Link(
        _url("messaging_callback_changelist", received_at__gte=since),
        _("All callbacks of the last hour"),
    )
    return card


def unrouted_card(
    period: selectors.Period, day: Tally, missing_hours: int, can_add_queue: bool
) -> Card:
    """Customers' messages that reached no queue in the day, by the address they came to."""
    card = Card(key="unrouted", title=_("Unrouted messages, last 24 hours"))
    card.figures.append(
        Figure(
            key="unrouted-total",
            label=_("reached no queue"),
            value=_number(day.total),
            url=_url(
                "messaging_callback_changelist",
                reason_code__exact=ReasonCode.NO_QUEUE.value,
                received_at__gte=_since(period.day_since),
            ),
            tone="bad" if day.total else "good",
        )
    )
    addresses = sorted(
        ((address, rows) for address, rows in day.counts.items() if rows),
        key=lambda item: (-item[1], item[0]),
    )
    card.columns = [_("Address"), _("Messages"), ""]
    named = addresses[: selectors.NAMED_UP_TO]
    # Addresses given a queue since: their messages stay counted (they did reach none), but
    # the row says so instead of offering a queue the form would refuse.
    # ("" when none is named: one query either way, so that the page's count stays fixed.)
    routed_now = queue_selectors.addresses_taken(
        [address for address, _rows in named] or [""], exclude_queue_id=None
    )
    for n, (address, rows) in enumerate(named):
        # A reason that names no address (a channel with no chat subchannel) has no queue to add.
        is_address = "@" in address and " " not in address
        queue_name = routed_now.get(address)
        card.rows.append(
            Row(
                key=f"unrouted-{n}",
                name=address,
                url=None,
                cells=[_number(rows)],
                note=(
                    _("now reaches “%(queue)s”") % {"queue": queue_name}
                    if queue_name is not None
                    else ""
                ),
                action=(
                    checklist.Link(
                        _url("queues_queue_add", channel_type="chat", addresses=address),
                        _("Add a queue"),
                    )
                    if can_add_queue and is_address and queue_name is None
                    else None
                ),
            )
        )
    if len(addresses) > selectors.NAMED_UP_TO:
        card.note = _("and %(count)d more addresses") % {
            "count": len(addresses) - selectors.NAMED_UP_TO
        }
    if missing_hours:
        card.note = " ".join(
            [card.note, _("(%(count)d hours not counted yet)") % {"count": missing_hours}]
        ).strip()
    return card


def integrations_card() -> Card:
    """Integrations paused after failing too often, and those failing now."""
    trouble = selectors.integrations_in_trouble()
    card = Card(key="integrations", title=_("Integrations"))
    card.figures.append(
        Figure(
            key="integrations-paused",
            label=_("paused"),
            value=_number(trouble.paused),
            url=_url("integrations_integration_changelist", health="paused"),
            tone="bad" if trouble.paused else "good",
        )
    )
    card.figures.append(
        Figure(
            key="integrations-failing",
            label=_("failing"),
            value=_number(trouble.failing),
            url=_url("integrations_integration_changelist", health="failing"),
            tone="warn" if trouble.failing else "good",
        )
    )
    if trouble.named:
        card.columns = [_("Integration"), _("State"), _("Failures in a row")]
    for pk, name, paused, failures in trouble.named:
        card.rows.append(
            Row(
                key=f"integration-{pk}",
                name=name,
                url=reverse("admin:integrations_integration_change", args=[pk]),
                cells=[_("paused") if paused else _("failing"), _number(failures)],
            )
        )
    return card


def deliveries_card(period: selectors.Period, last_hour: Tally) -> Card:
    """The last hour's deliveries: success rate, failures, the 95th percentile duration."""
    since = period.last_hour_since
    health = selectors.delivery_health(last_hour, since=since)
    card = Card(key="deliveries", title=_("Deliveries, last hour"))
    rate = health.success_rate
    card.figures.append(
        Figure(
            key="deliveries-success",
            label=_("succeeded"),
            value="—" if rate is None else f"{rate:.0%}",
            url=_url(
                "integrations_delivery_changelist",
                status__exact=DeliveryStatus.SUCCEEDED.value,
                created_at__gte=_since(since),
            ),
            tone="" if rate is None else ("good" if rate >= 0.95 else "bad"),
            note=_("%(succeeded)s of %(finished)s attempts that ended")
            % {"succeeded": _number(health.succeeded), "finished": _number(health.finished)},
        )
    )
    for status in (DeliveryStatus.FAILED, DeliveryStatus.RETRYING):
        rows = last_hour.counts.get(status, 0)
        card.figures.append(
            Figure(
                key=f"deliveries-{status.value}",
                label=str(status.label),
                value=_number(rows),
                url=_url(
                    "integrations_delivery_changelist",
                    status__exact=status.value,
                    created_at__gte=_since(since),
                ),
                tone=DELIVERY_TONES.get(status, "") if rows else "",
            )
        )
    card.figures.append(
        Figure(
            key="deliveries-p95",
            label=_("95th percentile duration"),
            value="—" if health.p95_ms is None else f"{_number(health.p95_ms)} ms",
            url=_url("integrations_delivery_changelist", created_at__gte=_since(since)),
        )
    )
    return card


def workers_figure(now: datetime) -> Figure:
    """The workers running, with their last heartbeat."""
    seen = selectors.workers(now)
    return Figure(
        key="workers-live",
        label=_("workers running"),
        value=_number(seen.live),
        url=_url("configurator_workerheartbeat_changelist"),
        tone="bad" if seen.stale else "good",
        note=(
            _("last heartbeat %(when)s (%(ago)s ago)")
            % {"when": local_time(seen.last_seen), "ago": wait_text(seen.last_seen, now)}
            if seen.last_seen
            else _("no worker has ever run: start manage.py db_worker")
        ),
    )


def backlog_card(can: dict[str, bool], now: datetime) -> Card | None:
    """The workers, and the work stored and not done yet, of the kinds the user may view."""
    backlog = selectors.Backlog()
    card = Card(key="backlog", title=_("Workers and backlog"))
    if can["workers"]:
        card.figures.append(workers_figure(now))
    if can["callbacks"]:
        selectors.callbacks_backlog(backlog)
        pending = backlog.callbacks_pending or 0
        oldest = backlog.oldest_pending_callback
        card.figures.append(
            Figure(
                key="backlog-callbacks",
                label=_("callbacks pending"),
                value=_bounded(pending),
                url=_url("messaging_callback_changelist", status__exact=CallbackStatus.PENDING),
                tone="warn" if pending else "good",
                note=(
                    _("oldest received %(wait)s ago") % {"wait": wait_text(oldest, now)}
                    if oldest
                    else ""
                ),
            )
        )
    if can["deliveries"]:
        selectors.deliveries_backlog(backlog, now)
        due = backlog.deliveries_due or 0
        card.figures.append(
            Figure(
                key="backlog-deliveries",
                label=_("deliveries due"),
                value=_bounded(due),
                url=_url("integrations_delivery_changelist", status__exact=DeliveryStatus.PENDING),
                tone="warn" if due else "good",
                note=_("%(count)s scheduled for a retry")
                % {"count": _bounded(backlog.deliveries_scheduled or 0)},
            )
        )
    if can["tasks"]:
        selectors.tasks_backlog(backlog)
        queued = backlog.tasks_queued or 0
        card.figures.append(
            Figure(
                key="backlog-tasks",
                label=_("tasks queued"),
                value=_bounded(queued),
                url=_url("django_tasks_database_dbtaskresult_changelist", status__exact="READY"),
                tone="warn" if queued else "good",
            )
        )
    return card if card.figures else None
