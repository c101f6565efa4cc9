"""The hourly counts behind the charts: closed hours, finality, gaps, repeats, several workers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from cockpit import rollup as rollup_module
from cockpit.choices import Metric
from cockpit.counting import COUNTERS, HOUR, hour_start, live_counts
from cockpit.models import HourlyCount
from cockpit.rollup import WINDOW_HOURS, rollup
from configurator import extensions, retention
from conversations.models import Contact
from messaging.models import Callback, MessagingService
from tests.cockpit import rows
from tests.factories import make_contact, make_integration, make_queue, make_service
from tests.workers import start_worker, wait_until, workers

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"


def counts(hour: datetime, metric: str) -> dict[str, int]:
    return dict(HourlyCount.objects.get(hour=hour, metric=metric).counts)


def test_counts_each_closed_hour_of_the_day_by_key(service: MessagingService) -> None:
    now = timezone.now()
    current = hour_start(now)
    three_back = current - 3 * HOUR
    for minute in (0, 30, 59):
        rows.callback(service, status="processed", at=three_back + timedelta(minutes=minute))
    rows.callback(service, status="failed", at=three_back + timedelta(minutes=5), simulated=True)
    rows.callback(service, status="processed", at=current)  # the current hour: not rolled up
    rows.unrouted(service, f"{APP}@sms.sinchconversation.com", at=three_back)
    contact = make_contact(make_queue(addresses=[f"{APP}@whatsapp"]))
    rows.contact_event(contact, "abandoned", at=three_back + timedelta(minutes=1))
    integration = make_integration()
    rows.delivery(integration, contact, status="succeeded", at=three_back, duration_ms=5)

    run = rollup(now=now)

    assert len(run.counted) == WINDOW_HOURS * len(Metric)
    assert HourlyCount.objects.count() == WINDOW_HOURS * len(Metric)
    assert not HourlyCount.objects.filter(hour=current).exists()
    row = HourlyCount.objects.get(hour=three_back, metric=Metric.CALLBACKS)
    assert row.counts == {"pending": 0, "processed": 3, "ignored": 0, "failed": 2}
    assert row.simulated == {"failed": 1}
    assert counts(three_back, Metric.UNROUTED) == {f"{APP}@sms.sinchconversation.com": 1}
    assert counts(three_back, Metric.CONVERSATIONS) == {"received": 0, "abandoned": 1}
    assert counts(three_back, Metric.DELIVERIES)["succeeded"] == 1
    assert counts(current - HOUR, Metric.CALLBACKS) == {
        "pending": 0,
        "processed": 0,
        "ignored": 0,
        "failed": 0,
    }


def test_an_hour_is_final_once_settled_with_nothing_in_flight(service: MessagingService) -> None:
    now = timezone.now()
    current = hour_start(now)
    recent, settled = current - HOUR, current - 3 * HOUR
    rows.callback(service, status="processed", at=recent)
    waiting = rows.callback(service, status="pending", at=settled)

    rollup(now=now)

    assert not HourlyCount.objects.get(hour=recent, metric=Metric.CALLBACKS).final
    row = HourlyCount.objects.get(hour=settled, metric=Metric.CALLBACKS)
    assert not row.final and row.counts["pending"] == 1
    assert HourlyCount.objects.get(hour=settled, metric=Metric.CONVERSATIONS).final

    # Processed late: the next run counts the hour again, and now it is final.
    Callback.objects.filter(pk=waiting.pk).update(status="processed")
    again = rollup(now=now)

    row = HourlyCount.objects.get(hour=settled, metric=Metric.CALLBACKS)
    assert row.final and row.counts["pending"] == 0 and row.counts["processed"] == 1
    # Final hours are not counted again: only those that were not final.
    assert (settled, "conversations") not in again.counted
    assert (recent, "callbacks") in again.counted


def test_repeated_runs_change_nothing(service: MessagingService) -> None:
    now = timezone.now()
    for back in range(1, 6):
        rows.callback(service, status="processed", at=hour_start(now) - back * HOUR)
    rollup(now=now)
    before = sorted(HourlyCount.objects.values_list("hour", "metric", "counts", "simulated"))

    rollup(now=now)
    rollup(now=now)

    assert (
        sorted(HourlyCount.objects.values_list("hour", "metric", "counts", "simulated")) == before
    )


def test_hours_missed_while_no_worker_ran_are_counted_later(service: MessagingService) -> None:
    now = timezone.now()
    current = hour_start(now)
    for back in range(1, 10):
        rows.callback(service, status="processed", at=current - back * HOUR + timedelta(minutes=1))
    # The last run was six hours ago; then no worker ran.
    rollup(now=now - 6 * HOUR)
    assert not HourlyCount.objects.filter(hour__gte=current - 6 * HOUR).exists()

    rollup(now=now)

    for back in range(1, WINDOW_HOURS + 1):
        hour = current - back * HOUR
        assert counts(hour, Metric.CALLBACKS)["processed"] == (1 if back < 10 else 0), back


def test_a_run_stops_at_its_budget_and_the_next_comes_sooner(
    service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = rollup(seconds=0)
    assert stopped.stopped_early and not stopped.counted

    monkeypatch.setattr(rollup_module, "_run_budget", lambda: 0.0)
    rollup_module.rollup_job()
    assert rollup_module.rollup_interval() == 1.0

    monkeypatch.setattr(rollup_module, "_run_budget", lambda: 60.0)
    rollup_module.rollup_job()
    assert rollup_module.rollup_interval() == 300.0
    assert HourlyCount.objects.count() == WINDOW_HOURS * len(Metric)


def test_every_worker_runs_it_and_old_counts_are_pruned(db: None) -> None:
    assert "home page counts" in [job.name for job in extensions.housekeeping_jobs]
    assert rollup_module.RETENTION_RULE in list(extensions.retention_rules)
    now = timezone.now()
    for days in (1, 6, 8, 30):
        HourlyCount.objects.create(
            hour=hour_start(now - timedelta(days=days)),
            metric=Metric.CALLBACKS,
            counted_at=now,
        )

    retention.prune(now=now)

    kept = sorted((now - hour).days for hour in HourlyCount.objects.values_list("hour", flat=True))
    assert kept == [1, 6]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_write_each_hour_once() -> None:
    service = make_service()
    now = timezone.now()
    for back in range(1, 5):
        rows.callback(service, status="failed", at=hour_start(now) - back * HOUR)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            rollup(now=now)
        except BaseException as exc:  # the test reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert HourlyCount.objects.count() == WINDOW_HOURS * len(Metric)
    assert counts(hour_start(now) - 2 * HOUR, Metric.CALLBACKS)["failed"] == 1


@pytest.mark.django_db(transaction=True)
def test_real_workers_fill_the_counts_the_page_shows(admin_client_: Client) -> None:
    service = make_service()
    hour = hour_start(timezone.now()) - 5 * HOUR
    for _ in range(7):
        rows.callback(service, status="ignored", at=hour + timedelta(minutes=10))
    page = admin_client_.get("/admin/").content.decode()
    assert "hours are not counted yet" in page

    # Two workers start at once: both count the day, each hour ends up counted once.
    with workers() as started:
        started += [start_worker("rollup-a"), start_worker("rollup-b")]
        wait_until(
            lambda: HourlyCount.objects.count() == WINDOW_HOURS * len(Metric),
            timeout=60,
            what="the workers counting the last day",
        )

    assert counts(hour, Metric.CALLBACKS)["ignored"] == 7
    page = admin_client_.get("/admin/").content.decode()
    assert "not counted yet" not in page
    table = page[page.index('id="chart-callbacks"') :]
    label = f'<th scope="row">{timezone.localtime(hour):%Y-%m-%d %H:%M}–'
    row = table[table.index(label) :]
    # Pending, processed, ignored, failed.
    assert row[: row.index("</tr>")].endswith("<td>0</td><td>0</td><td>7</td><td>0</td>")


def test_received_and_abandoned_count_inbound_conversations_alone_in_the_rollup_and_live(
    service: MessagingService,
) -> None:
    now = timezone.now()
    current = hour_start(now)
    three_back = current - 3 * HOUR
    inbound = make_contact(make_queue(addresses=[f"{APP}@whatsapp"]))
    outbound = Contact.objects.create(
        channel_type="chat", direction="outbound", state="abandoned", sinch_app_id=APP
    )
    for moment in (three_back + timedelta(minutes=1), now):
        rows.contact_event(inbound, "abandoned", at=moment)
        rows.contact_event(outbound, "abandoned", at=moment)

    rollup(now=now)
    live = live_counts(COUNTERS[Metric.CONVERSATIONS], since=current, recent_from=now - HOUR)

    assert counts(three_back, Metric.CONVERSATIONS) == {"received": 0, "abandoned": 1}
    assert live.hours[current].counts["abandoned"] == 1
