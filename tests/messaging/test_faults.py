"""Workers that hang on an endpoint or are killed mid-work: nothing locked, nothing stuck.

Real `db_worker` processes on the test database (PostgreSQL in CI, the SQLite file locally),
killed with SIGKILL; the endpoints are a real HTTPS server on 127.0.0.1 that holds its answer
until the test releases it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trustme
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from configurator.models import WorkerHeartbeat
from configurator.workers import STOPPED_WORKER_ERROR
from conversations import services as conversation_services
from conversations.models import Contact, ContactEvent
from integrations.models import Delivery
from messaging.models import Callback, MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue, make_service
from tests.httpsink import HttpsSink, SinkAnswer
from tests.sinch import fixture_body, post_callback
from tests.workers import kill, start_worker, wait_until, workers

APP = "01E4556565565ERKYO"
# Short leases and sweeps, so that take-overs happen within the test.
FAST = {"WORK_LEASE_SECONDS": "3", "WORK_SWEEP_SECONDS": "1", "WORKER_STALE_SECONDS": "3"}


def _message(n: int) -> bytes:
    """A MESSAGE_INBOUND that opens conversation number `n`."""
    return fixture_body(
        "message_inbound",
        message__id=f"01HMSGFAULT{n:015d}",
        message__conversation_id=f"01HCONVFAULT{n:014d}",
        message__contact_id=f"01HCONTFAULT{n:014d}",
        message__channel_identity__identity=f"4670{n:07d}",
    )


def _router(sink: HttpsSink, queue: Queue) -> None:
    """A blocking Received integration that sets the priority."""
    make_integration(
        "router",
        queues=[queue],
        endpoint_url=f"{sink.url}/route",
        events=["received"],
        configuration={
            "request": {"method": "GET", "timeout": 20},
            "response": {"set": {"priority": "{response.body.priority}"}},
        },
    )


def _long_transactions() -> list[tuple[Any, ...]]:
    """Locks held by other backends whose transaction has been open for over a second."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.locktype, l.relation::regclass::text, l.mode, a.state, a.query
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.datname = current_database() AND l.pid <> pg_backend_pid()
              AND a.xact_start < now() - interval '1 second'
            """
        )
        return list(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_callbacks_are_answered_while_a_received_integration_hangs(
    client: Client, https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    service = make_service(app_id=APP)
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    _router(https_sink, queue)
    release = threading.Event()
    https_sink.answer(SinkAnswer(body={"priority": 7}, delay=30, hold=release))
    https_sink.default = SinkAnswer(body={"priority": 3})
    try:
        with workers() as started:
            started.append(start_worker("hang-1", INTEGRATIONS_CA_BUNDLE=str(sink_ca[1])))
            assert post_callback(client, service.pk, _message(0)).status_code == 200
            https_sink.wait_for(1, timeout=60)  # the worker now waits on the endpoint
            # The first conversation is visible meanwhile: received, in no queue yet.
            first = Contact.objects.get()
            assert (first.state, first.queue_id) == ("received", None)

            answers = [
                post_callback(client, service.pk, _message(n)).status_code for n in (1, 2, 3)
            ]
            # Still hanging: the first conversation's blocking call has not been recorded yet.
            assert not Delivery.objects.filter(contact=first).exists()
            assert answers == [200, 200, 200]
            # The worker's other threads route the other conversations meanwhile.
            wait_until(
                lambda: Contact.objects.filter(state="queued").count() == 3,
                60,
                "queueing the other conversations while the first one's endpoint hangs",
            )
            if connection.vendor == "postgresql":
                threading.Event().wait(1.5)
                assert not Delivery.objects.filter(contact=first).exists()
                assert _long_transactions() == []
            release.set()
            wait_until(
                lambda: not Callback.objects.filter(status="pending").exists(),
                60,
                "processing every callback",
            )
    finally:
        release.set()
    assert set(Callback.objects.values_list("status", flat=True)) == {"processed"}
    assert list(Contact.objects.values_list("state", flat=True)) == ["queued"] * 4
    first.refresh_from_db()
    assert first.priority == 7
    assert (
        sorted(Contact.objects.exclude(pk=first.pk).values_list("priority", flat=True)) == [3] * 3
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_nothing_stuck_or_doubled(
    client: Client, https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    service = make_service(app_id=APP)
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    _router(https_sink, queue)
    release = threading.Event()
    https_sink.answer(SinkAnswer(body={"priority": 9}, delay=30, hold=release))
    https_sink.default = SinkAnswer(body={"priority": 4})
    environment = {**FAST, "INTEGRATIONS_CA_BUNDLE": str(sink_ca[1])}
    try:
        with workers() as started:
            for n in range(5):
                assert post_callback(client, service.pk, _message(n)).status_code == 200
            first = start_worker("doomed", **environment)
            started.append(first)
            https_sink.wait_for(1, timeout=60)  # mid-batch: waiting on the first callback's call
            kill(first)
            release.set()
            started.append(start_worker("survivor", **environment))
            wait_until(
                lambda: not Callback.objects.filter(status="pending").exists(),
                60,
                "the take-over of every callback",
            )
            wait_until(
                lambda: not DBTaskResult.objects.filter(status="RUNNING").exists(),
                30,
                "finishing the stopped worker's task row",
            )
    finally:
        release.set()
    callbacks = list(Callback.objects.order_by("id"))
    assert [c.status for c in callbacks] == ["processed"] * 5
    # Every conversation once; each message once; all of them queued.
    assert Contact.objects.count() == 5
    assert sorted(Contact.objects.values_list("state", flat=True)) == ["queued"] * 5
    assert ContactEvent.objects.filter(event="queued").count() == 5
    taken = [c for c in callbacks if c.takeovers]
    assert taken, "the survivor took over the stopped worker's claims"
    assert all("taken over from worker doomed" in c.status_reason for c in taken)
    # The task row the doomed worker was running when it died is finished, not left RUNNING.
    stopped = [r for r in DBTaskResult.objects.all() if str(r.worker_ids[-1]).startswith("doomed")]
    unfinished = [r for r in stopped if r.status != "SUCCESSFUL"]
    assert unfinished
    assert {(r.status, r.exception_class_path) for r in unfinished} == {
        ("FAILED", STOPPED_WORKER_ERROR)
    }


@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_was_killed_mid_send_is_sent_again(
    https_sink: HttpsSink, sink_ca: tuple[trustme.CA, Path]
) -> None:
    make_service(app_id=APP)
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    make_integration(
        "listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["ended"],
        configuration={"request": {"method": "POST", "body": {"event": "{event}"}, "timeout": 20}},
    )
    release = threading.Event()
    https_sink.answer(SinkAnswer(delay=30, hold=release))
    contact = make_contact(queue)
    for action in ("allocate", "accept", "end"):
        contact = _act(contact, action)
    first_attempt = Delivery.objects.get()
    environment = {**FAST, "INTEGRATIONS_CA_BUNDLE": str(sink_ca[1])}
    try:
        with workers() as started:
            doomed = start_worker("doomed", **environment)
            started.append(doomed)
            https_sink.wait_for(1, timeout=60)
            first_attempt.refresh_from_db()
            assert first_attempt.status == "sending"
            assert first_attempt.claimed_by.startswith("doomed#")  # one of its threads
            kill(doomed)
            release.set()
            started.append(start_worker("survivor", **environment))
            wait_until(
                lambda: Delivery.objects.filter(status="succeeded").exists(),
                60,
                "the delivery sent again",
            )
    finally:
        release.set()
    first_attempt.refresh_from_db()
    assert first_attempt.status == "retrying"
    assert "taken over from worker doomed" in first_attempt.error
    second = Delivery.objects.get(previous=first_attempt)
    assert (second.attempt, second.status) == (2, "succeeded")
    assert not Delivery.objects.filter(status__in=["pending", "sending"]).exists()


def _act(contact: Contact, action: str) -> Contact:
    if action == "allocate":
        return conversation_services.contact_allocate(contact=contact, agent=make_agent())
    if action == "accept":
        return conversation_services.contact_accept(contact=contact)
    return conversation_services.contact_end(contact=contact)


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_late_in_a_batch_a_callback_taken_over_meanwhile_is_left_to_its_new_worker(
    client: Client, settings: Any
) -> None:
    from messaging.webhooks import processing

    service = make_service(app_id="01E4556565565ERKYZ")
    make_queue("Z", ["01E4556565565ERKYZ@whatsapp"])
    for n in (1, 2):
        body = fixture_body(
            "message_inbound",
            app_id="01E4556565565ERKYZ",
            message__id=f"01HMSGLATE{n:016d}",
            message__conversation_id=f"01HCONVLATE{n:015d}",
        )
        assert post_callback(client, service.pk, body).status_code == 200
    batch = processing.callbacks_claim(limit=10)
    assert len(batch) == 2
    Callback.objects.filter(pk=batch[1].pk).update(claimed_by="another")
    settings.WORK_LEASE_SECONDS = 0  # every claim is "late": renewed before each callback
    processing._process_claimed(batch)
    first, second = (Callback.objects.get(pk=c.pk) for c in batch)
    assert first.status == "processed"
    assert (second.status, second.claimed_by, second.attempts) == ("pending", "another", 1)


def test_a_lease_shorter_than_a_callbacks_calls_is_a_warning(settings: Any) -> None:
    from messaging.webhooks.processing import check_lease

    assert check_lease() == []
    settings.WORK_LEASE_SECONDS = 100
    assert [m.id for m in check_lease()] == ["messaging.W001"]


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_a_deadlock_is_tried_again_not_a_lost_message(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from django.db import OperationalError

    from messaging.webhooks import handlers
    from messaging.webhooks.processing import callbacks_process_pending

    service = MessagingService.objects.get()
    original = handlers.HANDLERS["MESSAGE_INBOUND"]
    calls: list[int] = []

    def deadlocked_once(callback: Callback, payload: dict[str, Any]) -> Any:
        calls.append(callback.pk)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()
        return original(callback, payload)

    monkeypatch.setitem(handlers.HANDLERS, "MESSAGE_INBOUND", deadlocked_once)
    assert post_callback(client, service.pk, _message(1)).status_code == 200
    assert callbacks_process_pending() == 1
    callback = Callback.objects.get()
    assert (callback.status, callback.attempts) == ("processed", 2)
    assert Contact.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_a_threaded_worker_cleanly() -> None:
    import signal

    with workers() as started:
        worker = start_worker("polite")
        started.append(worker)
        wait_until(
            lambda: (
                "polite" in "".join(WorkerHeartbeat.objects.values_list("worker_id", flat=True))
            ),
            30,
            "the worker's first heartbeat",
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "finishing the tasks in hand" in output


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_a_sinch_retry_racing_the_original_leaves_it_to_its_worker(client: Client) -> None:
    from django.utils import timezone

    from messaging.webhooks.processing import callbacks_process_pending

    service = MessagingService.objects.get()
    for _ in range(2):  # the original and Sinch's retry of it (a new nonce)
        assert post_callback(client, service.pk, _message(7)).status_code == 200
    original, retry = Callback.objects.order_by("id")
    # Another worker is processing the original (its Received integrations are under way).
    Callback.objects.filter(pk=original.pk).update(claimed_by="busy#0", claimed_at=timezone.now())
    assert callbacks_process_pending() == 1
    retry.refresh_from_db()
    assert (retry.status, retry.status_reason) == (
        "ignored",
        f"duplicate of callback #{original.pk} (Sinch retry), which a worker is processing",
    )
    assert not Contact.objects.exists()  # nothing done twice, nothing queued early


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_a_callback_that_keeps_stopping_its_workers_is_failed_after_its_attempts(
    client: Client, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from messaging.webhooks import processing

    service = MessagingService.objects.get()
    assert post_callback(client, service.pk, _message(8)).status_code == 200
    long_ago = timezone.now() - timedelta(seconds=settings.WORK_LEASE_SECONDS + 1)
    for attempt in range(1, processing.CALLBACK_MAX_ATTEMPTS + 1):
        (claimed,) = processing.callbacks_claim(limit=5)  # ... and its worker dies
        assert claimed.attempts == attempt
        if attempt > 1:
            assert claimed.status_reason.startswith(f"attempt {attempt}: taken over from worker")
        Callback.objects.filter(pk=claimed.pk).update(claimed_at=long_ago)
    assert processing.callbacks_claim(limit=5) == []
    callback = Callback.objects.get()
    assert callback.status == "failed"
    assert callback.status_reason.startswith("its processing stopped 5 workers")


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_process_again_leaves_a_callback_a_worker_is_processing_to_that_worker(
    client: Client,
) -> None:
    from django.utils import timezone

    from messaging import services as messaging_services

    service = MessagingService.objects.get()
    assert post_callback(client, service.pk, _message(9)).status_code == 200
    callback = Callback.objects.get()
    Callback.objects.filter(pk=callback.pk).update(claimed_by="busy#0", claimed_at=timezone.now())
    assert (
        messaging_services.callbacks_reprocess(
            selection=Callback.objects.filter(pk=callback.pk)
        ).done
        == 0
    )
    callback.refresh_from_db()
    assert callback.claimed_by == "busy#0"


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_a_deadlock_between_received_and_queued_still_queues_the_conversation(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from django.db import OperationalError

    from conversations import services as conversation_services
    from messaging.webhooks.processing import callbacks_process_pending

    original = conversation_services._queue_received
    calls: list[int] = []

    def deadlocked_once(contact: Contact, routed: Any, **kwargs: Any) -> Contact:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()
        return original(contact, routed, **kwargs)

    monkeypatch.setattr(conversation_services, "_queue_received", deadlocked_once)
    service = MessagingService.objects.get()
    assert post_callback(client, service.pk, _message(11)).status_code == 200
    callbacks_process_pending()
    callback = Callback.objects.get()
    assert (callback.status, callback.attempts) == ("processed", 2)
    contact = Contact.objects.get()
    assert contact.state == "queued"
    assert "queued on a later attempt" in contact.events.latest("id").detail


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_process_again_queues_a_conversation_a_failed_attempt_left_received(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conversations import services as conversation_services
    from messaging import services as messaging_services
    from messaging.webhooks.processing import callbacks_process_pending

    original = conversation_services._queue_received

    def broken(contact: Contact, routed: Any, **kwargs: Any) -> Contact:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(conversation_services, "_queue_received", broken)
    service = MessagingService.objects.get()
    assert post_callback(client, service.pk, _message(12)).status_code == 200
    callbacks_process_pending()
    callback = Callback.objects.get()
    assert callback.status == "failed"
    assert Contact.objects.get().state == "received"

    monkeypatch.setattr(conversation_services, "_queue_received", original)  # fixed
    assert (
        messaging_services.callbacks_reprocess(
            selection=Callback.objects.filter(pk=callback.pk)
        ).done
        == 1
    )
    callbacks_process_pending()
    callback.refresh_from_db()
    assert callback.status == "processed"
    assert Contact.objects.get().state == "queued"
