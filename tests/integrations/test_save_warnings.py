"""Warnings when an integration is saved: an endpoint integrations may not call, and a fourth
integration on one event and scope. Shown by the admin after the save, and in the API's answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.messages import WARNING
from django.test import Client
from rest_framework.test import APIClient

from integrations.models import Integration
from queues.models import Queue
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/integration/add/?channel_type=chat"
URL = "/api/v1/integrations/"
PRIVATE = (
    "Endpoint URL: 10.1.2.3 is a private address; integrations only call public addresses "
    "(an operator can allow a network with INTEGRATIONS_ALLOWED_NETWORKS). Its calls will fail "
    "until the address is public or allowed."
)


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel_type": "chat",
        "name": "CRM lookup",
        "description": "",
        "endpoint_url": "https://10.1.2.3/events",
        "ordinal": "1",
        "direction": "inbound",
        "events": "queued",
        "direct_chats": "on",
        "configuration": json.dumps({"request": {"method": "POST"}}),
        "authentications-TOTAL_FORMS": "0",
        "authentications-INITIAL_FORMS": "0",
        "authentications-MIN_NUM_FORMS": "0",
        "authentications-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "CRM lookup",
        "channel_type": "chat",
        "endpoint_url": "https://10.1.2.3/events",
        "direction": "inbound",
        "events": ["queued"],
        "direct_chats": True,
        "configuration": {"request": {"method": "POST"}},
    }
    body.update(changes)
    return body


def _warnings(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level == WARNING]


def test_the_admin_saves_a_private_endpoint_and_warns(admin_client_: Client) -> None:
    response = admin_client_.post(ADD, _form(), follow=True)
    assert response.status_code == 200
    assert Integration.objects.filter(name="CRM lookup").exists()
    assert _warnings(response) == [PRIVATE]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "https://169.254.169.254/latest/meta-data",
            "169.254.169.254 is a link-local (cloud metadata) address",
        ),
        ("https://127.0.0.1:8443/hook", "127.0.0.1 is a loopback address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://localhost:8443/{contact.id}", "localhost resolves to "),
    ],
)
def test_loopback_and_metadata_endpoints_are_named(
    api: APIClient, settings: Any, url: str, said: str
) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []
    response = api.post(URL, _body(endpoint_url=url), format="json")
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning.startswith(f"Endpoint URL: {said}")
    assert "INTEGRATIONS_ALLOWED_NETWORKS" in warning


def test_an_allowed_network_or_a_public_address_says_nothing(api: APIClient, settings: Any) -> None:
    settings.INTEGRATIONS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    allowed = api.post(URL, _body(), format="json")
    assert allowed.status_code == 201
    assert allowed.json()["warnings"] == []
    public = api.post(
        URL, _body(name="Public", endpoint_url="https://93.184.215.14/events"), format="json"
    )
    assert public.json()["warnings"] == []
    echo = api.post(URL, _body(name="Echo", endpoint_url="edi://echo"), format="json")
    assert echo.status_code == 201
    assert echo.json()["warnings"] == []


def test_a_name_that_does_not_resolve_says_nothing(api: APIClient) -> None:
    response = api.post(URL, _body(endpoint_url="https://crm.invalid/events"), format="json")
    assert response.status_code == 201
    assert response.json()["warnings"] == []


def test_the_api_warns_on_update_and_never_on_read(api: APIClient) -> None:
    created = api.post(URL, _body(endpoint_url="https://93.184.215.14/events"), format="json")
    pk = created.json()["id"]
    changed = api.patch(f"{URL}{pk}/", {"endpoint_url": "https://10.1.2.3/events"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["warnings"] == [PRIVATE]
    replaced = api.put(f"{URL}{pk}/", _body(), format="json")
    assert replaced.json()["warnings"] == [PRIVATE]
    assert "warnings" not in api.get(f"{URL}{pk}/").json()
    assert all("warnings" not in row for row in api.get(URL).json()["results"])


def test_a_fourth_integration_on_one_event_and_queue_is_warned_of(
    admin_client_: Client, api: APIClient, queue: Queue
) -> None:
    for n in (1, 2, 3):
        make_integration(f"Hook {n}", queues=[queue], ordinal=n, events=["queued"])

    response = admin_client_.post(
        ADD,
        _form(
            name="Hook 4",
            ordinal="4",
            endpoint_url="https://hooks.example.com/events",
            direct_chats="",
            queues=[str(queue.pk)],
        ),
        follow=True,
    )

    assert Integration.objects.filter(name="Hook 4").exists()
    assert _warnings(response) == [
        "Queued, queue “Support” (chats in): 4 integrations apply, only the first 3 by ordinal "
        "fire; this one does not fire."
    ]
    # Moving it first makes it fire and another one not: still worth saying.
    hook = Integration.objects.get(name="Hook 4")
    changed = api.patch(f"{URL}{hook.pk}/", {"ordinal": 1}, format="json")
    assert changed.json()["warnings"] == [
        "Queued, queue “Support” (chats in): 4 integrations apply, only the first 3 by ordinal "
        "fire; this one fires."
    ]


def test_three_integrations_or_other_events_say_nothing(api: APIClient, queue: Queue) -> None:
    make_integration("Hook 1", queues=[queue], events=["queued"])
    make_integration("Hook 2", queues=[queue], events=["queued"])
    make_integration("Hook 3", queues=[queue], events=["ended"])
    make_integration("Elsewhere", direct_chats=True, events=["queued"])
    response = api.post(
        URL,
        _body(
            name="Hook 4",
            endpoint_url="https://hooks.example.com/events",
            direct_chats=False,
            queues=[queue.pk],
        ),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == []


def test_a_disabled_one_does_not_count(api: APIClient, queue: Queue) -> None:
    for n in (1, 2, 3):
        make_integration(f"Hook {n}", queues=[queue], ordinal=n, events=["queued"])
    body = _body(
        name="Quiet",
        endpoint_url="https://hooks.example.com/events",
        direct_chats=False,
        queues=[queue.pk],
        events=[],
    )
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["enabled"] is False
    assert response.json()["warnings"] == []


def test_the_schema_documents_warnings_on_writes_only(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/integrations/"]["post"]["responses"]["201"]
    saved = create["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "warnings" in schema["components"]["schemas"][saved]["properties"]
    read = schema["paths"]["/api/v1/integrations/{id}/"]["get"]["responses"]["200"]
    shown = read["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "warnings" not in schema["components"]["schemas"][shown]["properties"]
