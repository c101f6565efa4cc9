"""The simulator with a real worker: a simulated message becomes a queued conversation, an
integration fires for it, and a reply is answered DELIVERED, then READ, by the sandbox's tasks
through the signed webhook path, all by a `db_worker` process; Sinch hears nothing."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trustme
from rest_framework.test import APIClient

from conversations.models import Contact, Message
from integrations.models import Delivery
from messaging.models import Callback
from tests.factories import make_integration, make_queue, make_service
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink
from tests.workers import start_worker, wait_until, workers

APP = "01E4556565565ERKYO"


@pytest.mark.django_db(transaction=True)
def test_a_worker_queues_a_simulated_conversation_and_the_sandbox_answers_its_reply(
    api: APIClient,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
    sink_ca: tuple[trustme.CA, Path],
) -> None:
    service = make_service(app_id=APP)
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    make_integration(
        "Queued listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
        configuration={"request": {"method": "POST", "body": {"contact": "{contact.source}"}}},
    )
    with workers() as started:
        worker = start_worker(
            "simulator",
            INTEGRATIONS_CA_BUNDLE=str(sink_ca[1]),
            # Whatever the worker might send to Sinch would reach the fake and be recorded.
            SINCH_API_ORIGIN=fake_sinch.origin,
            SINCH_OAUTH_TOKEN_URL=fake_sinch.token_url,
        )
        started.append(worker)
        sent = api.post(
            f"/api/v1/messaging-services/{service.pk}/simulate/",
            {"text": "Where is my order?", "identity": "46700000123"},
            format="json",
        )
        assert sent.status_code == 202, sent.content
        wait_until(
            lambda: Contact.objects.filter(state="queued", queue=queue).exists(),
            60,
            "the simulated conversation's queueing",
        )
        contact = Contact.objects.get()
        assert contact.simulated and contact.source == "46700000123"
        wait_until(lambda: Delivery.objects.filter(status="succeeded").exists(), 60, "delivery")

        reply = api.post(
            f"/api/v1/contacts/{contact.pk}/messages/", {"text": "Let me look"}, format="json"
        )
        assert reply.status_code == 201, reply.content
        message = Message.objects.get(direction="outbound")
        wait_until(
            lambda: Message.objects.filter(pk=message.pk, status="read").exists(),
            60,
            "the sandbox's READ report",
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)

    inbound = Callback.objects.get(pk=sent.json()["callback"])
    assert inbound.simulated and inbound.status == "processed", output
    assert inbound.claimed_by.startswith("simulator")
    reports = Callback.objects.filter(trigger="MESSAGE_DELIVERY").order_by("id")
    assert [(r.summary["status"], r.summary["message_status"]) for r in reports] == [
        ("DELIVERED", "delivered"),
        ("READ", "read"),
    ], output
    assert all(r.simulated and r.claimed_by.startswith("simulator") for r in reports)
    assert list(Delivery.objects.values_list("simulated", flat=True)) == [True]
    assert [r.json for r in https_sink.requests] == [{"contact": "46700000123"}]
    assert fake_sinch.requests == []
