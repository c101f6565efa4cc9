"""A Viewer walks the admin and sees no secret, no API token and no customer's personal data."""

from __future__ import annotations

import html

import pytest
import requests
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from configurator.roles import VIEWER, roles_apply
from configurator.tokens import api_token_create
from conversations.models import Contact
from integrations.models import Delivery, Integration
from messaging.models import Callback
from messaging.webhooks.processing import callbacks_process_pending
from tests.e2e.conftest import screenshot
from tests.factories import make_integration, make_queue, make_service
from tests.sinch import WEBHOOK_SECRET, fixture_body, signed_headers

pytestmark = pytest.mark.e2e

VIEWER_PASSWORD = "viewer-pass-123"
PHONE = "46701234567"
SINCH_CONTACT_ID = "01FJA8B466Y0R2GNXD78MD9SM1"
CUSTOMER_TEXT = "I need help with my order"
SECRETS = (WEBHOOK_SECRET, "access-key-secret", "integration-secret-1")


def _assert_nothing_hidden_on(page: Page, forbidden: tuple[str, ...]) -> None:
    shown = html.unescape(page.content())
    for value in forbidden:
        assert value not in shown, f"{value!r} on {page.url}"


def test_a_viewer_sees_no_secret_token_or_personal_data(
    page: Page, live_server: object, transactional_db: None
) -> None:
    # The database was emptied by an earlier browser test: the roles are put back first.
    roles_apply()
    service = make_service(app_id="01E4556565565ERKYO")
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    make_integration(
        "CRM events",
        queues=[queue],
        events=["queued"],
        authentications={"api-key": "integration-secret-1"},
        configuration={
            "request": {
                "method": "POST",
                "headers": {"x-api-key": "{authentications.api-key}"},
                "body": {"who": "{contact.source}"},
            }
        },
    )
    body = fixture_body("message_inbound")
    answer = requests.post(
        f"{live_server}/webhooks/sinch/{service.pk}/",
        data=body,
        headers=signed_headers(body),
        timeout=10,
    )
    assert answer.status_code == 200
    assert callbacks_process_pending() == 1
    contact = Contact.objects.get()
    Contact.objects.filter(pk=contact.pk).update(cad={"loyalty": "gold-7788"})
    owner = User.objects.create_user("automation", is_staff=True)
    _token, key = api_token_create(user=owner)
    viewer = User.objects.create_user("vera", password=VIEWER_PASSWORD, is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    forbidden = (*SECRETS, key, key[:12], PHONE, SINCH_CONTACT_ID, CUSTOMER_TEXT, "gold-7788")

    page.goto(f"{live_server}/admin/login/?next=/admin/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", VIEWER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    _assert_nothing_hidden_on(page, forbidden)
    screenshot(page, "viewer-home")

    walk = [
        ("/admin/messaging/messagingservice/", "viewer-services"),
        (f"/admin/messaging/messagingservice/{service.pk}/change/", "viewer-service"),
        ("/admin/integrations/integration/", "viewer-integrations"),
        (
            f"/admin/integrations/integration/{Integration.objects.get().pk}/change/",
            "viewer-integration",
        ),
        ("/admin/conversations/contact/", "viewer-contacts"),
        (f"/admin/conversations/contact/{contact.pk}/change/", "viewer-contact"),
        ("/admin/messaging/callback/", "viewer-callbacks"),
        (f"/admin/messaging/callback/{Callback.objects.get().pk}/change/", "viewer-callback"),
        ("/admin/integrations/delivery/", "viewer-deliveries"),
        (
            f"/admin/integrations/delivery/{Delivery.objects.first().pk}/change/",  # type: ignore[union-attr]
            "viewer-delivery",
        ),
    ]
    for path, name in walk:
        page.goto(f"{live_server}{path}")
        expect(page.locator("#content")).to_be_visible()
        assert page.title() != "403 Forbidden"
        _assert_nothing_hidden_on(page, forbidden)
        screenshot(page, name)

    # What the Viewer does see of the conversation: its state and its queue, not who wrote.
    page.goto(f"{live_server}/admin/conversations/contact/{contact.pk}/change/")
    expect(page.locator("#content-main")).to_contain_text("Support")
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)

    # API tokens and users are the Administrator's: the pages refuse, the menu does not offer.
    for path in ("/admin/configurator/apitoken/", "/admin/auth/user/"):
        refused = page.goto(f"{live_server}{path}")
        assert refused is not None and refused.status == 403
        _assert_nothing_hidden_on(page, forbidden)
    page.goto(f"{live_server}/admin/")
    expect(page.locator("a[href='/admin/configurator/apitoken/']")).to_have_count(0)
    screenshot(page, "viewer-home-menu")
