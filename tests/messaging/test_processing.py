"""Workers turning stored callbacks into outcomes: once each, whatever happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import services
from messaging.models import Callback, MessagingService
from messaging.wake import process_callbacks
from messaging.webhooks import handlers
from messaging.webhooks.processing import callbacks_process_pending
from tests.factories import make_queue, make_service
from tests.sinch import fixture_body
from tests.workers import database_url

ROOT = Path(__file__).resolve().parents[2]


def _pending(service: MessagingService, body: bytes, nonce: str, dedupe_key: str) -> Callback:
    payload = json.loads(body)
    return Callback(
        service=service,
        trigger="MESSAGE_INBOUND" if "message" in payload else "MESSAGE_DELIVERY",
        app_id=payload["app_id"],
        nonce=nonce,
        signed_at=timezone.now(),
        raw_body=body,
        dedupe_key=dedupe_key,
    )


def _inbound(service: MessagingService, n: int) -> Callback:
    message_id = f"01HMSG{n:020d}"
    body = fixture_body("message_inbound", message__id=message_id)
    return _pending(service, body, f"nonce-{n}", f"MESSAGE_INBOUND:{message_id}")


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_duplicate_message_is_processed_once(service: MessagingService) -> None:
    first = _inbound(service, 1)
    retry = _inbound(service, 1)
    retry.nonce = "nonce-retry"
    Callback.objects.bulk_create([first, retry])
    assert callbacks_process_pending() == 2
    first.refresh_from_db()
    retry.refresh_from_db()
    assert first.status == "processed"
    assert retry.status == "ignored"
    assert retry.status_reason == f"duplicate of callback #{first.pk} (Sinch retry)"


@pytest.mark.django_db
@pytest.mark.usefixtures("sent_message")
def test_each_delivery_status_of_a_message_is_processed(service: MessagingService) -> None:
    rows = []
    for n, status in enumerate(["QUEUED_ON_CHANNEL", "DELIVERED", "READ"]):
        body = fixture_body("message_delivery", message_delivery_report__status=status)
        rows.append(_pending(service, body, f"n{n}", f"MESSAGE_DELIVERY:01HMSGOUT:{status}"))
    Callback.objects.bulk_create(rows)
    callbacks_process_pending()
    assert set(Callback.objects.values_list("status", flat=True)) == {"processed"}
    assert sorted(c.summary["status"] for c in Callback.objects.all()) == [
        "DELIVERED",
        "QUEUED_ON_CHANNEL",
        "READ",
    ]


@pytest.mark.django_db
def test_trigger_the_service_did_not_subscribe_to_is_ignored() -> None:
    service = make_service(triggers=["MESSAGE_INBOUND"])
    body = fixture_body("message_delivery")
    callback = _pending(service, body, "n", "k")
    callback.save()
    callbacks_process_pending()
    callback.refresh_from_db()
    assert callback.status == "ignored"
    assert callback.status_reason == "the messaging service is not subscribed to MESSAGE_DELIVERY"


@pytest.mark.django_db
def test_body_without_known_notification_is_ignored(service: MessagingService) -> None:
    callback = Callback.objects.create(
        service=service,
        trigger="",
        nonce="n",
        signed_at=timezone.now(),
        raw_body=b'{"app_id": "X", "something_new": {}}',
        dedupe_key="k",
    )
    callbacks_process_pending()
    callback.refresh_from_db()
    assert callback.status == "ignored"
    assert "no known notification" in callback.status_reason


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_handler_error_fails_one_callback_and_spoils_nothing_else(
    service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = _inbound(service, 1)
    broken.raw_body = fixture_body("message_inbound", message__id="")
    good = _inbound(service, 2)
    Callback.objects.bulk_create([broken, good])

    callbacks_process_pending()

    broken = Callback.objects.get(nonce="nonce-1")
    assert broken.status == "failed"
    assert broken.status_reason == "message has no id"
    assert Callback.objects.get(nonce="nonce-2").status == "processed"


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_unexpected_handler_exception_is_recorded_and_retryable(
    service: MessagingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    Callback.objects.bulk_create([_inbound(service, 1)])

    def explode(callback: Callback, payload: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("database of customers is down")

    monkeypatch.setitem(handlers.HANDLERS, "MESSAGE_INBOUND", explode)
    callbacks_process_pending()
    callback = Callback.objects.get()
    assert callback.status == "failed"
    assert callback.status_reason == "RuntimeError: database of customers is down"

    monkeypatch.undo()
    assert services.callbacks_reprocess(selection=Callback.objects.filter(pk=callback.pk)).done == 1
    callbacks_process_pending()
    callback.refresh_from_db()
    assert callback.status == "processed"
    assert callback.attempts == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_reprocessing_a_processed_callback_processes_it_again(service: MessagingService) -> None:
    Callback.objects.bulk_create([_inbound(service, 1)])
    callbacks_process_pending()
    callback = Callback.objects.get()
    services.callbacks_reprocess(selection=Callback.objects.filter(pk=callback.pk))
    callbacks_process_pending()
    callback.refresh_from_db()
    assert callback.status == "processed"
    assert callback.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_drain_a_backlog_with_no_callback_processed_twice() -> None:
    service = make_service(app_id="01E4556565565ERKYO")
    make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    backlog = 600
    Callback.objects.bulk_create([_inbound(service, n) for n in range(backlog)])
    for _ in range(4):
        process_callbacks.enqueue()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--interval",
                "0.05",
                "--worker-id",
                f"worker-{n}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in (1, 2)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    assert Callback.objects.filter(status="processed").count() == backlog
    assert set(Callback.objects.values_list("attempts", flat=True)) == {1}
    # The four wake-ups, and those the workers' sweeps added on start.
    results = DBTaskResult.objects.filter(status="SUCCESSFUL")
    assert results.count() >= 4
    assert sum(r.return_value for r in results) == backlog
