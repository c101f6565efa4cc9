"""A contact's data reaches only users who may view customers' personal data, also through the
integrations.

An integration developer holding only integration (and delivery) permissions tests with the
sample contact and reads the delivery log without the contacts' data in it.
"""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from conversations.models import Contact
from integrations.models import Delivery, Integration
from queues.models import Queue
from tests.factories import make_contact, make_integration
from tests.httpsink import HttpsSink
from tests.taskrunner import run_ready_tasks

pytestmark = pytest.mark.django_db

DEVELOPER_PERMISSIONS = ["view_integration", "change_integration", "view_delivery"]
# Personal data the conversation carries, which the integration sends and the log records.
PHONE = "46701234567"


@pytest.fixture
def integration(https_sink: HttpsSink, queue: Queue) -> Integration:
    return make_integration(
        "CRM events",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
        configuration={
            "request": {"method": "POST", "body": {"phone": "{contact.source}"}},
            "response": {"save": {"crm": "{response.body.ok}"}},
        },
    )


@pytest.fixture
def contact(integration: Integration, queue: Queue) -> Contact:
    """A conversation whose Queued event was delivered to the integration."""
    found = make_contact(queue, identity=PHONE)
    run_ready_tasks()
    assert Delivery.objects.get().status == "succeeded"
    return found


def _developer(*extra: str) -> User:
    user = User.objects.create_user("developer", password="dev-pass-1", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=[*DEVELOPER_PERMISSIONS, *extra])
    )
    return user


def _api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    return client


def _browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -- API


def test_api_test_run_with_a_real_contact_needs_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/test/"
    developer = _api(_developer())

    refused = developer.post(url, {"event": "queued", "contact": contact.pk}, format="json")
    unknown = developer.post(url, {"event": "queued", "contact": "NOPE"}, format="json")
    sample = developer.post(url, {"event": "queued"}, format="json")

    assert refused.status_code == 403
    assert "permission to view customers' personal data" in refused.json()["detail"]
    assert PHONE not in refused.content.decode()
    assert unknown.status_code == 403  # whether an ID exists is not told either
    assert sample.status_code == 200
    User.objects.get(username="developer").user_permissions.add(
        Permission.objects.get(codename="view_personal_data")
    )
    viewer = _api(User.objects.get(username="developer"))
    shown = viewer.post(url, {"event": "queued", "contact": contact.pk}, format="json")
    assert shown.status_code == 200
    assert PHONE in shown.content.decode()


def test_api_deliveries_hide_contact_data_without_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/deliveries/"

    hidden = _api(_developer()).get(url)
    by_contact = _api(User.objects.get(username="developer")).get(url, {"contact": contact.pk})

    assert hidden.status_code == 200
    row = hidden.json()["results"][0]
    assert row["status"] == "succeeded" and row["status_code"] == 200
    for field in ("contact", "contact_event", "request", "response_excerpt", "applied"):
        assert row[field] is None
    assert PHONE not in hidden.content.decode() and contact.pk not in hidden.content.decode()
    assert by_contact.status_code == 403


def test_api_deliveries_show_contact_data_with_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/deliveries/"

    shown = _api(_developer("view_personal_data")).get(url, {"contact": contact.pk})

    row = shown.json()["results"][0]
    assert row["contact"] == contact.pk
    assert row["request"]["body"] == {"phone": PHONE}


def test_api_resend_answer_hides_contact_data(
    integration: Integration, contact: Contact, https_sink: HttpsSink
) -> None:
    Delivery.objects.update(status="failed", mode="background")
    url = f"/api/v1/integrations/{integration.pk}/resend/"

    answer = _api(_developer()).post(url, {"since": "2000-01-01T00:00:00Z"}, format="json")

    assert answer.status_code == 200
    assert answer.json() and all(row["request"] is None for row in answer.json())
    assert PHONE not in answer.content.decode()


# -- Admin


def test_admin_test_run_with_a_real_contact_needs_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    url = reverse("admin:integrations_integration_test", args=[integration.pk])
    developer = _browser(_developer())

    refused = developer.post(url, {"event": "queued", "contact": contact.pk})
    sample = developer.post(url, {"event": "queued", "contact": ""})

    text = html.unescape(refused.content.decode())
    assert refused.status_code == 200
    assert "needs the permission to view customers' personal data" in text
    assert PHONE not in text
    assert sample.status_code == 200 and "Dry run" in sample.content.decode()


def test_admin_delivery_pages_hide_contact_data_without_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    delivery = Delivery.objects.get()
    developer = _browser(_developer())

    listing = developer.get(reverse("admin:integrations_delivery_changelist"))
    searched = developer.get(reverse("admin:integrations_delivery_changelist"), {"q": contact.pk})
    detail = developer.get(reverse("admin:integrations_delivery_change", args=[delivery.pk]))

    for page in (listing, detail):
        assert page.status_code == 200
        assert contact.pk not in page.content.decode()
        assert PHONE not in page.content.decode()
    assert "0 deliveries" in searched.content.decode() or "0 results" in searched.content.decode()
    assert "need the permission to view customers' personal data" in html.unescape(
        detail.content.decode()
    )
    assert "CRM events" in listing.content.decode()


def test_admin_delivery_pages_show_contact_data_with_view_personal_data(
    integration: Integration, contact: Contact
) -> None:
    delivery = Delivery.objects.get()
    viewer = _browser(_developer("view_personal_data"))

    listing = viewer.get(reverse("admin:integrations_delivery_changelist"))
    detail = viewer.get(reverse("admin:integrations_delivery_change", args=[delivery.pk]))

    assert contact.pk in listing.content.decode()
    assert PHONE in html.unescape(detail.content.decode())
    assert "need the permission to view customers' personal data" not in html.unescape(
        detail.content.decode()
    )


def test_superuser_sees_everything(admin_client_: Client, contact: Contact) -> None:
    delivery = Delivery.objects.get()

    detail = admin_client_.get(reverse("admin:integrations_delivery_change", args=[delivery.pk]))

    assert PHONE in html.unescape(detail.content.decode())
