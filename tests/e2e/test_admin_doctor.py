"""An administrator runs the setup doctor against a fake Conversation API and fixes the webhook,
on a 1366 x 768 laptop screen."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from messaging.models import DoctorRun
from tests.e2e.conftest import screenshot
from tests.factories import make_queue, make_service
from tests.fakesinch import FakeSinch
from tests.sinch import WEBHOOK_SECRET

pytestmark = pytest.mark.e2e

APP = "01E4556565565ERKYO"
PUBLIC = "https://configurator.example.com"
TRIGGERS = ["MESSAGE_DELIVERY", "MESSAGE_INBOUND"]


def _fits_the_width(page: Page) -> None:
    """Nothing scrolls sideways at 1366 px."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_administrator_runs_the_doctor_and_fixes_the_webhook(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC
    page = admin_login
    page.set_viewport_size({"width": 1366, "height": 768})
    service = make_service(app_id=APP, triggers=TRIGGERS)
    make_queue("Support", [f"{APP}@whatsapp"])
    fake_sinch.add_app(APP, channels=("WHATSAPP",))
    webhook_url = f"{PUBLIC}/webhooks/sinch/{service.pk}/"

    page.goto(f"{live_server}/admin/messaging/messagingservice/{service.pk}/change/")
    expect(page.locator("#doctor-last-run")).to_contain_text("Never run")
    page.locator("#doctor-link").click()
    expect(page.locator("#doctor-never")).to_be_visible()
    expect(page.locator("#doctor-webhook-url")).to_have_text(webhook_url)

    page.locator("#doctor-run").click()
    expect(page.locator(".messagelist .warning")).to_contain_text("The doctor ran:")
    webhook = page.locator('tr.doctor-check[data-code="webhook"]')
    expect(webhook).to_have_class("doctor-check status-problem")
    expect(webhook).to_contain_text(f"App {APP} has no webhook targeting {webhook_url}")
    expect(page.locator('tr.doctor-check[data-code="app"]')).to_have_class("doctor-check status-ok")
    expect(page.locator('tr.doctor-check[data-code="last_callback"]')).to_contain_text(
        "No callback from Sinch has arrived yet"
    )
    _fits_the_width(page)
    screenshot(page, "doctor-problems")

    page.locator("#doctor-fix").click()
    expect(webhook).to_have_class("doctor-check status-ok")
    expect(webhook).to_contain_text("Fixed: created webhook")
    expect(page.locator("#doctor-fixed")).to_contain_text(f"of app {APP}: target {webhook_url}")
    expect(page.locator("#doctor-outcome")).to_contain_text("Sinch's webhooks point here: yes")
    expect(page.locator("#doctor-history")).to_be_visible()
    assert WEBHOOK_SECRET not in page.content()
    _fits_the_width(page)
    screenshot(page, "doctor-fixed")

    [created] = fake_sinch.webhooks_of(APP)
    assert (created["target"], created["secret"]) == (webhook_url, WEBHOOK_SECRET)
    assert DoctorRun.objects.filter(service=service).latest("ran_at").webhook_ok is True

    page.get_by_role("link", name="Back to the messaging service").click()
    expect(page.locator("#doctor-last-run")).to_contain_text("webhooks point here: yes")
    # The service form's own width is the layout's business; the doctor's line fits.
    box = page.locator(".field-setup_doctor").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1366
    screenshot(page, "doctor-on-service-page")
