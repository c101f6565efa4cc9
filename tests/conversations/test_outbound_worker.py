"""The connect timeout with real `db_worker` processes: an outbound chat nothing was delivered for
is abandoned at OUTBOUND_CONNECT_TIMEOUT although the worker running when it started was
killed, the outbound listener hears Abandoned from the worker, and a chat whose message was
delivered in time stays connected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme
from django.test import Client
from rest_framework.test import APIClient

from configurator.models import WorkerHeartbeat
from conversations.models import Contact
from integrations.models import Delivery
from messaging.webhooks.processing import callbacks_process_pending
from tests.factories import make_agent, make_integration, make_service
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink
from tests.sinch import fixture_body, post_callback
from tests.taskrunner import run_ready_tasks
from tests.workers import kill, start_worker, wait_until, workers

APP = "01E4556565565ERKYO"
# Long enough for a worker to start on a busy machine before the first chat is due.
TIMEOUT = 10


@pytest.mark.django_db(transaction=True)
def test_a_restarted_worker_abandons_the_chat_nobody_was_reached_for_and_the_listener_hears_it(
    api: APIClient,
    client: Client,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
    sink_ca: tuple[trustme.CA, Path],
    settings: Any,
) -> None:
    settings.OUTBOUND_CONNECT_TIMEOUT = TIMEOUT
    service = make_service(app_id=APP)
    agent = make_agent("Alice")
    make_integration(
        "Outbound listener",
        endpoint_url=f"{https_sink.url}/events/{{event}}",
        direction="outbound",
        events=["accepted", "abandoned"],
        direct_chats=True,
        configuration={"request": {"method": "POST", "body": {"contact": "{contact.id}"}}},
    )
    environment = {
        "OUTBOUND_CONNECT_TIMEOUT": str(TIMEOUT),
        "INTEGRATIONS_CA_BUNDLE": str(sink_ca[1]),
        "SINCH_API_ORIGIN": fake_sinch.origin,
        "SINCH_OAUTH_TOKEN_URL": fake_sinch.token_url,
    }
    body = {"direction": "outbound", "app_id": APP, "channel": "MESSENGER", "text": "Hello"}
    unreached = api.post(
        "/api/v1/contacts/", {**body, "agent": agent.pk, "identity": "46700000001"}, format="json"
    )
    reached = api.post(
        "/api/v1/contacts/", {**body, "agent": agent.pk, "identity": "46700000002"}, format="json"
    )
    assert unreached.status_code == reached.status_code == 201, unreached.content
    # The other chat's message is delivered at once (this process's worker code).
    report = fixture_body(
        "message_delivery",
        message_delivery_report__message_id=reached.json()["first_message"]["sinch_message_id"],
        message_delivery_report__channel_identity={
            "channel": "MESSENGER",
            "identity": "46700000002",
            "app_id": "",
        },
    )
    assert post_callback(client, service.pk, report).status_code == 200
    callbacks_process_pending()
    assert Contact.objects.get(pk=reached.json()["id"]).state == "accepted"
    run_ready_tasks()  # its Accepted delivery (the timeout's task is not due yet)
    assert [r.path for r in https_sink.wait_for(1)] == ["/events/accepted"]
    with workers() as started:
        first = start_worker("outbound-a", **environment)
        started.append(first)
        wait_until(
            lambda: WorkerHeartbeat.objects.filter(worker_id__startswith="outbound-a").exists(),
            TIMEOUT,
            "the first worker's start",
        )
        # The worker goes before the timeout is due; the one started after it takes over.
        kill(first)
        assert Contact.objects.get(pk=unreached.json()["id"]).state == "allocated"
        started.append(start_worker("outbound-b", **environment))
        wait_until(
            lambda: Contact.objects.filter(pk=unreached.json()["id"], state="abandoned").exists(),
            60,
            "the unreached chat's Abandoned",
        )
        wait_until(
            lambda: Delivery.objects.filter(event="abandoned", status="succeeded").exists(),
            60,
            "the listener's delivery of Abandoned",
        )
        https_sink.wait_for(2)

    contact = Contact.objects.get(pk=unreached.json()["id"])
    assert "timeout" in contact.events.get(event="abandoned").detail
    assert Contact.objects.get(pk=reached.json()["id"]).state == "accepted"
    paths = sorted(r.path for r in https_sink.requests)
    assert paths == ["/events/abandoned", "/events/accepted"]
    assert {r.json["contact"] for r in https_sink.requests} == {
        reached.json()["id"],
        unreached.json()["id"],
    }
