"""How each metric of the home page is counted: one table, read by the rollup and the live counts.

A metric counts the rows of one table whose time falls in a range, by one key column (a status,
an event, a reason), with how many of them the simulator made. The rollup counts a closed hour
with it (`hour_counts`); the page counts the last two hours live with it (`live_counts`), so a
figure on the page and the same hour in the rollup are the same count. Every range is an index
range on the time column (given with each counter), so the cost follows the rows in the range,
never the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import Trunc

from cockpit.choices import Metric
from conversations.choices import Direction, Event
from conversations.models import ContactEvent
from integrations.choices import DeliveryStatus
from integrations.models import Delivery
from messaging.choices import CallbackStatus, ReasonCode
from messaging.models import Callback
from messaging.selectors import unrouted_address

HOUR = timedelta(hours=1)


def _same(key: str) -> str:
    return key


@dataclass(frozen=True)
class Counter:
    """One metric: which rows, by which time and key, and which keys mean work still in flight."""

    metric: Metric
    rows: Callable[[], QuerySet[Any]]
    time_field: str
    key_field: str
    simulated: Q
    # Keys counted even at zero (a chart's series); others appear when rows have them.
    keys: tuple[str, ...] = ()
    # Keys whose rows may still change (pending work): an hour holding any is not final.
    in_flight: frozenset[str] = frozenset()
    # The key shown for a column value (several reasons may name one address).
    key_of: Callable[[str], str] = field(default=_same)
    # The longest a key is kept (a reason sentence), as the rollup row stores it.
    key_length: int = 200


COUNTERS: dict[Metric, Counter] = {
    counter.metric: counter
    for counter in (
        # Index messaging_cb_status (status, received_at) or messaging_cb_received.
        Counter(
            metric=Metric.CALLBACKS,
            rows=lambda: Callback.objects.all(),
            time_field="received_at",
            key_field="status",
            simulated=Q(simulated=True),
            keys=tuple(CallbackStatus.values),
            in_flight=frozenset({CallbackStatus.PENDING}),
        ),
        # Index integrations_dlv_status (status, created_at) or integrations_dlv_created.
        Counter(
            metric=Metric.DELIVERIES,
            rows=lambda: Delivery.objects.all(),
            time_field="created_at",
            key_field="status",
            simulated=Q(simulated=True),
            keys=tuple(DeliveryStatus.values),
            in_flight=frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING}),
        ),
        # Index conversations_event_kind (event, occurred_at). Customers' conversations only:
        # an outbound chat nobody reached is Abandoned too, but it was never received.
        Counter(
            metric=Metric.CONVERSATIONS,
            rows=lambda: ContactEvent.objects.filter(
                event__in=[Event.RECEIVED, Event.ABANDONED], contact__direction=Direction.INBOUND
            ),
            time_field="occurred_at",
            key_field="event",
            simulated=Q(contact__simulated=True),
            keys=(Event.RECEIVED, Event.ABANDONED),
        ),
        # Index messaging_cb_unrouted (received_at where the reason code is no_queue).
        Counter(
            metric=Metric.UNROUTED,
            rows=lambda: Callback.objects.filter(reason_code=ReasonCode.NO_QUEUE),
            time_field="received_at",
            key_field="status_reason",
            simulated=Q(simulated=True),
            in_flight=frozenset(),
            key_of=unrouted_address,
        ),
    )
}


@dataclass
class Tally:
    """Rows counted by key, and of them how many the simulator made."""

    counts: dict[str, int] = field(default_factory=dict)
    simulated: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, rows: int, simulated: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + rows
        if simulated:
            self.simulated[key] = self.simulated.get(key, 0) + simulated

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def simulated_total(self) -> int:
        return sum(self.simulated.values())


def _in_range(counter: Counter, since: datetime, until: datetime | None) -> QuerySet[Any]:
    rows = counter.rows().filter(**{f"{counter.time_field}__gte": since})
    return rows if until is None else rows.filter(**{f"{counter.time_field}__lt": until})


def hour_counts(counter: Counter, hour: datetime) -> Tally:
    """What `counter` counts in the hour starting at `hour` (one aggregate over an index range)."""
    tally = Tally(counts=dict.fromkeys(counter.keys, 0))
    rows = (
        _in_range(counter, hour, hour + HOUR)
        .order_by()
        .values(counter.key_field)
        .annotate(rows=Count("pk"), sim=Count("pk", filter=counter.simulated))
    )
    for row in rows:
        key = counter.key_of(str(row[counter.key_field]))[: counter.key_length]
        tally.add(key, int(row["rows"]), int(row["sim"]))
    return tally


@dataclass
class LiveCounts:
    """A live count from an hour's start: per hour (the charts) and over the last 60 minutes."""

    hours: dict[datetime, Tally]
    last_hour: Tally


def live_counts(counter: Counter, *, since: datetime, recent_from: datetime) -> LiveCounts:
    """What `counter` counts from `since` (an hour's start) on, in one query: by hour, and from
    `recent_from` (the last 60 minutes, which start after `since`)."""
    rows = (
        # No end: a row stamped a moment after `now` (another server's clock) still counts.
        _in_range(counter, since, None)
        .order_by()
        .annotate(
            bucket=Trunc(counter.time_field, "hour", tzinfo=UTC),
            recent=Case(
                When(**{f"{counter.time_field}__gte": recent_from}, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values("bucket", "recent", counter.key_field)
        .annotate(rows=Count("pk"), sim=Count("pk", filter=counter.simulated))
    )
    hours: dict[datetime, Tally] = defaultdict(lambda: Tally(counts=dict.fromkeys(counter.keys, 0)))
    last_hour = Tally(counts=dict.fromkeys(counter.keys, 0))
    for row in rows:
        key = counter.key_of(str(row[counter.key_field]))[: counter.key_length]
        bucket = row["bucket"]
        if bucket.tzinfo is None:  # SQLite gives the truncated time without its zone
            bucket = bucket.replace(tzinfo=UTC)
        hours[bucket].add(key, int(row["rows"]), int(row["sim"]))
        if row["recent"]:
            last_hour.add(key, int(row["rows"]), int(row["sim"]))
    return LiveCounts(hours=dict(hours), last_hour=last_hour)


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
