"""Test runs' sample contacts: of the conversation type the integration is for, chosen by its
direction (Outbound: outbound; Both: a choice; Inbound: inbound) and channel type (calls: a
phone sample), on the admin page and in the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from integrations.models import Integration
from integrations.testrun import sample_contact
from queues.models import Queue
from tests.factories import make_integration, make_queue
from tests.httpsink import HttpsSink

pytestmark = pytest.mark.django_db

OUTBOUND_EVENTS = ["accepted", "transferred", "ended", "abandoned"]


def run(api: APIClient, integration: Integration, **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/integrations/{integration.pk}/test/", body, format="json")
    assert response.status_code == 200, response.content
    answer: dict[str, Any] = response.json()
    return answer


def steps(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in answer["steps"]}


def offered(admin_client_: Client, integration: Integration) -> list[tuple[str, bool]]:
    """The sample choices of the admin's test page: (value, checked)."""
    html = admin_client_.get(f"/admin/integrations/integration/{integration.pk}/test/")
    assert html.status_code == 200
    radios = re.findall(
        r'<input type="radio" name="sample" value="([^"]*)"([^>]*)>', html.content.decode()
    )
    return [(value, "checked" in attrs) for value, attrs in radios]


def test_an_inbound_integration_is_tried_with_an_inbound_chat(
    api: APIClient, admin_client_: Client, queue: Queue, https_sink: HttpsSink
) -> None:
    inbound = make_integration(queues=[queue], events=["queued"], endpoint_url=https_sink.url)

    answer = run(api, inbound, event="queued")

    assert (answer["channel_type"], answer["direction"]) == ("chat", "inbound")
    assert steps(answer)["match"]["outcome"] == "ok"
    assert offered(admin_client_, inbound) == [("chat/inbound", True)]


@pytest.mark.parametrize("event", OUTBOUND_EVENTS)
def test_an_outbound_integration_gets_an_outbound_sample_with_the_events_of_chats_out(
    api: APIClient, queue: Queue, https_sink: HttpsSink, event: str
) -> None:
    outbound = make_integration(
        queues=[queue], direction="outbound", events=OUTBOUND_EVENTS, endpoint_url=https_sink.url
    )

    answer = run(api, outbound, event=event)

    assert (answer["channel_type"], answer["direction"]) == ("chat", "outbound")
    assert steps(answer)["match"]["outcome"] == "ok", steps(answer)["match"]
    body = steps(answer)["request"]["data"]["body"]
    assert body == {"event": event}
    sample = sample_contact(outbound, event=event)
    assert sample["direction"] == "outbound"
    assert sample["state"] == event
    assert sample["agent"]["name"] == "Sample agent"  # the agent who started the chat
    assert sample["source"] == "46700000000"  # the customer it went to
    assert sample["queue"]["name"] == queue.name


def test_an_outbound_sample_says_chats_out_have_no_queued_event(
    api: APIClient, queue: Queue
) -> None:
    outbound = make_integration(queues=[queue], direction="outbound", events=["accepted"])

    answer = run(api, outbound, event="queued")

    assert steps(answer)["match"]["detail"] == (
        "would not fire: Queued is not one of its events; "
        "outbound chat conversations have no Queued event"
    )


def test_both_directions_offer_a_choice_inbound_first(
    api: APIClient, admin_client_: Client, queue: Queue
) -> None:
    both = make_integration(queues=[queue], direction="both", events=["accepted", "queued"])

    assert offered(admin_client_, both) == [("chat/inbound", True), ("chat/outbound", False)]
    assert run(api, both, event="accepted")["direction"] == "inbound"
    outbound = run(api, both, event="accepted", direction="outbound")
    assert outbound["direction"] == "outbound"
    assert steps(outbound)["match"]["outcome"] == "ok"
    assert steps(run(api, both, event="queued", direction="outbound"))["match"]["outcome"] == (
        "failed"
    )


def test_the_admin_page_runs_the_chosen_sample(admin_client_: Client, queue: Queue) -> None:
    both = make_integration(queues=[queue], direction="both", events=["ended"])

    page = admin_client_.post(
        f"/admin/integrations/integration/{both.pk}/test/",
        {"event": "ended", "contact": "", "sample": "chat/outbound"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "contact SAMPLE0000000000000000000000000 (chat, outbound)" in html
    assert "fires (number 1 of 1 by ordinal)" in html


def test_a_call_integration_is_tried_with_a_phone_sample(
    api: APIClient, admin_client_: Client, https_sink: HttpsSink
) -> None:
    phones = make_queue("Hotline", ["+46812345678"], channel_type="phone")
    calls = make_integration(
        channel_type="phone",
        direction="both",
        queues=[phones],
        events=["rejected", "accepted"],
        endpoint_url=https_sink.url,
    )

    assert offered(admin_client_, calls) == [("phone/inbound", True), ("phone/outbound", False)]
    answer = run(api, calls, event="rejected", direction="outbound")
    assert (answer["channel_type"], answer["direction"]) == ("phone", "outbound")
    assert steps(answer)["match"]["outcome"] == "ok", steps(answer)["match"]
    sample = sample_contact(calls, kind=("phone", "inbound"))
    assert sample["channel_sub_type"] is None
    assert sample["source"] == "+46700000000"
    assert sample["destination"] == "+46812345678"


def test_a_multi_channel_integration_offers_every_conversation_type(
    admin_client_: Client,
) -> None:
    multi = make_integration(
        channel_type="multi", direction="both", direct_chats=True, events=["accepted"]
    )

    assert [value for value, _ in offered(admin_client_, multi)] == [
        "chat/inbound",
        "chat/outbound",
        "phone/inbound",
        "phone/outbound",
        "email/inbound",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": "outbound"}, "direction"),
        ({"channel_type": "phone"}, "channel_type"),
        ({"channel_type": "fax"}, "channel_type"),
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_a_sample_the_integration_is_not_for_is_400_by_field(
    api: APIClient, queue: Queue, body: dict[str, str], field: str
) -> None:
    inbound = make_integration(queues=[queue], events=["queued"])
    response = api.post(
        f"/api/v1/integrations/{inbound.pk}/test/", {"event": "queued", **body}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
