"""Outbound chats under real concurrency on the suite's database: starts to the same customer at
the same moment (the first holds the customer's thread while Sinch answers, so the second is
refused before anything goes out and the customer gets one message), and a reply that arrives
as its chat closes (it opens an inbound conversation rather than joining the closed chat)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from conversations import services
from conversations.models import ChatStartClaim, Contact
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import make_agent, make_service
from tests.fakesinch import FakeSinch
from tests.sinch import fixture_body, post_callback
from tests.workers import wait_until

APP = "01E4556565565ERKYO"
BODY = {
    "direction": "outbound",
    "app_id": APP,
    "channel": "WHATSAPP",
    "text": "",
    "template": {"name": "order_update", "language": "en_US"},
}


@pytest.mark.django_db(transaction=True)
def test_a_second_start_while_the_first_is_sending_is_refused_before_anything_goes_out(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    make_service(app_id=APP)
    agent = make_agent("Alice")
    # Sinch takes its time with the first message: the second start comes meanwhile.
    fake_sinch.script_send(200, {"message_id": "01SLOWFIRSTMESSAGE0000001"}, delay=3)
    answers: dict[str, Any] = {}

    def first() -> None:
        client = APIClient()
        client.credentials(**api._credentials)  # type: ignore[attr-defined]
        try:
            answers["first"] = client.post(
                "/api/v1/contacts/",
                {**BODY, "agent": agent.pk, "identity": "+46709876543"},
                format="json",
            )
        finally:
            connection.close()

    sending = threading.Thread(target=first)
    sending.start()
    try:
        wait_until(lambda: len(fake_sinch.sends) == 1, 30, "the first start sending")
        second = api.post(
            "/api/v1/contacts/",
            {**BODY, "agent": agent.pk, "identity": "46 709 876 543"},
            format="json",
        )
    finally:
        sending.join(60)

    assert second.status_code == 400, second.json()
    assert "being started right now" in second.json()["identity"][0]
    assert answers["first"].status_code == 201, answers["first"].json()
    assert len(fake_sinch.sends) == 1
    assert Contact.objects.count() == 1
    assert ChatStartClaim.objects.count() == 0  # released once the contact holds the thread


@pytest.mark.django_db(transaction=True)
def test_a_claim_left_by_a_dead_process_is_taken_over_and_a_refusal_releases_its_own(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    make_service(app_id=APP)
    agent = make_agent("Alice")
    ChatStartClaim.objects.create(
        sinch_app_id=APP,
        thread_key="identity:WHATSAPP:46709876543",
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    fake_sinch.script_send(400, {"error": {"code": 400, "message": "Invalid", "status": "X"}})

    refused = api.post(
        "/api/v1/contacts/", {**BODY, "agent": agent.pk, "identity": "46709876543"}, format="json"
    )
    started = api.post(
        "/api/v1/contacts/", {**BODY, "agent": agent.pk, "identity": "46709876543"}, format="json"
    )

    assert refused.status_code == 502
    assert started.status_code == 201, started.json()
    assert ChatStartClaim.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reply_arriving_as_its_chat_closes_opens_an_inbound_conversation_instead(
    api: APIClient, client: Client, service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    started = api.post(
        "/api/v1/contacts/", {**BODY, "agent": agent.pk, "identity": "46709876543"}, format="json"
    )
    chat = Contact.objects.get(pk=started.json()["id"])
    body = fixture_body(
        "message_inbound",
        message__id="01HMSGREPLYASITCLOSES000001",
        message__conversation_id="01FJREPLYCONVERSATION00001",
        message__channel_identity={"channel": "WHATSAPP", "identity": "46709876543", "app_id": ""},
        message__contact_message={"text_message": {"text": "Yes, still there?"}},
    )
    assert post_callback(client, service.pk, body).status_code == 200

    def process() -> None:
        try:
            callbacks_process_pending()
        finally:
            connection.close()

    worker = threading.Thread(target=process)
    with transaction.atomic():
        # The agent is closing the chat (its row locked) when the worker takes the reply.
        services.contact_abandon(contact=chat)
        worker.start()
        wait_until(_someone_waits_on_a_lock, 30, "the worker waiting on the chat's row")
    worker.join(60)

    callback = Callback.objects.get()
    assert callback.status == "processed", callback.status_reason
    assert not chat.messages.filter(direction="inbound").exists()
    inbound = Contact.objects.exclude(pk=chat.pk).get()
    assert (inbound.direction, inbound.queue_id) == ("inbound", queue.pk)
    assert inbound.messages.get().text == "Yes, still there?"


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        (waiting,) = cursor.fetchone()
    return bool(waiting)
