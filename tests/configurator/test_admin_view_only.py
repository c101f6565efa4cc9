"""Every admin page opens for a staff user who may only view (the Viewer role's permissions)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import Model
from django.test import Client

from conversations.models import Agent, Contact
from integrations.models import Delivery, Integration
from messaging.models import Callback, MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration
from tests.sinch import WEBHOOK_SECRET, fixture_body, post_callback

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(db: None) -> Client:
    user = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def one_of_each(service: MessagingService, queue: Queue) -> dict[str, Model]:
    """A row for every admin page: the service's callback, a contact whose event was delivered."""
    make_integration(
        "Listener",
        queues=[queue],
        events=["queued"],
        authentications={"api-key": "integration-secret-1"},
        configuration={
            "request": {"method": "POST", "headers": {"x-api-key": "{authentications.api-key}"}}
        },
    )
    post_callback(Client(), service.pk, fixture_body("message_inbound"))
    make_agent("Anna", queues=[queue])
    make_contact(queue)
    return {
        "messaging/messagingservice": service,
        "messaging/callback": Callback.objects.get(),
        "queues/queue": queue,
        "conversations/agent": Agent.objects.get(),
        "conversations/contact": Contact.objects.get(),
        "integrations/integration": Integration.objects.get(),
        "integrations/delivery": Delivery.objects.get(),
    }


@pytest.mark.parametrize(
    "page",
    [
        "messaging/messagingservice",
        "messaging/callback",
        "queues/queue",
        "conversations/agent",
        "conversations/contact",
        "integrations/integration",
        "integrations/delivery",
    ],
)
def test_list_and_page_open_for_a_view_only_user(
    viewer: Client, one_of_each: dict[str, Model], page: str
) -> None:
    listing = viewer.get(f"/admin/{page}/")
    assert listing.status_code == 200
    obj = one_of_each[page]
    detail = viewer.get(f"/admin/{page}/{obj.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'type="submit" value="Save"' not in html
    for secret in (WEBHOOK_SECRET, "access-key-secret", "integration-secret-1"):
        assert secret not in html


def test_view_only_queue_page_lists_its_addresses(
    viewer: Client, one_of_each: dict[str, Model]
) -> None:
    html = viewer.get(f"/admin/queues/queue/{one_of_each['queues/queue'].pk}/change/")
    text = html.content.decode()
    assert "01E4556565565ERKYO@whatsapp.sinchconversation.com" in text
    assert "QueueAddress.None" not in text


def test_queue_pages_open_with_view_queue_alone(one_of_each: dict[str, Model]) -> None:
    user = User.objects.create_user("queues", password="queues-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_queue"))
    client = Client()
    client.force_login(user)
    queue = one_of_each["queues/queue"]
    assert client.get("/admin/queues/queue/").status_code == 200
    page = client.get(f"/admin/queues/queue/{queue.pk}/change/")
    assert page.status_code == 200
    assert "01E4556565565ERKYO@whatsapp.sinchconversation.com" in page.content.decode()
