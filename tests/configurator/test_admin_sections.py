"""Section names and breadcrumbs: each model's pages name its section of the index (System
Management, Queue Management, Conversations), and a log's record is kept, not deleted."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from conversations.models import ContactEvent
from integrations.models import Delivery
from messaging.models import Callback, MessagingService
from queues.models import Queue
from tests.factories import make_contact, make_integration
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db


def _crumbs(html: str) -> list[str]:
    """The breadcrumb's parts, as text."""
    block = html.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
    return [re.sub(r"<[^>]+>", "", part).strip() for part in block.split("&rsaquo;")]


@pytest.fixture
def records(service: MessagingService, queue: Queue) -> dict[str, object]:
    post_callback(Client(), service.pk, fixture_body("message_inbound"))
    contact = make_contact(queue)
    integration = make_integration("CRM sync", queues=[queue], events=["queued"])
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    delivery = Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event="queued",
        mode="background",
        status="failed",
    )
    return {
        "service": service,
        "queue": queue,
        "contact": contact,
        "integration": integration,
        "delivery": delivery,
        "callback": Callback.objects.get(),
        "event": event,
    }


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("messaging/messagingservice", "System Management"),
        ("integrations/integration", "System Management"),
        ("queues/queue", "Queue Management"),
        ("conversations/contact", "Conversations"),
        ("conversations/agent", "Conversations"),
        ("messaging/callback", "Conversations"),
        ("integrations/delivery", "Conversations"),
        ("conversations/contactevent", "Conversations"),
        ("auth/user", "Users and access"),
    ],
)
def test_the_breadcrumb_of_lists_names_the_section(
    admin_client_: Client, path: str, section: str
) -> None:
    html = admin_client_.get(f"/admin/{path}/").content.decode()
    assert _crumbs(html)[:2] == ["Home", section]


def test_the_breadcrumb_of_record_pages_names_the_section(
    admin_client_: Client, records: dict[str, object]
) -> None:
    pages = {
        "messaging/messagingservice": ("service", "System Management"),
        "integrations/integration": ("integration", "System Management"),
        "queues/queue": ("queue", "Queue Management"),
        "conversations/contact": ("contact", "Conversations"),
        "messaging/callback": ("callback", "Conversations"),
        "integrations/delivery": ("delivery", "Conversations"),
        "conversations/contactevent": ("event", "Conversations"),
    }
    for path, (name, section) in pages.items():
        pk = records[name].pk  # type: ignore[attr-defined]
        for page in ("change", "history"):
            html = admin_client_.get(f"/admin/{path}/{pk}/{page}/").content.decode()
            assert _crumbs(html)[:2] == ["Home", section], (path, page)
    service = records["service"]
    for own in ("rotate-webhook-secret",):
        html = admin_client_.get(
            f"/admin/messaging/messagingservice/{service.pk}/{own}/"  # type: ignore[attr-defined]
        ).content.decode()
        assert _crumbs(html)[1] == "System Management"
    html = admin_client_.get("/admin/queues/queue/add/").content.decode()
    assert _crumbs(html) == ["Home", "Queue Management", "Queues", "Add queue"]


def test_a_section_name_leads_to_its_section(admin_client_: Client) -> None:
    html = admin_client_.get("/admin/messaging/callback/").content.decode()
    assert '<a href="/admin/section/conversations/">Conversations</a>' in html

    section = admin_client_.get("/admin/section/conversations/").content.decode()

    assert _crumbs(section) == ["Home", "Conversations"]
    for model in ("Contacts", "Agents", "Callbacks received", "Deliveries"):
        assert model in section
    assert "Messaging services" not in section.split('id="content-main"')[1]
    assert admin_client_.get("/admin/section/nowhere/").status_code == 404


def test_an_app_page_lists_its_models_under_their_sections(admin_client_: Client) -> None:
    html = admin_client_.get("/admin/messaging/").content.decode()
    main = html.split('id="content-main"')[1]
    assert main.index("System Management") < main.index("Messaging services")
    assert main.index("Conversations") < main.index("Callbacks received")
    assert "Contacts" not in main


def test_a_section_shows_only_what_the_user_may_see(db: None) -> None:
    viewer = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_queue"))
    client = Client()
    client.force_login(viewer)
    assert client.get("/admin/section/queue-management/").status_code == 200
    assert client.get("/admin/section/conversations/").status_code == 404


def test_the_delete_page_of_a_callback_says_it_is_kept_not_that_permission_lacks(
    admin_client_: Client, records: dict[str, object]
) -> None:
    callback = records["callback"]
    url = f"/admin/messaging/callback/{callback.pk}/delete/"  # type: ignore[attr-defined]

    page = admin_client_.get(url)
    posted = admin_client_.post(url, {"post": "yes"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "permission" not in html.split('id="content-main"')[1].lower()
    assert "Callbacks received are a log of what happened" in html
    assert "Callbacks received are kept 30 days" in html
    assert "CALLBACKS_RETENTION_DAYS" in html
    assert _crumbs(html) == ["Home", "Conversations", "Callbacks received", str(callback), "Delete"]
    assert posted.status_code == 200
    assert Callback.objects.filter(pk=callback.pk).exists()  # type: ignore[attr-defined]


def test_the_delete_page_of_a_delivery_says_it_is_kept(
    admin_client_: Client, records: dict[str, object]
) -> None:
    delivery = records["delivery"]
    html = admin_client_.get(
        f"/admin/integrations/delivery/{delivery.pk}/delete/"  # type: ignore[attr-defined]
    ).content.decode()
    assert "DELIVERIES_RETENTION_DAYS" in html
    assert "Deliveries are kept 30 days" in html


def test_the_delete_page_of_a_record_needs_the_view_permission(
    records: dict[str, object],
) -> None:
    nobody = User.objects.create_user("nobody", password="pw-12345678", is_staff=True)
    client = Client()
    client.force_login(nobody)
    callback = records["callback"]
    response = client.get(f"/admin/messaging/callback/{callback.pk}/delete/")  # type: ignore[attr-defined]
    assert response.status_code == 403


def test_deleting_what_holds_kept_records_says_so_not_that_permission_lacks(
    admin_client_: Client, records: dict[str, object]
) -> None:
    """A service with callbacks received, a contact with its events and deliveries: the records
    cannot be deleted by anyone, so the page says why rather than blame the account."""
    service = records["service"]
    page = admin_client_.get(
        f"/admin/messaging/messagingservice/{service.pk}/delete/"  # type: ignore[attr-defined]
    ).content.decode()
    main = page.split('id="content-main"')[1] if 'id="content-main"' in page else page
    assert 'id="records-kept"' in page and "callback" in main
    assert "doesn't have permission" not in page

    # A user who lacks a delete permission is still told so.
    user = User.objects.create_user("deleter", password="pw-12345678", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_messagingservice", "delete_messagingservice", "view_callback"]
        )
    )
    client = Client()
    client.force_login(user)
    html = client.get(
        f"/admin/messaging/messagingservice/{service.pk}/delete/"  # type: ignore[attr-defined]
    ).content.decode()
    assert "doesn't have permission" in html
