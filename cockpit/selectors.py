"""Reads behind the home page's figures and charts: a fixed number of queries, each bounded.

Every figure reads an index range whose size follows what is happening now (conversations
waiting, the last two hours of traffic, the backlog), never the size of a table; the day behind
the charts comes from the hourly counts (`cockpit.rollup`). Counts that could grow with a
backlog stop at `BOUNDED_UP_TO` ("more than ...").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Min, Q
from django.db.models.expressions import Window
from django.db.models.functions import CumeDist
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from cockpit.choices import Metric
from cockpit.counting import COUNTERS, HOUR, LiveCounts, Tally, hour_start, live_counts
from cockpit.models import HourlyCount
from configurator.admin_counts import bounded_count
from configurator.models import WorkerHeartbeat
from conversations.models import Contact
from integrations.choices import DeliveryStatus
from integrations.models import Delivery, Integration
from messaging.choices import CallbackStatus
from messaging.models import Callback
from queues.models import Queue

# The hours the charts show: the current one and the 23 before it.
CHART_HOURS = 24
# Of these, the newest are counted live (the previous hour may not be in the rollup yet).
LIVE_HOURS = 2
# Backlog counts read at most this many rows.
BOUNDED_UP_TO = 10_000
# The busiest queues listed with their waiting conversations.
BUSIEST_QUEUES = 10
# Unrouted addresses, and integrations paused or failing, named on the page.
NAMED_UP_TO = 5


@dataclass(frozen=True)
class Period:
    """The moments the page's figures are read at (one `now` for all of them)."""

    now: datetime

    @property
    def current_hour(self) -> datetime:
        return hour_start(self.now)

    @property
    def hours(self) -> list[datetime]:
        """The charts' hours, oldest first, the current one last."""
        return [self.current_hour - back * HOUR for back in range(CHART_HOURS - 1, -1, -1)]

    @property
    def live_since(self) -> datetime:
        return self.current_hour - (LIVE_HOURS - 1) * HOUR

    @property
    def last_hour_since(self) -> datetime:
        """60 minutes ago, to the second: the figures count from it and their links say it."""
        return (self.now - HOUR).replace(microsecond=0)

    @property
    def day_since(self) -> datetime:
        return self.hours[0]


# --- conversations waiting --------------------------------------------------------------------


@dataclass(frozen=True)
class QueueWaiting:
    """A queue with the conversations waiting in it and since when the oldest waits."""

    queue_id: int
    name: str
    waiting: int
    oldest: datetime


@dataclass(frozen=True)
class Waiting:
    """Conversations waiting for an agent: in all, and in the busiest queues."""

    total: int
    oldest: datetime | None
    queues_with_waiting: int
    busiest: list[QueueWaiting]


def conversations_waiting() -> Waiting:
    """One read of the partial index of waiting contacts (conversations_contact_waiting).

    Grouped by queue, the busiest first with their names, and the totals over all the groups
    as window functions of the same grouping: the waiting rows are read once (a scan of tens of
    thousands of index entries at the busiest), however many queues there are. In SQL because
    the ORM cannot put a window over an aggregate; `COUNT(*)` reads no column outside the index.
    """
    quote = connection.ops.quote_name
    sql = f"""
        SELECT g.queue_id, q.{quote("name")}, g.n, g.oldest, g.total, g.queues, g.first
        FROM (
            SELECT queue_id, COUNT(*) AS n, MIN(waiting_since) AS oldest,
                   SUM(COUNT(*)) OVER () AS total, COUNT(*) OVER () AS queues,
                   MIN(MIN(waiting_since)) OVER () AS first
            FROM {quote(Contact._meta.db_table)}
            WHERE waiting_since IS NOT NULL AND queue_id IS NOT NULL
            GROUP BY queue_id
            ORDER BY n DESC, oldest, queue_id
            LIMIT %s
        ) g
        JOIN {quote(Queue._meta.db_table)} q ON q.id = g.queue_id
        ORDER BY g.n DESC, g.oldest, g.queue_id
    """  # noqa: S608 - only quoted table names are formatted in; the limit is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [BUSIEST_QUEUES])
        rows = cursor.fetchall()
    if not rows:
        return Waiting(total=0, oldest=None, queues_with_waiting=0, busiest=[])
    first = rows[0]
    return Waiting(
        total=int(first[4]),
        oldest=_moment(first[6]),
        queues_with_waiting=int(first[5]),
        busiest=[
            QueueWaiting(queue_id=int(pk), name=name, waiting=int(n), oldest=_moment(oldest))
            for pk, name, n, oldest, *_ in rows
        ],
    )


def _moment(value: datetime | str) -> datetime:
    """A time from raw SQL: PostgreSQL gives it aware, SQLite as text in UTC."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


# --- traffic: live counts and the day behind them ---------------------------------------------


@dataclass
class Series:
    """One metric over the charts' hours: a tally per hour (None: not counted yet)."""

    metric: Metric
    hours: list[datetime]
    tallies: list[Tally | None]
    last_hour: Tally

    @property
    def missing_hours(self) -> int:
        return sum(1 for tally in self.tallies if tally is None)

    def ordered_keys(self) -> list[str]:
        """Keys in the counter's order, then others by their total (addresses, newest data)."""
        counter = COUNTERS[self.metric]
        totals: dict[str, int] = {}
        for tally in self.tallies:
            for key, rows in (tally.counts if tally else {}).items():
                totals[key] = totals.get(key, 0) + rows
        known = list(counter.keys)
        others = sorted((k for k in totals if k not in known), key=lambda k: (-totals[k], k))
        return known + others

    def day(self) -> Tally:
        """The whole day's rows by key (hours not counted yet left out)."""
        whole = Tally()
        for tally in self.tallies:
            for key, rows in (tally.counts if tally else {}).items():
                whole.add(key, rows, tally.simulated.get(key, 0) if tally else 0)
        return whole


def stored_hours(window: Period, metrics: Iterable[Metric]) -> dict[tuple[datetime, str], Tally]:
    """The rollup's rows for the charts' hours that are not counted live: one query."""
    wanted = list(metrics)
    if not wanted:
        return {}
    rows = HourlyCount.objects.filter(
        hour__gte=window.day_since, hour__lt=window.live_since, metric__in=wanted
    ).values_list("hour", "metric", "counts", "simulated")
    return {
        (hour, metric): Tally(counts=dict(counts), simulated=dict(simulated))
        for hour, metric, counts, simulated in rows
    }


def series(metric: Metric, window: Period, stored: dict[tuple[datetime, str], Tally]) -> Series:
    """A metric's day: stored hours from the rollup, the last LIVE_HOURS counted now."""
    live: LiveCounts = live_counts(
        COUNTERS[metric], since=window.live_since, recent_from=window.last_hour_since
    )
    tallies: list[Tally | None] = []
    for hour in window.hours:
        if hour >= window.live_since:
            tallies.append(
                live.hours.get(hour) or Tally(counts=dict.fromkeys(COUNTERS[metric].keys, 0))
            )
        else:
            tallies.append(stored.get((hour, metric)))
    return Series(metric=metric, hours=window.hours, tallies=tallies, last_hour=live.last_hour)


# --- deliveries ------------------------------------------------------------------------------

# Attempts that ended, well or not: the success rate's denominator.
FINISHED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.RETRYING)


@dataclass(frozen=True)
class DeliveryHealth:
    """The last hour's deliveries: how many went well, and how long they took."""

    finished: int
    succeeded: int
    p95_ms: int | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None


def delivery_health(last_hour: Tally, *, since: datetime) -> DeliveryHealth:
    """Success rate from the last hour's tally; the 95th percentile duration in one query (the
    smallest duration at or above which 95 % of the hour's timed attempts lie)."""
    succeeded = last_hour.counts.get(DeliveryStatus.SUCCEEDED, 0)
    finished = sum(last_hour.counts.get(status, 0) for status in FINISHED)
    p95 = (
        Delivery.objects.filter(created_at__gte=since, duration_ms__isnull=False)
        .annotate(share=Window(CumeDist(), order_by=F("duration_ms").asc()))
        .filter(share__gte=0.95)
        .order_by("duration_ms")
        .values_list("duration_ms", flat=True)
        .first()
    )
    return DeliveryHealth(finished=finished, succeeded=succeeded, p95_ms=p95)


# --- integrations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationTrouble:
    """Integrations paused after failing too often, and those failing now, with a few named."""

    paused: int
    failing: int
    named: list[tuple[int, str, bool, int]]  # (id, name, paused, consecutive failures)


# Integrations read for the figure: they are made by hand (forty is a large setup).
INTEGRATIONS_READ = 1000


def integrations_in_trouble() -> IntegrationTrouble:
    """One read of the integrations paused or failing (a few of the hand-made integrations)."""
    troubled = list(
        Integration.objects.filter(Q(paused_at__isnull=False) | Q(consecutive_failures__gt=0))
        .order_by(F("paused_at").desc(nulls_last=True), "-consecutive_failures", "name")
        .values_list("pk", "name", "paused_at", "consecutive_failures")[:INTEGRATIONS_READ]
    )
    named = [
        (pk, name, paused_at is not None, int(failures))
        for pk, name, paused_at, failures in troubled[:NAMED_UP_TO]
    ]
    paused = sum(1 for row in troubled if row[2] is not None)
    return IntegrationTrouble(paused=paused, failing=len(troubled) - paused, named=named)


# --- workers and backlog ---------------------------------------------------------------------


@dataclass(frozen=True)
class Workers:
    """The workers' last heartbeat, and how many were seen within WORKER_STALE_SECONDS."""

    last_seen: datetime | None
    live: int

    @property
    def stale(self) -> bool:
        return self.live == 0


def workers(now: datetime) -> Workers:
    """One aggregate over the heartbeats (one row per worker process)."""
    stale = now - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    figures = WorkerHeartbeat.objects.aggregate(
        last=Max("seen_at"), live=Count("pk", filter=Q(seen_at__gte=stale))
    )
    return Workers(last_seen=figures["last"], live=int(figures["live"]))


@dataclass
class Backlog:
    """Work stored and not yet done, each count read up to BOUNDED_UP_TO rows."""

    callbacks_pending: int | None = None
    oldest_pending_callback: datetime | None = None
    deliveries_due: int | None = None
    deliveries_scheduled: int | None = None
    tasks_queued: int | None = None
    bound: int = field(default=BOUNDED_UP_TO)


def callbacks_backlog(backlog: Backlog) -> None:
    """Pending callbacks and the oldest, in one read of at most BOUNDED_UP_TO + 1 entries of
    the partial index of pending callbacks (oldest first: the oldest is among them)."""
    pending = Callback.objects.filter(status=CallbackStatus.PENDING).order_by("id")
    figures = pending.values("received_at")[: BOUNDED_UP_TO + 1].aggregate(
        n=Count("*"), oldest=Min("received_at")
    )
    backlog.callbacks_pending = int(figures["n"])
    backlog.oldest_pending_callback = figures["oldest"]


def deliveries_backlog(backlog: Backlog, now: datetime) -> None:
    """Pending deliveries due now, and those scheduled for a retry (index by status), each
    counted up to BOUNDED_UP_TO + 1."""
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
    backlog.deliveries_due = bounded_count(pending.filter(due_at__lte=now), BOUNDED_UP_TO)
    backlog.deliveries_scheduled = bounded_count(pending.filter(due_at__gt=now), BOUNDED_UP_TO)


def tasks_backlog(backlog: Backlog) -> None:
    """Background tasks waiting for a worker (index of task results by status)."""
    queued = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    backlog.tasks_queued = bounded_count(queued, BOUNDED_UP_TO)
