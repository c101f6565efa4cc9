"""The hourly counts behind the home page's charts, kept by every worker (a housekeeping job).

Counting a day of callbacks (a million a month is 33,000 a day) by hour and status on every view
of the home page would cost the page more than all its other figures together, and grows with the
traffic. Instead each closed hour is counted once per metric into one `HourlyCount` row, which
the page reads (a day is 96 rows); the page counts only the last two hours live.

Which hours: the `WINDOW_HOURS` closed hours before now. An hour without a row (the first start,
a time no worker ran) is counted at the next run, newest first; an hour whose row is not final is
counted again at every run. A row is final once it was counted `SETTLE` after its hour ended and
none of its rows was still in flight (a pending callback, a delivery waiting for its retry), so
that late processing shows in the chart. Each hour and metric is one aggregate over an index
range and one upsert, in a short transaction of its own: a run stops at its time budget and the
next run goes on (sooner, while behind), so a backfill never holds a worker or the page. Workers
running the job at once write the same rows (the unique hour and metric make the second write an
update of the first), so no lock is needed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cockpit.choices import Metric
from cockpit.counting import COUNTERS, HOUR, hour_counts, hour_start
from cockpit.models import HourlyCount
from configurator import retention

logger = logging.getLogger(__name__)

# Closed hours kept counted: the page's 24 hours are these and the current one.
WINDOW_HOURS = 24
# How long after its end an hour may still change (retries of deliveries are at most
# INTEGRATIONS_RETRY_MAX_SECONDS apart, 15 minutes by default; callbacks are processed in seconds).
SETTLE = timedelta(hours=1)
# The longest one run lasts (and a quarter of WORKER_STALE_SECONDS: the heartbeat runs in the
# same thread).
RUN_SECONDS = 10.0


@dataclass
class RollupRun:
    """What one run counted, and whether it stopped at its time budget with hours left."""

    counted: list[tuple[datetime, str]] = field(default_factory=list)
    stopped_early: bool = False


def hours_to_count(now: datetime) -> list[tuple[datetime, Metric]]:
    """The closed hours of the window, newest first, with each metric not counted for good."""
    current = hour_start(now)
    first = current - WINDOW_HOURS * HOUR
    final = set(
        HourlyCount.objects.filter(hour__gte=first, hour__lt=current, final=True).values_list(
            "hour", "metric"
        )
    )
    return [
        (hour, metric)
        for back in range(1, WINDOW_HOURS + 1)
        for hour in [current - back * HOUR]
        for metric in COUNTERS
        if (hour, metric) not in final
    ]


def count_hour(hour: datetime, metric: Metric, *, now: datetime) -> HourlyCount:
    """Count one hour of one metric and store it (an upsert: the same row whoever writes it)."""
    counter = COUNTERS[metric]
    tally = hour_counts(counter, hour)
    in_flight = any(tally.counts.get(key) for key in counter.in_flight)
    row = HourlyCount(
        hour=hour,
        metric=metric,
        counts=tally.counts,
        simulated=tally.simulated,
        counted_at=now,
        final=now >= hour + HOUR + SETTLE and not in_flight,
    )
    with transaction.atomic():
        HourlyCount.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["hour", "metric"],
            update_fields=["counts", "simulated", "counted_at", "final"],
        )
    return row


def rollup(*, now: datetime | None = None, seconds: float | None = None) -> RollupRun:
    """Count every hour of the window that is missing or not final, newest first.

    With `seconds`, no hour is started after that budget (the rest is for the next run).
    """
    moment = now or timezone.now()
    deadline = None if seconds is None else time.monotonic() + seconds
    run = RollupRun()
    for hour, metric in hours_to_count(moment):
        if deadline is not None and time.monotonic() >= deadline:
            run.stopped_early = True
            break
        count_hour(hour, metric, now=moment)
        run.counted.append((hour, str(metric)))
    return run


# The housekeeping job: bounded runs, sooner again while hours are left.
_behind = False


def rollup_job() -> RollupRun:
    """What every worker runs on its interval: one time-bounded pass."""
    global _behind
    run = rollup(seconds=_run_budget())
    _behind = run.stopped_early
    if run.stopped_early:
        logger.info("home page counts: %d hour(s) counted, more left", len(run.counted))
    return run


def rollup_interval() -> float:
    """Seconds until the next run: the setting, or one second while hours are left."""
    if _behind:
        return 1.0
    return max(1.0, float(settings.HOME_ROLLUP_INTERVAL_SECONDS))


def _run_budget() -> float:
    return max(0.1, min(RUN_SECONDS, float(settings.WORKER_STALE_SECONDS) / 4))


def hourly_counts_due(before: datetime, limit: int | None) -> QuerySet[Any]:
    """Hourly counts of hours before the cutoff (the unique index starts with the hour)."""
    return HourlyCount.objects.filter(hour__lt=before).order_by()


RETENTION_RULE = retention.Rule(
    table=_("home page hourly counts"),
    model=HourlyCount,
    days=retention.setting_days("HOME_ROLLUP_RETENTION_DAYS"),
    due=hourly_counts_due,
)
