"""Retention: what is pruned when, in bounded batches, by the workers and by `manage.py prune`."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from configurator import extensions, housekeeping, retention
from conversations.models import Contact, ContactEvent, Message
from integrations.models import Delivery, Integration
from messaging.models import Callback, DoctorRun, MessagingService
from tests.factories import make_integration, make_service

_n = itertools.count(1)

pytestmark = pytest.mark.django_db


def _ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def _callback(service: MessagingService, status: str, days: float) -> Callback:
    n = next(_n)
    return Callback.objects.create(
        service=service,
        trigger="MESSAGE_INBOUND",
        nonce=f"nonce-{n}",
        signed_at=_ago(days),
        received_at=_ago(days),
        raw_body=b"{}",
        dedupe_key=f"key-{n}",
        status=status,
    )


def _contact(*, ended_days: float | None, events: int = 3, final: str = "ended") -> Contact:
    """A contact with `events` events, the last one its end `ended_days` ago (open if None)."""
    end = _ago(ended_days if ended_days is not None else 0)
    contact = Contact.objects.create(
        ended_at=end if ended_days is not None else None,
        state=final if ended_days is not None else "queued",
    )
    for i in range(events - 1, -1, -1):
        last = i == 0 and ended_days is not None
        ContactEvent.objects.create(
            contact=contact,
            event=final if last else ("received" if i == events - 1 else "queued"),
            occurred_at=end - timedelta(minutes=i),
        )
    Message.objects.create(contact=contact, direction="inbound", kind="text", text="Hi")
    return contact


@pytest.fixture
def integration(db: None) -> Integration:
    return make_integration("CRM")


def _delivery(
    integration: Integration, contact: Contact, status: str, days: float, **fields: Any
) -> Delivery:
    event = contact.events.order_by("occurred_at").last()
    assert event is not None
    return Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        status=status,
        created_at=_ago(days),
        **fields,
    )


def _task(status: str, finished_days: float | None) -> DBTaskResult:
    return DBTaskResult.objects.create(
        status=status,
        finished_at=_ago(finished_days) if finished_days is not None else None,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="messaging.tasks.wake",
        queue_name="default",
        backend_name="default",
        run_after=_ago(finished_days or 0),
        exception_class_path="",
        traceback="",
    )


@pytest.fixture
def periods(settings: Any) -> Any:
    """Distinct periods, so that each rule shows which one it follows."""
    settings.CALLBACKS_RETENTION_DAYS = 10
    settings.DELIVERIES_RETENTION_DAYS = 20
    settings.CONTACT_EVENTS_RETENTION_DAYS = 40
    settings.TASK_RESULTS_RETENTION_DAYS = 5
    return settings


def test_callbacks_go_after_their_period_but_pending_never_and_failed_after_the_longer(
    service: MessagingService, periods: Any
) -> None:
    kept = [
        _callback(service, "processed", 9),
        _callback(service, "ignored", 9),
        _callback(service, "pending", 400),
        _callback(service, "failed", 19),
    ]
    gone = [
        _callback(service, "processed", 11),
        _callback(service, "ignored", 11),
        _callback(service, "failed", 21),
    ]

    run = retention.prune()

    remaining = set(Callback.objects.values_list("pk", flat=True))
    assert remaining == {c.pk for c in kept}
    assert run.tables["callbacks received"].rows == len(gone)


def test_failed_callbacks_follow_callbacks_period_when_it_is_the_longer(
    service: MessagingService, periods: Any
) -> None:
    periods.CALLBACKS_RETENTION_DAYS = 50
    failed = _callback(service, "failed", 45)
    _callback(service, "failed", 55)

    retention.prune()

    assert list(Callback.objects.values_list("pk", flat=True)) == [failed.pk]


def test_zero_keeps_for_ever(
    service: MessagingService, integration: Integration, settings: Any
) -> None:
    for name in retention.RETENTION_SETTINGS:
        setattr(settings, name, 0)
    _callback(service, "processed", 5000)
    _callback(service, "failed", 5000)
    contact = _contact(ended_days=5000)
    _delivery(integration, contact, "succeeded", 5000)
    _task(TaskResultStatus.SUCCESSFUL, 5000)

    run = retention.prune()

    assert all(tally.kept_for_ever and not tally.rows for tally in run.tables.values())
    assert Callback.objects.count() == 2
    assert Delivery.objects.count() == 1
    assert ContactEvent.objects.count() == 3
    assert DBTaskResult.objects.count() == 1


def test_callbacks_stay_while_their_nonce_could_be_replayed(
    service: MessagingService, settings: Any
) -> None:
    settings.CALLBACKS_RETENTION_DAYS = 1
    settings.SINCH_WEBHOOK_TOLERANCE = 2 * 86400  # a replay is refused after 4 days
    young = _callback(service, "processed", 3.5)
    _callback(service, "processed", 4.5)

    retention.prune()

    assert list(Callback.objects.values_list("pk", flat=True)) == [young.pk]


def test_deliveries_go_after_their_period_failed_after_the_longer_and_open_ones_never(
    integration: Integration, periods: Any
) -> None:
    contact = _contact(ended_days=None)
    kept = [
        _delivery(integration, contact, "succeeded", 19),
        _delivery(integration, contact, "failed", 19),
        _delivery(integration, contact, "pending", 300),
        _delivery(integration, contact, "retrying", 300),
        _delivery(integration, contact, "sending", 300),
    ]
    _delivery(integration, contact, "succeeded", 21)
    _delivery(integration, contact, "skipped", 21)
    periods.CALLBACKS_RETENTION_DAYS = 30  # failed ones: the longer of the two
    kept.append(_delivery(integration, contact, "failed", 29))
    _delivery(integration, contact, "failed", 31)

    run = retention.prune()

    assert set(Delivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert run.tables["deliveries"].rows == 3


def test_a_delivery_sent_again_loses_the_link_to_the_pruned_one(
    integration: Integration, periods: Any
) -> None:
    contact = _contact(ended_days=None)
    failed = _delivery(integration, contact, "failed", 25)
    again = _delivery(integration, contact, "succeeded", 5, attempt=2, previous=failed)

    retention.prune()

    again.refresh_from_db()
    assert again.previous_id is None
    assert not Delivery.objects.filter(pk=failed.pk).exists()


def test_ended_contacts_events_go_after_their_period_counted_from_the_end(
    periods: Any,
) -> None:
    old = _contact(ended_days=41)
    abandoned = _contact(ended_days=41, final="abandoned")
    recent = _contact(ended_days=39)
    # Open for a long time: its first event is very old, but it has not ended.
    open_contact = _contact(ended_days=None)
    ContactEvent.objects.filter(contact=open_contact).update(occurred_at=_ago(500))

    run = retention.prune()

    assert not ContactEvent.objects.filter(contact__in=[old, abandoned]).exists()
    assert ContactEvent.objects.filter(contact=recent).count() == 3
    assert ContactEvent.objects.filter(contact=open_contact).count() == 3
    assert run.tables["contact events"].rows == 6
    # The conversation itself and its messages stay.
    assert Contact.objects.filter(pk=old.pk).exists()
    assert Message.objects.filter(contact=old).count() == 1


def test_events_stay_while_their_contact_has_deliveries(
    integration: Integration, periods: Any
) -> None:
    periods.CALLBACKS_RETENTION_DAYS = 100  # failed deliveries are kept 100 days
    contact = _contact(ended_days=60)
    failed = _delivery(integration, contact, "failed", 60)

    retention.prune()

    assert ContactEvent.objects.filter(contact=contact).count() == 3
    failed.refresh_from_db()

    periods.CALLBACKS_RETENTION_DAYS = 50
    retention.prune()  # one run: the delivery goes first, then the events it held

    assert not Delivery.objects.filter(contact=contact).exists()
    assert not ContactEvent.objects.filter(contact=contact).exists()


def test_events_are_kept_at_least_as_long_as_deliveries(
    integration: Integration, periods: Any
) -> None:
    periods.DELIVERIES_RETENTION_DAYS = 60
    contact = _contact(ended_days=50)
    _delivery(integration, contact, "succeeded", 50)
    no_deliveries = _contact(ended_days=50)

    retention.prune()

    assert ContactEvent.objects.filter(contact=contact).count() == 3
    assert ContactEvent.objects.filter(contact=no_deliveries).count() == 3


def test_a_contact_keeps_its_final_event_until_its_other_events_are_gone(periods: Any) -> None:
    contact = _contact(ended_days=41, events=5)
    final = ContactEvent.objects.get(contact=contact, event="ended")

    run = retention.prune(batch_size=2)

    assert run.tables["contact events"].batches == 3
    assert not ContactEvent.objects.filter(pk=final.pk).exists()
    assert not ContactEvent.objects.exists()

    # One batch of 2 from a fresh contact: the final event is still there to find the rest.
    contact = _contact(ended_days=41, events=5)
    rule = next(
        r for r in extensions.retention_rules if r.model is ContactEvent and r.subset == "Ended"
    )
    before = retention.cutoff(rule, now=timezone.now())
    assert before is not None
    batch = list(rule.due(before, 2).values_list("event", flat=True)[:2])
    assert "ended" not in batch


def test_finished_task_results_go_after_their_period(periods: Any) -> None:
    kept = [
        _task(TaskResultStatus.SUCCESSFUL, 4),
        _task(TaskResultStatus.READY, None),
        _task(TaskResultStatus.RUNNING, None),
    ]
    _task(TaskResultStatus.SUCCESSFUL, 6)
    _task(TaskResultStatus.FAILED, 6)

    run = retention.prune()

    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {t.pk for t in kept}
    assert run.tables["task results"].rows == 2


@pytest.mark.parametrize(("rows", "size"), [(7, 3), (6, 3), (1, 5)])
def test_batches_are_bounded(service: MessagingService, periods: Any, rows: int, size: int) -> None:
    for _ in range(rows):
        _callback(service, "processed", 11)

    with CaptureQueriesContext(connection) as queries:
        run = retention.prune(batch_size=size)

    deletes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("DELETE") and "messaging_callback" in q["sql"]
    ]
    assert run.tables["callbacks received"].batches == math.ceil(rows / size)
    assert len(deletes) == math.ceil(rows / size)
    assert not Callback.objects.exists()


def test_dry_run_changes_nothing_and_prints_counts(
    service: MessagingService, integration: Integration, periods: Any
) -> None:
    _callback(service, "processed", 11)
    _callback(service, "failed", 21)
    _callback(service, "processed", 1)
    contact = _contact(ended_days=41)
    _delivery(integration, _contact(ended_days=None), "succeeded", 21)
    _task(TaskResultStatus.SUCCESSFUL, 6)
    out = StringIO()

    call_command("prune", "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        "home page hourly counts: would remove 0",
        "deliveries: would remove 1",
        "setup doctor runs: would remove 0",
        "callbacks received: would remove 2",
        "contact events: would remove 3",
        "audit entries: would remove 0",
        "task results: would remove 1",
        "Counts are what is due now; a real run may remove more, as removing one kind "
        "(deliveries) frees rows that refer to it (their contacts' events).",
    ]
    assert Callback.objects.count() == 3
    assert Delivery.objects.count() == 1
    assert ContactEvent.objects.filter(contact=contact).count() == 3
    assert DBTaskResult.objects.count() == 1


def test_prune_command_removes_what_is_due_and_says_so(
    service: MessagingService, settings: Any
) -> None:
    settings.DELIVERIES_RETENTION_DAYS = 0
    _callback(service, "processed", 31)
    _callback(service, "processed", 31)
    _callback(service, "processed", 31)
    out = StringIO()

    call_command("prune", "--batch-size", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert "callbacks received: removed 3 in 2 batches" in lines
    assert "deliveries: kept for ever" in lines
    assert not Callback.objects.exists()


def test_prune_command_refuses_a_batch_size_below_one() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--batch-size"):
        call_command("prune", "--batch-size", "0", stdout=StringIO())


@pytest.mark.django_db(transaction=True)  # the housekeeper closes connections as workers do
def test_the_workers_prune_on_their_own(service: MessagingService, settings: Any) -> None:
    jobs = {job.name: job for job in extensions.housekeeping_jobs}
    assert "prune" in jobs
    settings.PRUNE_INTERVAL_SECONDS = 1800
    assert jobs["prune"].interval() == 1800
    _callback(service, "processed", 31)
    kept = _callback(service, "processed", 29)

    housekeeping.Housekeeper(jobs=[jobs["prune"]], clock=lambda: 0.0).run_due()

    assert list(Callback.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.parametrize(
    ("run_seconds", "stale_seconds"), [(0, 120), (60, 0)], ids=["own budget", "heartbeat's"]
)
def test_a_run_out_of_time_stops_and_comes_back_sooner(
    service: MessagingService, settings: Any, run_seconds: int, stale_seconds: int
) -> None:
    settings.PRUNE_RUN_SECONDS = run_seconds
    settings.WORKER_STALE_SECONDS = stale_seconds
    settings.PRUNE_INTERVAL_SECONDS = 3600
    _callback(service, "processed", 31)

    run = retention.prune_job()

    assert run.stopped_early
    assert Callback.objects.count() == 1
    assert retention.prune_interval() == 1.0

    settings.PRUNE_RUN_SECONDS = 60
    settings.WORKER_STALE_SECONDS = 120
    assert not retention.prune_job().stopped_early
    assert retention.prune_interval() == 3600
    assert not Callback.objects.exists()


def test_a_negative_period_is_refused_at_start(settings: Any) -> None:
    settings.DELIVERIES_RETENTION_DAYS = -1

    errors = retention.check_settings()

    assert [e.id for e in errors] == ["configurator.E101"]
    assert "DELIVERIES_RETENTION_DAYS" in errors[0].msg
    assert all(isinstance(e, checks.Error) for e in errors)


def test_admin_lists_say_how_long_rows_are_kept(admin_client_: Client, settings: Any) -> None:
    settings.CALLBACKS_RETENTION_DAYS = 30
    settings.DELIVERIES_RETENTION_DAYS = 7

    callbacks = admin_client_.get("/admin/messaging/callback/").content.decode()
    deliveries = admin_client_.get("/admin/integrations/delivery/").content.decode()

    assert (
        "Callbacks received are kept 30 days (failed ones 30 days); older ones are removed by "
        "the workers." in callbacks
    )
    assert (
        "Deliveries are kept 7 days (failed ones 30 days); older ones are removed by the workers."
        in deliveries
    )


def test_admin_list_says_kept_for_ever(admin_client_: Client, settings: Any) -> None:
    settings.CALLBACKS_RETENTION_DAYS = 0

    html = admin_client_.get("/admin/messaging/callback/").content.decode()

    assert "Callbacks received are kept for ever (failed ones for ever)." in html


def test_setup_doctor_runs_go_after_the_period_but_each_service_s_last(
    service: MessagingService, periods: Any
) -> None:
    other = make_service(app_id="01RETENTIONOTHER")
    now = timezone.now()
    old = DoctorRun.objects.create(service=service, ran_at=now - timedelta(days=40))
    last = DoctorRun.objects.create(service=service, ran_at=now - timedelta(days=35))
    alone = DoctorRun.objects.create(service=other, ran_at=now - timedelta(days=90))
    recent = DoctorRun.objects.create(service=other, ran_at=now - timedelta(days=1))

    call_command("prune", stdout=StringIO())

    kept = set(DoctorRun.objects.values_list("pk", flat=True))
    assert old.pk not in kept and alone.pk not in kept
    assert {last.pk, recent.pk} <= kept
