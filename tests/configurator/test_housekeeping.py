"""The workers' periodic jobs: run when due, fail alone, sweep what a stopped worker left."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from configurator import extensions, housekeeping, workers
from configurator.models import WorkerHeartbeat
from integrations import dispatch as integration_dispatch
from integrations.models import Delivery, Integration
from messaging.models import Callback, MessagingService
from messaging.wake import callbacks_sweep, process_callbacks
from queues.models import Queue
from tests.factories import make_contact, make_integration
from tests.sinch import fixture_body


@pytest.mark.django_db  # the housekeeper closes broken connections after each job
def test_jobs_run_at_start_then_on_their_interval_and_fail_alone() -> None:
    now = [0.0]
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("boom")

    keeper = housekeeping.Housekeeper(
        [
            housekeeping.Job("broken", broken, lambda: 5.0),
            housekeeping.Job("beat", lambda: ran.append("beat"), lambda: 1.0),
        ],
        clock=lambda: now[0],
    )
    assert keeper.run_due() == 1.0
    assert ran == ["broken", "beat"]
    now[0] = 1.0
    keeper.run_due()
    assert ran == ["broken", "beat", "beat"]
    now[0] = 5.0
    keeper.run_due()
    assert ran == ["broken", "beat", "beat", "broken", "beat"]


def test_every_app_registers_its_sweeps() -> None:
    names = {job.name for job in extensions.housekeeping_jobs}
    assert {"heartbeat", "stale task rows", "callbacks sweep", "deliveries sweep"} <= names


@pytest.mark.django_db
def test_task_rows_of_a_stopped_worker_are_finished(settings: Any) -> None:
    settings.WORKER_STALE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(
        worker_id="alive", hostname="h", pid=1, started_at=long_ago, seen_at=timezone.now()
    )
    for worker in ("alive", "gone"):
        result = process_callbacks.enqueue()
        DBTaskResult.objects.filter(pk=result.id).update(
            status="RUNNING", started_at=long_ago, worker_ids=[worker]
        )
    assert workers.stale_tasks_finish() == 1
    rows = {r.worker_ids[0]: r for r in DBTaskResult.objects.all()}
    assert rows["alive"].status == "RUNNING"
    assert rows["gone"].status == "FAILED"
    assert rows["gone"].exception_class_path == workers.STOPPED_WORKER_ERROR


@pytest.mark.django_db
def test_heartbeat_is_one_row_per_worker() -> None:
    workers.heartbeat()
    workers.heartbeat()
    assert WorkerHeartbeat.objects.get().worker_id == housekeeping.worker_id()


def _callback(service: MessagingService, **fields: Any) -> Callback:
    return Callback.objects.create(
        service=service,
        trigger="MESSAGE_INBOUND",
        app_id="01E4556565565ERKYO",
        nonce=f"n-{Callback.objects.count()}",
        signed_at=timezone.now(),
        raw_body=fixture_body("message_inbound"),
        dedupe_key="k",
        **fields,
    )


@pytest.mark.django_db
def test_callbacks_sweep_wakes_for_unclaimed_and_expired_claims_only(
    service: MessagingService, settings: Any
) -> None:
    settings.WORK_LEASE_SECONDS = 60
    held = _callback(service, claimed_by="w", claimed_at=timezone.now())
    assert callbacks_sweep() is False  # a live claim: its worker is on it
    Callback.objects.filter(pk=held.pk).update(claimed_at=timezone.now() - timedelta(minutes=2))
    assert callbacks_sweep() is True
    assert DBTaskResult.objects.filter(task_path__endswith="process_callbacks").count() == 1


def _sending(queue: Queue, integration: Integration, **fields: Any) -> Delivery:
    make_contact(queue)
    delivery = Delivery.objects.filter(integration=integration).latest("id")
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending",
        claimed_by="gone",
        claimed_at=timezone.now() - timedelta(minutes=10),
        **fields,
    )
    return delivery


@pytest.mark.django_db
def test_deliveries_sweep_sends_again_or_fails_what_a_stopped_worker_held(
    queue: Queue, settings: Any
) -> None:
    settings.WORK_LEASE_SECONDS = 60
    settings.INTEGRATIONS_MAX_ATTEMPTS = 2
    integration = make_integration(queues=[queue], events=["queued"])
    retried = _sending(queue, integration)
    used_up = _sending(queue, integration, attempt=2)
    assert integration_dispatch.deliveries_sweep() == 2
    retried.refresh_from_db()
    used_up.refresh_from_db()
    assert retried.status == "retrying"
    assert retried.error.startswith("attempt 1: taken over from worker gone")
    assert Delivery.objects.get(previous=retried).status == "pending"
    assert used_up.status == "failed"
    integration.refresh_from_db()
    assert integration.consecutive_failures == 1


@pytest.mark.django_db
def test_deliveries_sweep_enqueues_pending_ones_whose_task_was_lost(
    queue: Queue, settings: Any
) -> None:
    settings.WORK_LEASE_SECONDS = 60
    make_integration(queues=[queue], events=["queued"])
    make_contact(queue)
    delivery = Delivery.objects.get()
    DBTaskResult.objects.all().delete()  # the task went with its worker
    assert integration_dispatch.deliveries_sweep() == 0
    Delivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now() - timedelta(minutes=2))
    assert integration_dispatch.deliveries_sweep() == 1
    assert DBTaskResult.objects.get().args_kwargs["args"] == [[delivery.pk]]


@pytest.mark.django_db
def test_deliveries_sweep_leaves_overdue_deliveries_alone_while_their_tasks_wait(
    queue: Queue, settings: Any
) -> None:
    settings.WORK_LEASE_SECONDS = 60
    make_integration(queues=[queue], events=["queued"])
    make_contact(queue)  # its delivery's task is queued, the workers are just behind
    Delivery.objects.update(due_at=timezone.now() - timedelta(minutes=2))
    assert integration_dispatch.deliveries_sweep() == 0
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_task_rows_of_a_worker_restarted_under_the_same_id_are_finished(settings: Any) -> None:
    settings.WORKER_STALE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(
        worker_id="box-1",
        hostname="h",
        pid=2,
        started_at=timezone.now() - timedelta(minutes=1),  # restarted after the row started
        seen_at=timezone.now(),
    )
    result = process_callbacks.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", started_at=long_ago, worker_ids=["box-1#2"]
    )
    assert workers.stale_tasks_finish() == 1
    assert DBTaskResult.objects.get().status == "FAILED"


@pytest.mark.django_db
def test_tasks_run_in_the_order_they_became_due_callbacks_first(queue: Queue) -> None:
    """Deliveries in the order they became due (a retry with a time does not jump the queue);
    routing customers' messages goes first."""
    from configurator.tasks import enqueue_in_turn
    from integrations import tasks as integration_tasks

    first = enqueue_in_turn(integration_tasks.deliver_pending, [1])
    retry = enqueue_in_turn(integration_tasks.deliver_pending, [2], run_after=timezone.now())
    wake = enqueue_in_turn(process_callbacks)
    order = [
        str(r.pk) for r in DBTaskResult.objects.ready().order_by(*DBTaskResult._meta.ordering or ())
    ]
    assert order == [str(wake.id), str(first.id), str(retry.id)]


@pytest.mark.django_db
def test_a_task_cut_short_by_an_outage_is_finished_once_the_database_is_back() -> None:
    running = process_callbacks.enqueue()
    done = process_callbacks.enqueue()
    DBTaskResult.objects.filter(pk=running.id).update(status="RUNNING")
    DBTaskResult.objects.filter(pk=done.id).update(status="SUCCESSFUL")
    assert workers.task_interrupted(running.id)
    assert not workers.task_interrupted(done.id)
    row = DBTaskResult.objects.get(pk=running.id)
    assert (row.status, row.exception_class_path) == ("FAILED", workers.OUTAGE_ERROR)
    assert DBTaskResult.objects.get(pk=done.id).status == "SUCCESSFUL"


@pytest.mark.django_db
def test_no_heartbeat_while_the_task_loops_are_not_running() -> None:
    housekeeping.set_loops_alive(lambda: False)
    try:
        workers.heartbeat()
    finally:
        housekeeping.set_loops_alive(lambda: True)
    assert not WorkerHeartbeat.objects.exists()
    workers.heartbeat()
    workers.worker_stopped()
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db  # the housekeeper closes connections after each job
def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    away = [True]

    def query() -> None:
        if away[0]:
            raise OperationalError("connection refused")

    keeper = housekeeping.Housekeeper([housekeeping.Job("beat", query, lambda: 10.0)])
    for _ in range(3):
        assert keeper.run_due() <= 1.0  # retried within a second, not after its interval
        keeper._next.clear()
    away[0] = False
    keeper.run_due()
    keeper.run_due()
    logged = [r for r in caplog.records if r.name == "configurator.housekeeping"]
    assert [r.levelname for r in logged] == ["ERROR", "WARNING"]
    assert "database unavailable" in logged[0].getMessage() and logged[0].exc_info
    assert "reachable again" in logged[1].getMessage()
