"""Each staff user sees on the home page only the parts their view permissions allow."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from messaging.models import MessagingService
from tests.cockpit import rows
from tests.factories import make_contact, make_integration, make_queue

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
CALLBACK_PARTS = [
    'id="card-callbacks"',
    'id="card-unrouted"',
    'id="chart-callbacks"',
    'id="figure-backlog-callbacks"',
    'id="step-callback"',
]
CONTACT_PARTS = ['id="card-waiting"', 'id="chart-conversations"']
DELIVERY_PARTS = ['id="card-deliveries"', 'id="chart-deliveries"', 'id="figure-backlog-deliveries"']
OTHER_PARTS = [
    'id="card-integrations"',
    'id="figure-workers-live"',
    'id="figure-backlog-tasks"',
    'id="step-service"',
    'id="step-webhook"',
    'id="step-queues"',
    'id="step-agent"',
    'id="step-integration"',
]


def _client(*codenames: str) -> Client:
    user = User.objects.create_user(f"user-{len(codenames)}-{'-'.join(codenames)}", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _home(client: Client) -> tuple[str, list[str]]:
    client.get("/admin/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


@pytest.fixture
def traffic(service: MessagingService) -> None:
    queue = make_queue("Support", [f"{APP}@whatsapp"])
    contact = make_contact(queue)
    rows.callback(service, status="failed")
    rows.unrouted(service, f"{APP}@telegram.sinchconversation.com")
    rows.delivery(make_integration(), contact, status="succeeded", duration_ms=12)


def test_callbacks_only(traffic: None) -> None:
    page, queries = _home(_client("view_callback"))

    assert all(part in page for part in CALLBACK_PARTS)
    assert not any(part in page for part in CONTACT_PARTS + DELIVERY_PARTS + OTHER_PARTS)
    cockpit = page[page.index('id="cockpit"') : page.index('id="content-related"')]
    assert "/admin/integrations/" not in cockpit and "/admin/conversations/" not in cockpit
    # Tables the user may not view are not even read.
    assert not any(
        "conversations_contact" in sql or "integrations_delivery" in sql for sql in queries
    )


def test_contacts_and_queues_only(traffic: None) -> None:
    page, queries = _home(_client("view_contact", "view_queue"))

    assert all(part in page for part in [*CONTACT_PARTS, 'id="step-queues"'])
    assert not any(part in page for part in CALLBACK_PARTS + DELIVERY_PARTS)
    assert "Support" in page  # the queue with a conversation waiting
    assert not any('"messaging_callback"' in sql for sql in queries)


def test_deliveries_and_integrations(traffic: None) -> None:
    page, _ = _home(_client("view_delivery", "view_integration", "add_integration"))

    assert all(part in page for part in DELIVERY_PARTS)
    assert 'id="card-integrations"' in page and 'id="step-integration"' in page
    assert not any(part in page for part in CALLBACK_PARTS + CONTACT_PARTS)
    assert "12 ms" in page


def test_staff_without_permissions_get_djangos_index(traffic: None) -> None:
    page, queries = _home(_client())

    assert 'id="cockpit"' not in page
    assert "have permission to view or edit anything." in page
    assert not any("messaging_" in sql or "conversations_" in sql for sql in queries)


def test_superuser_sees_everything(admin_client_: Client, traffic: None) -> None:
    page, _ = _home(admin_client_)

    for part in CALLBACK_PARTS + CONTACT_PARTS + DELIVERY_PARTS + OTHER_PARTS:
        assert part in page, part
