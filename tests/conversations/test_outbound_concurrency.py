"""Starts of an outbound chat to the same customer at the same moment, as real concurrent
requests on the suite's database: the first holds the customer's thread while Sinch answers, so
the second is refused before anything goes out, and the customer gets one message."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.models import ChatStartClaim, Contact
from tests.factories import make_agent, make_service
from tests.fakesinch import FakeSinch
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
