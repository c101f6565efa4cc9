"""/api/v1/queues/ as automation uses it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from conversations import services as conversation_services
from conversations.models import Contact
from queues.models import Queue, QueueAddress
from tests.factories import make_agent, make_contact, make_queue, make_service

pytestmark = pytest.mark.django_db

URL = "/api/v1/queues/"
APP = "01E4556565565ERKYO"
US_CONNECTION = (
    "https://us.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)
OVERFLOW_RULE = "Overflow needs both a maximum waiting time and an overflow queue."


def payload(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Support",
        "description": "First line",
        "channel_type": "chat",
        "default_priority": 50,
        "addresses": [f"{APP}@whatsapp", f"{APP.lower()}@telegram.sinchconversation.com"],
    }
    body.update(changes)
    return body


def detail(queue: Queue | int) -> str:
    return f"{URL}{queue if isinstance(queue, int) else queue.pk}/"


@pytest.mark.usefixtures("service")
def test_creates_queue_with_short_form_addresses_stored_in_long_form(api: APIClient) -> None:
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["addresses"] == [
        f"{APP}@telegram.sinchconversation.com",
        f"{APP}@whatsapp.sinchconversation.com",
    ]
    assert data["default_priority"] == 50
    assert data["waiting_contacts"] == 0
    assert data["oldest_waiting_since"] is None
    assert data["max_waiting_time"] is None
    rows = QueueAddress.objects.filter(queue_id=data["id"]).order_by("address")
    assert [(a.address, a.app_id, a.subchannel) for a in rows] == [
        (f"{APP}@telegram.sinchconversation.com", APP, "telegram"),
        (f"{APP}@whatsapp.sinchconversation.com", APP, "whatsapp"),
    ]


@pytest.mark.usefixtures("service")
def test_rejects_bad_addresses_by_their_position(api: APIClient) -> None:
    response = api.post(
        URL,
        payload(addresses=[f"{APP}@whatsapp", "nonsense", "01UNKNOWNAPP@line"]),
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "addresses": {
            "1": [
                "“nonsense” is not a chat address: expected "
                "APPID@subchannel.sinchconversation.com, for example "
                "01E4556565565ERKYO@whatsapp.sinchconversation.com."
            ],
            "2": [
                "App 01UNKNOWNAPP has no outbound authentication in any messaging service: "
                "add KEYID@01UNKNOWNAPP to a messaging service first."
            ],
        }
    }
    assert not Queue.objects.exists()


@pytest.mark.usefixtures("service")
def test_rejects_address_of_another_queue(api: APIClient) -> None:
    make_queue("Sales", [f"{APP}@whatsapp"])
    response = api.post(URL, payload(addresses=[f"{APP}@whatsapp"]), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "addresses": {
            "0": [
                f"“{APP}@whatsapp.sinchconversation.com” already routes to queue “Sales”; "
                "an address routes to one queue."
            ]
        }
    }


@pytest.mark.usefixtures("service")
def test_rejects_empty_addresses(api: APIClient) -> None:
    response = api.post(URL, payload(addresses=[]), format="json")
    assert response.status_code == 400
    assert response.json() == {"addresses": ["A queue needs at least one address."]}


@pytest.mark.usefixtures("service")
def test_rejects_bad_sms_sender_id(api: APIClient) -> None:
    response = api.post(URL, payload(sms_sender_id="Acme Support Team"), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sms_sender_id"]


def test_rejects_us_sms_address_without_sms_sender_id(api: APIClient) -> None:
    make_service(app_id="01USAPP", service_connection=US_CONNECTION)
    response = api.post(URL, payload(addresses=["01USAPP@sms"]), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "sms_sender_id": ["An SMS address on a US messaging service needs an SMS sender ID."]
    }
    response = api.post(
        URL, payload(addresses=["01USAPP@sms"], sms_sender_id="+12025550123"), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["sms_sender_id"] == "+12025550123"


def test_patch_of_sms_sender_id_alone_is_checked_against_stored_addresses(api: APIClient) -> None:
    make_service(app_id="01USAPP", service_connection=US_CONNECTION)
    queue = make_queue("US SMS", ["01USAPP@sms"], sms_sender_id="Acme")
    response = api.patch(detail(queue), {"sms_sender_id": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "sms_sender_id": ["An SMS address on a US messaging service needs an SMS sender ID."]
    }
    response = api.patch(detail(queue), {"sms_sender_id": "Acme!"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sms_sender_id"]
    queue.refresh_from_db()
    assert queue.sms_sender_id == "Acme"
    response = api.patch(detail(queue), {"sms_sender_id": "+12025550123"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["addresses"] == ["01USAPP@sms.sinchconversation.com"]


@pytest.mark.usefixtures("service")
def test_creates_queue_with_overflow(api: APIClient) -> None:
    target = make_queue("Overflow")
    response = api.post(URL, payload(max_waiting_time=90, overflow_queue=target.pk), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["max_waiting_time"] == 90
    assert response.json()["overflow_queue"] == target.pk
    queue = Queue.objects.get(pk=response.json()["id"])
    assert queue.max_waiting_time == timedelta(seconds=90)
    assert queue.overflow_queue == target


@pytest.mark.usefixtures("service")
def test_rejects_maximum_waiting_time_without_overflow_queue(api: APIClient) -> None:
    response = api.post(URL, payload(max_waiting_time=60), format="json")
    assert response.status_code == 400
    assert response.json() == {"overflow_queue": [OVERFLOW_RULE]}


@pytest.mark.usefixtures("service")
def test_rejects_overflow_queue_without_maximum_waiting_time(api: APIClient) -> None:
    target = make_queue("Overflow")
    response = api.post(URL, payload(overflow_queue=target.pk), format="json")
    assert response.status_code == 400
    assert response.json() == {"max_waiting_time": [OVERFLOW_RULE]}


@pytest.mark.usefixtures("service")
def test_rejects_maximum_waiting_time_below_one_second(api: APIClient) -> None:
    target = make_queue("Overflow")
    response = api.post(URL, payload(max_waiting_time=0, overflow_queue=target.pk), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["max_waiting_time"]


@pytest.mark.usefixtures("service")
def test_rejects_queue_overflowing_into_itself(api: APIClient) -> None:
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    response = api.patch(
        detail(queue), {"max_waiting_time": 60, "overflow_queue": queue.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"overflow_queue": ["A queue cannot overflow into itself."]}


@pytest.mark.usefixtures("service")
def test_rejects_overflow_queue_of_another_channel_type(api: APIClient) -> None:
    phone = make_queue("Phone", ["+358401234567"], channel_type="phone")
    response = api.post(URL, payload(max_waiting_time=60, overflow_queue=phone.pk), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "overflow_queue": ["The overflow queue must carry the same channel type (Chat)."]
    }


@pytest.mark.usefixtures("service")
def test_address_errors_and_overflow_errors_come_together(api: APIClient) -> None:
    response = api.post(URL, payload(addresses=["nonsense"], max_waiting_time=60), format="json")
    assert response.status_code == 400
    assert sorted(response.json()) == ["addresses", "overflow_queue"]


@pytest.mark.usefixtures("service")
def test_creates_phone_queue(api: APIClient) -> None:
    response = api.post(
        URL,
        payload(name="Phone", channel_type="phone", addresses=["+358401234567", "2001"]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["addresses"] == ["+358401234567", "2001"]
    assert QueueAddress.objects.get(address="2001").app_id == ""


@pytest.mark.usefixtures("service")
def test_update_replaces_addresses_and_keeps_the_rows_it_keeps(api: APIClient) -> None:
    queue = make_queue("Support", [f"{APP}@whatsapp", f"{APP}@telegram"])
    kept = QueueAddress.objects.get(address=f"{APP}@whatsapp.sinchconversation.com")
    response = api.put(
        detail(queue),
        payload(addresses=[f"{APP}@whatsapp.sinchconversation.com", f"{APP}@line"]),
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["addresses"] == [
        f"{APP}@line.sinchconversation.com",
        f"{APP}@whatsapp.sinchconversation.com",
    ]
    assert sorted(queue.addresses.values_list("address", flat=True)) == response.json()["addresses"]
    assert QueueAddress.objects.get(address=kept.address).pk == kept.pk
    assert not QueueAddress.objects.filter(address__contains="@telegram").exists()


@pytest.mark.usefixtures("service")
def test_address_freed_by_one_queue_can_be_taken_by_another(api: APIClient) -> None:
    first = make_queue("First", [f"{APP}@whatsapp", f"{APP}@line"])
    response = api.patch(detail(first), {"addresses": [f"{APP}@line"]}, format="json")
    assert response.status_code == 200
    response = api.post(URL, payload(name="Second", addresses=[f"{APP}@whatsapp"]), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.usefixtures("service")
def test_deletes_queue_with_its_addresses(api: APIClient) -> None:
    queue = make_queue("Support")
    assert api.delete(detail(queue)).status_code == 204
    assert not Queue.objects.exists()
    assert not QueueAddress.objects.exists()


@pytest.mark.usefixtures("service")
def test_waiting_figures_count_only_contacts_waiting_for_an_agent(api: APIClient) -> None:
    queue = make_queue("Support")
    other = make_queue("Other")
    agent = make_agent(queues=[queue])
    oldest = make_contact(queue, conversation_id="01CONV1")
    make_contact(queue, conversation_id="01CONV2")
    allocated = make_contact(queue, conversation_id="01CONV3")
    conversation_services.contact_allocate(contact=allocated, agent=agent)
    make_contact(other, conversation_id="01CONV4")
    since = timezone.now() - timedelta(minutes=5)
    Contact.objects.filter(pk=oldest.pk).update(waiting_since=since)
    Contact.objects.filter(pk=allocated.pk).update(queued_at=since - timedelta(minutes=1))

    data = api.get(detail(queue)).json()
    assert data["waiting_contacts"] == 2
    assert parse_datetime(data["oldest_waiting_since"]) == since

    listed = {q["name"]: q for q in api.get(URL).json()["results"]}
    assert listed["Support"]["waiting_contacts"] == 2
    assert listed["Other"]["waiting_contacts"] == 1
    conversation_services.contact_abandon(contact=oldest)
    assert api.get(detail(queue)).json()["waiting_contacts"] == 1


@pytest.mark.usefixtures("service")
def test_filters_by_channel_type_name_and_overflow_queue(api: APIClient) -> None:
    target = make_queue("Overflow")
    make_queue("Support", max_waiting_time=timedelta(minutes=1), overflow_queue=target)
    make_queue("Phone", ["2001"], channel_type="phone")

    def names(query: str) -> list[str]:
        response = api.get(URL + query)
        assert response.status_code == 200, response.json()
        return [q["name"] for q in response.json()["results"]]

    assert names("") == ["Overflow", "Phone", "Support"]
    assert names("?channel_type=phone") == ["Phone"]
    assert names("?channel_type=chat") == ["Overflow", "Support"]
    assert names("?name=Support") == ["Support"]
    assert names(f"?overflow_queue={target.pk}") == ["Support"]


@pytest.mark.usefixtures("service")
def test_list_runs_a_fixed_number_of_queries(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    def queues_listed() -> int:
        response = api.get(URL)
        assert response.status_code == 200
        return len(response.json()["results"])

    first = make_queue("Queue 0", [f"{APP}@whatsapp"])
    make_contact(first, conversation_id="01CONV0")
    api.get(URL)  # warm the permission caches of the token's user
    with django_assert_max_num_queries(4):
        assert queues_listed() == 1
    subchannels = ["telegram", "line", "rcs", "viber", "instagram"]
    for n, subchannel in enumerate(subchannels, start=1):
        target = make_queue(f"Queue {n}", [f"{APP}@{subchannel}", f"{n:04d}@sms"])
        make_contact(target, conversation_id=f"01CONV{n}")
        make_queue(
            f"Queue {n} overflowing",
            [f"0{n}OVERFLOW@whatsapp"],
            max_waiting_time=timedelta(minutes=1),
            overflow_queue=target,
        )
    with django_assert_max_num_queries(4):
        assert queues_listed() == 11


def test_needs_authentication(client: Any) -> None:
    assert client.get(URL).status_code in (401, 403)


@pytest.mark.usefixtures("service")
def test_removes_overflow_with_both_fields_null(api: APIClient) -> None:
    target = make_queue("Overflow")
    queue = make_queue(
        "Support",
        [f"{APP}@whatsapp"],
        max_waiting_time=timedelta(minutes=2),
        overflow_queue=target,
    )
    assert api.get(detail(queue)).json()["max_waiting_time"] == 120
    response = api.patch(
        detail(queue), {"max_waiting_time": None, "overflow_queue": None}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["max_waiting_time"] is None
    queue.refresh_from_db()
    assert queue.max_waiting_time is None
    assert queue.overflow_queue is None
