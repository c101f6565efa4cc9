"""A signed Sinch callback through the real webhook and worker, to integrations over HTTPS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from conversations.models import Contact
from integrations.models import Delivery
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_integration, make_queue
from tests.httpsink import HttpsSink, SinkAnswer
from tests.sinch import fixture_body, post_callback
from tests.taskrunner import run_ready_tasks

pytestmark = pytest.mark.django_db

API_KEY = "e2e-api-key-0099"


def test_inbound_message_is_routed_by_an_integration_and_heard_by_others(
    client: Client,
    service: MessagingService,
    queue: Queue,
    https_sink: HttpsSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    vip = make_queue("VIP", ["01E4556565565ERKYO@facebook"])
    make_integration(
        "router",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/route",
        events=["received"],
        ordinal=1,
        configuration={
            "request": {
                "method": "GET",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "params": {"from": "{contact.source}"},
                "timeout": 2,
            },
            "response": {
                "set": {
                    "queue": {"id": "{response.body.queue.id}"},
                    "priority": "{response.body.priority}",
                },
                "save": {"customer": "{response.body.customer}"},
            },
        },
        authentications={"api-key": API_KEY},
    )
    make_integration(
        "listener",
        queues=[queue, vip],
        endpoint_url=f"{https_sink.url}/events/{{event}}",
        events=["received", "queued"],
        ordinal=2,
        configuration={"request": {"method": "POST", "body": {"contact": "{contact}"}}},
    )
    https_sink.answer(
        SinkAnswer(body={"queue": {"id": vip.pk}, "priority": "10", "customer": {"tier": "gold"}})
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_callback(client, service.pk, fixture_body("message_inbound"))
    assert response.status_code == 200
    assert https_sink.requests == []  # the webhook only stored the callback
    run_ready_tasks()  # the worker: callback → contact → integrations → deliveries

    contact = Contact.objects.get()
    assert contact.queue == vip
    assert contact.priority == 10
    assert contact.cad == {"customer": {"tier": "gold"}}
    assert list(contact.events.values_list("event", "detail")) == [
        (
            "received",
            "Message on 01E4556565565ERKYO@whatsapp.sinchconversation.com from 46701234567",
        ),
        ("queued", "Queued in VIP"),
    ]
    route, *heard = https_sink.requests
    assert route.path == "/route" and route.query == {"from": "46701234567"}
    assert route.headers["x-api-key"] == API_KEY
    assert [r.path for r in heard] == ["/events/received", "/events/queued"]
    queued = heard[1].json["contact"]
    assert queued["queue"]["id"] == vip.pk
    assert queued["priority"] == 10
    assert queued["cad"] == {"customer": {"tier": "gold"}}
    modes = dict(Delivery.objects.values_list("integration__name", "mode").distinct())
    assert modes == {"router": "blocking", "listener": "background"}
    assert API_KEY not in json.dumps(list(Delivery.objects.values()), default=str)
