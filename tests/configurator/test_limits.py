"""Size limits of what a person types: descriptions and JSON configurations, in the admin and
the API, each refused with the same sentence on its field and the text kept in the form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from configurator.limits import (
    CONFIGURATION_MAX_BYTES,
    DESCRIPTION_MAX_CHARS,
    json_size,
    size_text,
)
from integrations.models import Integration
from queues.models import Queue
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

TOO_LONG = "d" * (DESCRIPTION_MAX_CHARS + 1)
DESCRIPTION_ERROR = "At most 2,000 characters: this one has 2,001. Shorten it and save again."


def _large_configuration(extra: int = 1) -> dict[str, Any]:
    """A valid configuration just over the limit (by `extra` bytes)."""
    configuration: dict[str, Any] = {"request": {"method": "POST", "body": {"note": ""}}}
    padding = CONFIGURATION_MAX_BYTES - json_size(configuration) + extra
    configuration["request"]["body"]["note"] = "n" * padding
    return configuration


def _integration_form(**changes: str) -> dict[str, str]:
    data = {
        "channel_type": "chat",
        "name": "CRM lookup",
        "description": "",
        "endpoint_url": "https://crm.example.com/events",
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


def test_sizes_read_as_people_read_them() -> None:
    assert size_text(512) == "512 bytes"
    assert size_text(64 * 1024) == "64 KiB"
    assert size_text(2_621_440) == "2.5 MiB"


def test_a_configuration_at_the_limit_is_taken_and_one_byte_more_is_not() -> None:
    make_integration("At the limit", direct_chats=True, configuration=_large_configuration(0))
    with pytest.raises(Exception, match="At most 64 KiB of JSON"):
        make_integration("Over", direct_chats=True, configuration=_large_configuration(1))


def test_the_queue_form_refuses_a_long_description_and_keeps_it(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/queues/queue/add/",
        {
            "name": "Sales",
            "description": TOO_LONG,
            "channel_type": "phone",
            "default_priority": "100",
            "addresses": "+3581234",
        },
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"description": [DESCRIPTION_ERROR]}
    assert f">\n{TOO_LONG}</textarea>" in response.content.decode()
    assert "maxlength" not in str(form["description"])  # a paste is never cut silently
    assert not Queue.objects.exists()


def test_the_api_refuses_a_long_queue_description_by_field(api: APIClient) -> None:
    response = api.post(
        "/api/v1/queues/",
        {
            "name": "Sales",
            "channel_type": "phone",
            "addresses": ["+3581234"],
            "description": TOO_LONG,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"description": [DESCRIPTION_ERROR]}


def test_the_integration_form_refuses_a_long_description(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/integrations/integration/add/?channel_type=chat",
        _integration_form(description=TOO_LONG),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"description": [DESCRIPTION_ERROR]}
    assert not Integration.objects.exists()


def test_the_integration_form_refuses_a_large_configuration_and_keeps_the_text(
    admin_client_: Client,
) -> None:
    typed = json.dumps(_large_configuration(100), indent=2)
    response = admin_client_.post(
        "/admin/integrations/integration/add/?channel_type=chat",
        _integration_form(configuration=typed),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["configuration"]
    [message] = errors["configuration"]
    assert message.startswith("At most 64 KiB of JSON: this one is 64.1 KiB.")
    assert "Keep long texts and tables at the endpoint" in message
    assert "&quot;note&quot;: &quot;nnnn" in response.content.decode()
    assert not Integration.objects.exists()


def test_the_api_refuses_a_large_configuration_and_a_long_description(api: APIClient) -> None:
    body = {
        "name": "CRM lookup",
        "channel_type": "chat",
        "endpoint_url": "https://crm.example.com/events",
        "direction": "inbound",
        "events": ["queued"],
        "direct_chats": True,
        "configuration": _large_configuration(100),
    }
    response = api.post("/api/v1/integrations/", body, format="json")
    assert response.status_code == 400
    [message] = response.json()["configuration"]
    assert message.startswith("At most 64 KiB of JSON: this one is 64.1 KiB.")

    response = api.post(
        "/api/v1/integrations/",
        {**body, "configuration": {"request": {"method": "POST"}}, "description": TOO_LONG},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"description": [DESCRIPTION_ERROR]}


def test_a_stored_integration_over_the_limit_is_refused_when_changed(api: APIClient) -> None:
    integration = make_integration("CRM lookup", direct_chats=True)
    response = api.patch(
        f"/api/v1/integrations/{integration.pk}/",
        {"configuration": _large_configuration(1)},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["configuration"]
