"""Names unique regardless of case: messaging services, queues, integrations.

The admin and the API refuse a taken name on the name field, naming the row that has it; the
database refuses it too. The migrations that bring the rule rename older case duplicates.
"""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from configurator import names
from configurator.names import name_problem
from integrations import services as integration_services
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_integration, make_queue, make_service

pytestmark = pytest.mark.django_db

CONNECTION = (
    "https://eu.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)


# --- the admin ------------------------------------------------------------------------------


def test_the_queue_form_refuses_a_name_taken_in_another_case(admin_client_: Client) -> None:
    make_queue("Sales", ["01E4556565565ERKY01@whatsapp"])
    response = admin_client_.post(
        "/admin/queues/queue/add/",
        {
            "name": "sales",
            "channel_type": "phone",
            "default_priority": "100",
            "addresses": "+3581234",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "name": ["A queue named “Sales” already exists."]
    }
    assert Queue.objects.count() == 1


def test_a_queue_keeps_its_own_name_in_another_case(admin_client_: Client) -> None:
    queue = make_queue("Sales", ["+3581234"], channel_type="phone")
    response = admin_client_.post(
        f"/admin/queues/queue/{queue.pk}/change/",
        {
            "name": "SALES",
            "channel_type": "phone",
            "default_priority": "100",
            "addresses": "+3581234",
        },
    )
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.name == "SALES"


def test_the_service_form_refuses_a_name_taken_in_another_case(admin_client_: Client) -> None:
    make_service(name="Sinch EU", app_id="01APPTAKEN")
    response = admin_client_.post(
        "/admin/messaging/messagingservice/add/",
        {
            "name": "SINCH eu",
            "type": "sinchconversation",
            "service_connection": CONNECTION,
            "auth_method": "oauth2",
            "authentications-TOTAL_FORMS": "2",
            "authentications-INITIAL_FORMS": "0",
            "authentications-MIN_NUM_FORMS": "0",
            "authentications-MAX_NUM_FORMS": "1000",
            "authentications-0-direction": "outbound",
            "authentications-0-authentication_id": "key@01APPNEW",
            "authentications-0-secret": "key-secret",
            "authentications-1-direction": "inbound",
            "authentications-1-authentication_id": "webhook",
            "authentications-1-secret": "webhook-secret",
            "authentications-1-triggers": ["MESSAGE_INBOUND"],
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "name": ["A messaging service named “Sinch EU” already exists."]
    }
    assert MessagingService.objects.count() == 1


def test_the_integration_form_refuses_a_name_taken_in_another_case(
    admin_client_: Client,
) -> None:
    make_integration("CRM lookup", direct_chats=True)
    response = admin_client_.post(
        "/admin/integrations/integration/add/?channel_type=chat",
        {
            "channel_type": "chat",
            "name": "crm LOOKUP",
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
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "name": ["An event-driven integration named “CRM lookup” already exists."]
    }


# --- the API --------------------------------------------------------------------------------


def test_the_api_refuses_a_queue_name_taken_in_another_case(api: APIClient) -> None:
    make_queue("Sales", ["+3581234"], channel_type="phone")
    response = api.post(
        "/api/v1/queues/",
        {"name": "SALES", "channel_type": "phone", "addresses": ["+3585678"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["A queue named “Sales” already exists."]}


def test_the_api_refuses_a_service_name_taken_in_another_case(api: APIClient) -> None:
    make_service(name="Sinch EU", app_id="01APPTAKEN")
    response = api.post(
        "/api/v1/messaging-services/",
        {
            "name": "sinch eu",
            "type": "sinchconversation",
            "service_connection": CONNECTION,
            "authentications": [
                {"direction": "outbound", "authentication_id": "key@01APPNEW", "secret": "k"},
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
    assert response.status_code == 400
    assert response.json() == {"name": ["A messaging service named “Sinch EU” already exists."]}


def test_the_api_refuses_an_integration_renamed_to_a_taken_name(api: APIClient) -> None:
    make_integration("CRM lookup", direct_chats=True)
    other = make_integration("Survey", direct_chats=True)
    response = api.patch(f"/api/v1/integrations/{other.pk}/", {"name": "Crm Lookup"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": ["An event-driven integration named “CRM lookup” already exists."]
    }
    # Its own name in another case is its own.
    renamed = api.patch(f"/api/v1/integrations/{other.pk}/", {"name": "SURVEY"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "SURVEY"


# --- the rule and the database --------------------------------------------------------------


def test_the_database_refuses_a_case_duplicate_written_past_the_checks() -> None:
    make_queue("Sales", ["+3581234"], channel_type="phone")
    with pytest.raises(IntegrityError), transaction.atomic():
        Queue.objects.create(name="sALES", channel_type="phone")


def test_a_copy_is_named_past_names_taken_in_another_case() -> None:
    original = make_integration("CRM", direct_chats=True)
    make_integration("crm (COPY)", direct_chats=True)
    copy = integration_services.integration_copy(integration=original)
    assert copy.name == "CRM (copy 2)"


def test_ascii_letters_fold_on_every_database() -> None:
    make_queue("Support Desk", ["+3581234"], channel_type="phone")
    assert name_problem(Queue, "SUPPORT desk") == "A queue named “Support Desk” already exists."
    assert name_problem(Queue, "Support Desk 2") is None


@pytest.mark.postgres
def test_postgresql_folds_every_letter() -> None:
    """SQLite's LOWER() folds ASCII only (docs/api.md says so); PostgreSQL folds all letters."""
    assert connection.vendor == "postgresql"
    make_queue("Ärende", ["+3581234"], channel_type="phone")
    assert name_problem(Queue, "ärende") == "A queue named “Ärende” already exists."
    with pytest.raises(IntegrityError), transaction.atomic():
        Queue.objects.create(name="ÄRENDE", channel_type="phone")


@pytest.mark.django_db(transaction=True)
def test_a_name_taken_meanwhile_by_another_save_is_a_400_not_a_500(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two saves in different cases at the same moment both pass the check; the index refuses
    the second. Played here by a check that sees nothing, as the second save's did."""
    make_service(app_id="01RACEAPP")
    make_queue("Race", ["01RACEAPP@sms"])
    monkeypatch.setattr(names, "name_owner", lambda *args, **kwargs: None)
    response = api.post(
        "/api/v1/queues/",
        {"name": "RACE", "channel_type": "chat", "addresses": ["01RACEAPP@whatsapp"]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "taken a moment ago" in str(response.json().get("name")), response.json()
