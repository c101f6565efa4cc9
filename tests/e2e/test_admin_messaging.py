"""An administrator sets up a messaging service in the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from messaging.models import MessagingService, ServiceAuthentication
from tests.e2e.conftest import screenshot
from tests.factories import make_service
from tests.sinch import WEBHOOK_SECRET as SINCH_WEBHOOK_SECRET

pytestmark = pytest.mark.e2e

ACCESS_SECRET = "access-key-secret-e2e-1234"
WEBHOOK_SECRET = "webhook-secret-e2e-5678"
CONNECTION = (
    "https://eu.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)


def _no_secret_in(page: Page) -> None:
    html = page.content()
    assert ACCESS_SECRET not in html
    assert WEBHOOK_SECRET not in html


def test_administrator_creates_a_messaging_service(admin_login: Page, live_server: object) -> None:
    page = admin_login
    expect(page.locator("#site-name")).to_have_text("System Configurator")
    expect(page.get_by_role("table", name="System Management")).to_be_visible()
    screenshot(page, "admin-index")

    page.get_by_role("table", name="System Management").get_by_role(
        "link", name="Add"
    ).first.click()
    page.fill("#id_name", "Sinch EU")
    page.fill("#id_service_connection", CONNECTION)
    page.fill("#id_authentications-0-authentication_id", "3f1c2a9e-key@01e4556565565erkyo")
    page.fill("#id_authentications-0-secret", ACCESS_SECRET)
    expect(page.locator("#id_authentications-1-authentication_id")).to_have_value("webhook")
    expect(page.locator("#id_authentications-1-direction")).to_have_value("inbound")
    # First a mistake: the webhook entry without its secret.
    page.check('input[name="authentications-1-triggers"][value="MESSAGE_INBOUND"]')
    page.check('input[name="authentications-1-triggers"][value="MESSAGE_DELIVERY"]')
    page.click('input[name="_continue"]')
    expect(page.locator(".errorlist").first).to_contain_text("Enter the secret")
    _no_secret_in(page)
    screenshot(page, "messaging-service-error")

    page.fill("#id_authentications-0-secret", ACCESS_SECRET)
    page.fill("#id_authentications-1-secret", WEBHOOK_SECRET)
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator(".messagelist")).to_contain_text(
        "App IDs are upper-case in Sinch: 01e4556565565erkyo was saved as 01E4556565565ERKYO."
    )

    service = MessagingService.objects.get()
    assert (service.region, service.project_id) == ("eu", "e2df3a34-a71b-4448-9db5-a8d2baad28e4")
    webhook_url = page.locator("#webhook-url")
    expect(webhook_url).to_have_value(f"{live_server}/webhooks/sinch/{service.pk}/")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#webhook-url-copy")).to_have_text("Copied")
    expect(page.locator(".field-region .readonly")).to_have_text(re.compile("Europe"))
    _no_secret_in(page)
    screenshot(page, "messaging-service-saved")

    secrets = {a.direction: a.secret.reveal() for a in ServiceAuthentication.objects.all()}
    assert secrets == {"outbound": ACCESS_SECRET, "inbound": WEBHOOK_SECRET}

    # Saving again with the secret boxes left empty keeps both secrets.
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    secrets = {a.direction: a.secret.reveal() for a in ServiceAuthentication.objects.all()}
    assert secrets == {"outbound": ACCESS_SECRET, "inbound": WEBHOOK_SECRET}

    page.goto(f"{live_server}/admin/messaging/messagingservice/")
    expect(page.locator("#result_list")).to_contain_text("01E4556565565ERKYO")
    _no_secret_in(page)
    screenshot(page, "messaging-service-list")


def test_administrator_rotates_the_webhook_secret_with_a_generated_one(
    admin_login: Page, live_server: object
) -> None:
    page = admin_login
    service = make_service(app_id="01E4556565565ERKYO")
    page.goto(f"{live_server}/admin/messaging/messagingservice/{service.pk}/change/")
    expect(page.locator(".field-webhook_secret_overlap")).to_contain_text("only the current")
    page.get_by_role("link", name="Rotate webhook secret").click()
    expect(page.locator("#content-main")).to_contain_text("before the overlap ends")
    expect(page.locator("#id_overlap_hours")).to_have_value("24")
    page.fill("#id_overlap_hours", "2")
    page.check("#id_generate")
    screenshot(page, "messaging-service-rotate-form")
    page.get_by_role("button", name="Rotate").click()

    entry = ServiceAuthentication.objects.get(service=service, direction="inbound")
    assert entry.secret is not None and entry.previous_secret is not None
    new_secret = entry.secret.reveal()
    assert entry.previous_secret.reveal() == SINCH_WEBHOOK_SECRET
    expect(page.locator("#webhook-secret")).to_have_value(new_secret)
    expect(page.locator("#content-main")).to_contain_text("the previous one verifies until")
    screenshot(page, "messaging-service-rotated")

    page.get_by_role("link", name="Back to the messaging service").click()
    expect(page.locator(".field-webhook_secret_overlap")).to_contain_text("Verifies too until")
    assert new_secret not in page.content()
    screenshot(page, "messaging-service-after-rotation")
