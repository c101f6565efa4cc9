"""Operator actions over big selections: resend and reprocess in bounded batches.

The request does one batch (a fixed number of queries, N or 2N rows selected) and a task walks
the rest; repeating an action schedules nothing twice. The contact page shows one row per
delivery, its latest attempt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from configurator import workers as worker_upkeep
from conversations.models import Contact, ContactEvent
from integrations import dispatch as integration_dispatch
from integrations import tasks as integration_tasks
from integrations.models import Delivery, Integration
from messaging import services as messaging_services
from messaging.models import Callback, MessagingService
from queues.models import Queue
from tests.factories import make_contact, make_integration, make_service
from tests.taskrunner import run_ready_tasks
from tests.workers import start_worker, wait_until, workers

BATCH = 5
# "Select all N" of an admin list: the browser also sends the page's ticked rows.
SELECT_ALL = {"select_across": "1", "index": "0"}


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(integration_dispatch, "RESEND_BATCH", BATCH)
    monkeypatch.setattr(integration_dispatch, "RESEND_PER_TASK", 2)
    monkeypatch.setattr(messaging_services, "REPROCESS_BATCH", BATCH)


def _paused_integration(queue: Queue) -> Integration:
    """An integration whose deliveries a worker skips at once (no network in these tests)."""
    integration = make_integration(queues=[queue], events=["queued"])
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    return integration


def _failed(integration: Integration, contact: Contact, count: int) -> list[Delivery]:
    entry = ContactEvent.objects.filter(contact=contact).latest("id")
    return Delivery.objects.bulk_create(
        Delivery(
            integration=integration,
            contact=contact,
            contact_event=entry,
            event=entry.event,
            mode="background",
            status="failed",
            error="503 Service Unavailable",
        )
        for _ in range(count)
    )


def _callbacks(service: MessagingService, count: int, status: str = "ignored") -> None:
    now = timezone.now()
    start = Callback.objects.count()
    Callback.objects.bulk_create(
        Callback(
            service=service,
            trigger="",
            nonce=f"bulk-{start + n}",
            signed_at=now,
            raw_body=b"{}",
            dedupe_key=f"bulk-{start + n}",
            status=status,
            attempts=1,
        )
        for n in range(count)
    )


def _walks(task: Any) -> int:
    return DBTaskResult.objects.filter(task_path=task.module_path).count()


def _followed_once() -> None:
    """Every failed delivery has one follower at most (the unique constraint says so too)."""
    previous = list(Delivery.objects.filter(previous__isnull=False).values_list("previous_id"))
    assert len(previous) == len(set(previous))


# -- Deliveries: admin action and API, a bounded request whatever the selection


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_send_again_with_select_all_does_the_same_queries_for_n_and_2n_rows(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    url = reverse("admin:integrations_delivery_changelist")
    counts = []
    for size in (4 * BATCH, 8 * BATCH):
        integration = _paused_integration(queue)
        _failed(integration, contact, size)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client_.post(
                f"{url}?integration__id__exact={integration.pk}&status__exact=failed",
                {**SELECT_ALL, "action": "send_again", "_selected_action": [contact.pk]},
                follow=True,
            )
        counts.append(len(queries))
        text = response.content.decode()
        assert f"{BATCH} delivery(ies) will be sent again." in text
        assert "in the background" in text
        assert Delivery.objects.filter(integration=integration, previous__isnull=False).count() == (
            BATCH
        )
    assert counts[0] == counts[1]
    assert _walks(integration_tasks.resend_walk) == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_api_resend_does_the_same_queries_for_n_and_2n_rows_and_says_more_follows(
    api: APIClient, queue: Queue
) -> None:
    contact = make_contact(queue)
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    counts = []
    for size in (4 * BATCH, 8 * BATCH):
        integration = _paused_integration(queue)
        failed = _failed(integration, contact, size)
        with CaptureQueriesContext(connection) as queries:
            response = api.post(
                f"/api/v1/integrations/{integration.pk}/resend/", {"since": since}, format="json"
            )
        counts.append(len(queries))
        assert response.status_code == 200
        assert response["Resend-Continues"] == "true"
        rows = response.json()
        assert [row["previous"] for row in rows] == [d.pk for d in failed[:BATCH]]
        assert {(row["attempt"], row["status"]) for row in rows} == {(1, "pending")}
    assert counts[0] == counts[1]


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_a_resend_walk_sends_the_whole_selection_again_once_and_a_repeat_schedules_nothing(
    admin_client_: Client, api: APIClient, queue: Queue
) -> None:
    contact = make_contact(queue)
    integration = _paused_integration(queue)
    failed = _failed(integration, contact, 3 * BATCH + 2)
    url = reverse("admin:integrations_delivery_changelist")
    action = {**SELECT_ALL, "action": "send_again", "_selected_action": [failed[0].pk]}

    admin_client_.post(f"{url}?status__exact=failed", action)
    # Asked again before the walk ran: the second request takes the next rows, not the same.
    admin_client_.post(f"{url}?status__exact=failed", action)
    run_ready_tasks()

    _followed_once()
    following = Delivery.objects.filter(previous__in=failed)
    assert following.count() == len(failed)
    assert set(following.values_list("status", flat=True)) == {"skipped"}  # paused: no call
    tasks_before = DBTaskResult.objects.count()
    again = admin_client_.post(f"{url}?status__exact=failed", action, follow=True)
    api_again = api.post(
        f"/api/v1/integrations/{integration.pk}/resend/",
        {"deliveries": [d.pk for d in failed]},
        format="json",
    )
    assert "0 delivery(ies) will be sent again." in again.content.decode()
    assert (api_again.json(), api_again.has_header("Resend-Continues")) == ([], False)
    assert DBTaskResult.objects.count() == tasks_before
    assert Delivery.objects.count() == 2 * len(failed)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_a_walk_left_running_by_a_stopped_worker_is_enqueued_again_where_it_was(
    queue: Queue, settings: Any
) -> None:
    contact = make_contact(queue)
    integration = _paused_integration(queue)
    failed = _failed(integration, contact, 2 * BATCH + 1)
    integration_dispatch.deliveries_resend(selection=Delivery.objects.all())
    walk = DBTaskResult.objects.get(task_path=integration_tasks.resend_walk.module_path)
    # A worker that is not alive any more claimed it and died mid-batch (nothing committed).
    long_ago = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS + 60)
    DBTaskResult.objects.filter(pk=walk.pk).update(
        status="RUNNING", started_at=long_ago, worker_ids=["gone:1"]
    )

    worker_upkeep.stale_tasks_finish()
    run_ready_tasks()

    walk.refresh_from_db()
    assert walk.status == "FAILED"
    _followed_once()
    assert Delivery.objects.filter(previous__in=failed).count() == len(failed)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_a_walk_cut_short_by_a_database_outage_is_enqueued_again_where_it_was(
    queue: Queue,
) -> None:
    contact = make_contact(queue)
    integration = _paused_integration(queue)
    failed = _failed(integration, contact, 2 * BATCH + 1)
    integration_dispatch.deliveries_resend(selection=Delivery.objects.all())
    walk = DBTaskResult.objects.get(task_path=integration_tasks.resend_walk.module_path)
    # Its live worker lost the database mid-batch (nothing committed) and got it back.
    DBTaskResult.objects.filter(pk=walk.pk).update(status="RUNNING", started_at=timezone.now())

    assert worker_upkeep.task_interrupted(walk.pk)
    run_ready_tasks()

    walk.refresh_from_db()
    assert (walk.status, walk.exception_class_path) == ("FAILED", worker_upkeep.OUTAGE_ERROR)
    _followed_once()
    assert Delivery.objects.filter(previous__in=failed).count() == len(failed)


# -- Callbacks


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_process_again_with_select_all_does_the_same_queries_for_n_and_2n_rows(
    admin_client_: Client,
) -> None:
    url = reverse("admin:messaging_callback_changelist")
    counts = []
    for size in (4 * BATCH, 8 * BATCH):
        service = make_service()
        _callbacks(service, size)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client_.post(
                f"{url}?service__id__exact={service.pk}&status__exact=ignored",
                {**SELECT_ALL, "action": "process_again", "_selected_action": ["1"]},
                follow=True,
            )
        counts.append(len(queries))
        text = response.content.decode()
        assert f"{BATCH} callback(s) queued for processing." in text
        assert "in the background" in text
        assert Callback.objects.filter(service=service, status="pending").count() == BATCH
    assert counts[0] == counts[1]


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_a_reprocess_walk_queues_the_whole_selection_once() -> None:
    service = make_service()
    _callbacks(service, 3 * BATCH + 2)
    _callbacks(service, 2, status="processed")  # not selected
    selection = Callback.objects.filter(status="ignored")

    first = messaging_services.callbacks_reprocess(selection=selection)
    assert (first.done, first.more) == (BATCH, True)
    # Asked again before the walk ran: pending ones are queued already, the next rows are taken.
    second = messaging_services.callbacks_reprocess(selection=Callback.objects.all())
    assert (second.done, second.more) == (BATCH, True)
    while run_ready_tasks_of(messaging_services.reprocess_walk):
        pass

    assert Callback.objects.filter(status="pending").count() == 3 * BATCH + 2 + 2
    again = messaging_services.callbacks_reprocess(selection=Callback.objects.all())
    assert (again.done, again.more) == (0, False)


def run_ready_tasks_of(task: Any) -> int:
    """Run the due walk tasks only (processing the callbacks would change their status)."""
    ran = 0
    for row in DBTaskResult.objects.ready().filter(task_path=task.module_path):
        row.claim("test-walker")
        task.call(*row.args_kwargs["args"])
        row.set_successful(None)
        ran += 1
    return ran


# -- A real worker walks the rest


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_batches")
def test_a_real_worker_completes_a_background_resend_and_reprocess(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    integration = _paused_integration(queue)
    # The request does a batch of BATCH; the worker (its own batch size) walks the rest.
    failed = _failed(integration, contact, 2 * BATCH + 2)
    service = make_service()
    count = 2 * BATCH + 2
    _callbacks(service, count)
    deliveries = reverse("admin:integrations_delivery_changelist")
    callbacks = reverse("admin:messaging_callback_changelist")
    # The page's ticked rows are sent too; "select all" makes them the whole selection.
    action = {**SELECT_ALL, "_selected_action": ["1"]}

    sent = admin_client_.post(
        f"{deliveries}?status__exact=failed", {**action, "action": "send_again"}, follow=True
    )
    queued = admin_client_.post(
        f"{callbacks}?status__exact=ignored", {**action, "action": "process_again"}, follow=True
    )
    assert "in the background" in sent.content.decode()
    assert "in the background" in queued.content.decode()

    with workers() as started:
        started.append(start_worker("bulk-walker"))
        wait_until(
            lambda: (
                Delivery.objects.filter(previous__in=failed, status="skipped").count()
                == len(failed)
            ),
            120,
            "every failed delivery sent again",
        )
        # Each was queued again once, and processed again by the worker.
        wait_until(
            lambda: Callback.objects.filter(service=service, attempts=2).count() == count,
            120,
            "every callback processed again",
        )
    _followed_once()
    assert not Callback.objects.filter(service=service, attempts__gt=2).exists()


# -- The contact page: one row per delivery


def _retried(integration: Integration, contact: Contact, attempts: int) -> Delivery:
    """A delivery that took `attempts` attempts, chained as the runtime chains them."""
    entry = ContactEvent.objects.filter(contact=contact).latest("id")
    row = None
    for attempt in range(1, attempts + 1):
        row = Delivery.objects.create(
            integration=integration,
            contact=contact,
            contact_event=entry,
            event=entry.event,
            mode="background",
            status="succeeded" if attempt == attempts else "retrying",
            attempt=attempt,
            previous=row,
        )
    assert row is not None
    return row


@pytest.mark.django_db
def test_the_contact_page_groups_each_delivery_with_its_attempts(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    integration = _paused_integration(queue)
    url = reverse("admin:conversations_contact_change", args=[contact.pk])
    counts = []
    latest = []
    for retries in (10, 20):
        latest.append(_retried(integration, contact, retries))
        admin_client_.get(url)  # the session's first use is not the page's
        with CaptureQueriesContext(connection) as queries:
            page = admin_client_.get(url)
        counts.append(len(queries))
    text = page.content.decode()

    assert counts[0] == counts[1]
    # One row per delivery (newest first), listing its attempts oldest first, numbered.
    rows = text.split('class="delivery-attempts"')[1:]
    assert len(rows) == 2
    for row, last in zip(rows, reversed(latest), strict=True):
        chain = Delivery.objects.filter(pk__gt=last.pk - last.attempt, pk__lte=last.pk)
        links = [
            reverse("admin:integrations_delivery_change", args=[d.pk]) for d in chain.order_by("pk")
        ]
        positions = [row.index(f'href="{link}"') for link in links]
        assert positions == sorted(positions)
        assert len(links) == last.attempt
        assert ">#1</a> Failed, retry scheduled" in row
        assert f">#{last.attempt}</a> Succeeded" in row
