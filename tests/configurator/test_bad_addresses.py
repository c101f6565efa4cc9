"""Addresses no view can serve are a 4xx that says why, never a 500 (on PostgreSQL or SQLite).

A NUL character anywhere in the path or the query string is refused before any view runs
(PostgreSQL refuses such text, so it would otherwise fail wherever it reaches a lookup); an
admin lookup out of range is a bad lookup, which Django's changelist answers with ?e=1.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from configurator.wsgi import application
from integrations.models import Integration
from queues.models import Queue
from tests.factories import make_contact, make_integration
from tests.wsgiclient import WSGIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(queue: Queue) -> Integration:
    return make_integration(queues=[queue])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contacts/%00/",
        "/api/v1/contacts/%00/messages/",
        "/api/v1/contacts/%00/events/",
        "/api/v1/contacts/AB%00CD/",
        "/api/v1/callbacks/%00/",
        "/api/v1/%00/",
    ],
)
def test_api_refuses_nul_in_the_path(api: APIClient, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 400
    assert response.json() == {"path": ["Null characters are not allowed."]}


@pytest.mark.parametrize("action", ["allocate", "end", "accept"])
def test_api_refuses_nul_in_the_path_of_a_lifecycle_action(api: APIClient, action: str) -> None:
    response = api.post(f"/api/v1/contacts/%00/{action}/", {"agent": 1}, format="json")

    assert response.status_code == 400
    assert response.json() == {"path": ["Null characters are not allowed."]}


@pytest.mark.parametrize("name", ["contact", "event", "status", "mode"])
def test_api_refuses_nul_in_a_query_parameter_naming_it(
    api: APIClient, integration: Integration, name: str
) -> None:
    response = api.get(f"/api/v1/integrations/{integration.pk}/deliveries/?{name}=%00")

    assert response.status_code == 400
    assert response.json() == {name: ["Null characters are not allowed."]}


def test_api_refuses_a_raw_nul_in_the_query_string(queue: Queue) -> None:
    # Through the production WSGI application, as a server passes a raw byte on.
    client = WSGIClient()

    response = client.get("/api/v1/contacts/", QUERY_STRING="state=queued&queue=1\x00")

    assert response.status_code == 400
    assert response.json() == {"queue": ["Null characters are not allowed."]}


def test_api_refuses_nul_in_a_parameter_name(api: APIClient) -> None:
    response = api.get("/api/v1/contacts/?sta%00te=queued")

    assert response.status_code == 400
    assert response.json() == {"state": ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "path, field",
    [
        ("/admin/messaging/callback/?status=%00", "status"),
        ("/admin/messaging/callback/?trigger=%00", "trigger"),
        ("/admin/conversations/contact/?state=%00", "state"),
        ("/admin/integrations/delivery/?status=%00", "status"),
        ("/admin/conversations/contact/?q=%00", "q"),
        ("/admin/conversations/contact/%00/change/", "path"),
        ("/admin/login/?next=/admin/%00", "next"),
    ],
)
def test_admin_refuses_nul_in_plain_text(admin_client_: Client, path: str, field: str) -> None:
    response = admin_client_.get(path)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == f"{field}: Null characters are not allowed.\n"


def test_addresses_without_nul_are_served_as_before(api: APIClient, queue: Queue) -> None:
    contact = make_contact(queue)

    assert api.get(f"/api/v1/contacts/{contact.pk}/").status_code == 200
    # A percent sign followed by other digits is no NUL.
    assert api.get("/api/v1/contacts/?sinch_contact_id=%2500").status_code == 200
    assert api.get("/api/v1/contacts/%2500/").status_code == 404


def test_the_production_application_refuses_nul_too(queue: Queue) -> None:
    response = WSGIClient(application).get("/api/v1/contacts/\x00/")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/admin/messaging/callback/?received_at__year=99999999999",
        "/admin/messaging/callback/?received_at__year=2024&received_at__month=99999999999",
        "/admin/conversations/contact/?created__year=99999999999",
        "/admin/integrations/delivery/?created_at__year=99999999999",
        "/admin/integrations/delivery/?created_at__year=2024&created_at__month=1"
        "&created_at__day=99999999999",
    ],
)
def test_admin_date_lookup_out_of_range_is_a_bad_lookup_or_nothing(
    admin_client_: Client, path: str
) -> None:
    response = admin_client_.get(path)

    # A year beyond what `datetime` holds is a bad lookup; a month or day no date has matches
    # nothing. Never a server error.
    if response.status_code == 302:
        assert response["Location"] == path.split("?")[0] + "?e=1"
    else:
        assert response.status_code == 200
        assert "0 " in response.content.decode()
