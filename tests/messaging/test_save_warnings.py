"""A warning when a change to messaging services leaves queues addressed to an app that no
service holds any more: an outbound entry removed, or a service deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import WARNING
from django.test import Client
from rest_framework.test import APIClient

from messaging import selectors
from messaging.models import MessagingService
from queues.choices import SUBCHANNELS
from tests.factories import inbound, make_queue, make_service, outbound

pytestmark = pytest.mark.django_db


def _stranded(app: str, queues: str) -> str:
    return (
        f"After this change app {app} is in no messaging service, but queue(s) {queues} are "
        "addressed to it: messages to them are ignored and their conversations cannot be "
        f"answered. Add the app's outbound entry (KEYID@{app}) to a messaging service, or change "
        "those queues' addresses."
    )


def _two_apps() -> MessagingService:
    return make_service(
        name="Sinch EU",
        authentications=[outbound("01APPKEEP"), outbound("01APPGONE", key_id="k2"), inbound()],
    )


def _warnings(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level == WARNING]


def _change_form(service: MessagingService, keep: str) -> dict[str, Any]:
    """The service's page submitted with the outbound entry of `keep` and the webhook entry."""
    data: dict[str, Any] = {
        "name": service.name,
        "type": service.type,
        "service_connection": service.service_connection,
        "auth_method": service.auth_method,
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
    }
    entries = list(service.authentications.order_by("-direction", "id"))
    data["authentications-TOTAL_FORMS"] = str(len(entries))
    data["authentications-INITIAL_FORMS"] = str(len(entries))
    for index, entry in enumerate(entries):
        data[f"authentications-{index}-id"] = str(entry.pk)
        data[f"authentications-{index}-service"] = str(service.pk)
        data[f"authentications-{index}-direction"] = entry.direction
        data[f"authentications-{index}-authentication_id"] = entry.authentication_id
        data[f"authentications-{index}-secret"] = ""
        data[f"authentications-{index}-triggers"] = entry.triggers
        if entry.direction == "outbound" and entry.app_id != keep:
            data[f"authentications-{index}-DELETE"] = "on"
    return data


def test_the_admin_warns_when_a_removed_entry_strands_queues(admin_client_: Client) -> None:
    service = _two_apps()
    make_queue("Sales", ["01APPGONE@whatsapp"])
    make_queue("Claims", ["01APPGONE@viber", "01APPKEEP@sms"])
    make_queue("Support", ["01APPKEEP@whatsapp"])

    response = admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/change/",
        _change_form(service, keep="01APPKEEP"),
        follow=True,
    )

    assert response.status_code == 200
    assert selectors.service_app_ids(service.pk) == {"01APPKEEP"}
    assert _warnings(response) == [_stranded("01APPGONE", "“Claims”, “Sales”")]


def test_saving_without_removing_an_app_says_nothing(admin_client_: Client) -> None:
    service = _two_apps()
    make_queue("Sales", ["01APPGONE@whatsapp"])
    data = _change_form(service, keep="01APPKEEP")
    for key in [k for k in data if k.endswith("-DELETE")]:
        del data[key]
    response = admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/change/", data, follow=True
    )
    assert response.status_code == 200
    assert _warnings(response) == []


def test_the_api_warns_when_an_update_strands_queues(api: APIClient) -> None:
    service = _two_apps()
    make_queue("Sales", ["01APPGONE@whatsapp"])
    response = api.patch(
        f"/api/v1/messaging-services/{service.pk}/",
        {
            "authentications": [
                {
                    "direction": "outbound",
                    "authentication_id": "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01APPKEEP",
                },
                {
                    "direction": "inbound",
                    "authentication_id": "webhook",
                    "triggers": ["MESSAGE_INBOUND"],
                },
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["warnings"] == [_stranded("01APPGONE", "“Sales”")]
    renamed = api.patch(
        f"/api/v1/messaging-services/{service.pk}/", {"name": "Sinch Europe"}, format="json"
    )
    assert renamed.json()["warnings"] == []


def test_an_app_moved_to_another_service_strands_nothing(api: APIClient) -> None:
    service = _two_apps()
    make_queue("Sales", ["01APPGONE@whatsapp"])
    keep_only = [
        {
            "direction": "outbound",
            "authentication_id": "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01APPKEEP",
        },
        {"direction": "inbound", "authentication_id": "webhook", "triggers": ["MESSAGE_INBOUND"]},
    ]
    api.patch(
        f"/api/v1/messaging-services/{service.pk}/", {"authentications": keep_only}, format="json"
    )
    created = api.post(
        "/api/v1/messaging-services/",
        {
            "name": "Sinch US",
            "type": "sinchconversation",
            "service_connection": service.service_connection,
            "authentications": [
                {"direction": "outbound", "authentication_id": "k9@01APPGONE", "secret": "s"},
                {
                    "direction": "inbound",
                    "authentication_id": "webhook",
                    "secret": "w",
                    "triggers": ["MESSAGE_INBOUND"],
                },
            ],
        },
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["warnings"] == []
    assert selectors.stranded_queue_warnings({"01APPGONE"}) == []


def test_deleting_a_service_warns_on_the_confirmation_page_and_after(
    admin_client_: Client,
) -> None:
    service = _two_apps()
    make_queue("Sales", ["01APPGONE@whatsapp"])
    make_queue("Support", ["01APPKEEP@whatsapp"])
    expected = [_stranded("01APPGONE", "“Sales”"), _stranded("01APPKEEP", "“Support”")]
    url = f"/admin/messaging/messagingservice/{service.pk}/delete/"

    confirm = admin_client_.get(url)
    assert _warnings(confirm) == expected
    assert MessagingService.objects.exists()

    done = admin_client_.post(url, {"post": "yes"}, follow=True)
    assert not MessagingService.objects.exists()
    assert _warnings(done) == expected


def test_many_queues_are_counted_not_all_named() -> None:
    service = make_service(name="Sinch EU", app_id="01APPMANY")
    subchannels = [s.name for s in SUBCHANNELS][: selectors.STRANDED_QUEUES_NAMED + 2]
    for n, subchannel in enumerate(subchannels):
        make_queue(f"Queue {n}", [f"01APPMANY@{subchannel}"])
    [warning] = selectors.stranded_queue_warnings(
        selectors.service_app_ids(service.pk), leaving_service_id=service.pk
    )
    assert (
        "queue(s) “Queue 0”, “Queue 1”, “Queue 2”, “Queue 3”, “Queue 4” and 2 more are" in warning
    )
