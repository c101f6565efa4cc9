"""The administrator's home page on a 1366 x 768 laptop: checklist, figures and charts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from cockpit.rollup import rollup
from messaging.webhooks.processing import callbacks_process_pending
from tests.cockpit import rows
from tests.e2e.conftest import screenshot
from tests.factories import make_queue, make_service
from tests.sinch import fixture_body, signed_headers

pytestmark = pytest.mark.e2e

LAPTOP: ViewportSize = {"width": 1366, "height": 768}


def _no_sideways_scrolling(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_home_page_fits_a_laptop_and_ticks_the_checklist(
    admin_login: Page, live_server: object
) -> None:
    page = admin_login
    page.set_viewport_size(LAPTOP)

    # A fresh install: the checklist starts at its first step.
    page.goto(f"{live_server}/admin/")
    checklist = page.locator("#setup-checklist")
    expect(checklist).to_be_visible()
    expect(page.locator("#step-service")).to_have_attribute("data-done", "false")
    expect(page.locator("#step-service")).to_contain_text("No messaging service yet")
    _no_sideways_scrolling(page)
    screenshot(page, "home-01-fresh-install")

    # A service with a long name, a queue, a day of traffic, and a message from a customer
    # whose address reaches no queue.
    service = make_service(
        name="Sinch Europe production messaging service for the customer care centre",
        app_id="01E4556565565ERKYO",
    )
    make_queue(
        "Customer care, first level, for orders placed in the web shop and by phone",
        ["01E4556565565ERKYO@whatsapp"],
    )
    now = timezone.now()
    for back in range(1, 24, 2):
        for status in ("processed", "processed", "ignored", "failed"):
            rows.callback(service, status=status, at=now - timedelta(hours=back))
    rollup(now=now)
    body = fixture_body(
        "message_inbound",
        message__channel_identity={"channel": "TELEGRAM", "identity": "4670", "app_id": ""},
    )
    answer = requests.post(
        f"{live_server}/webhooks/sinch/{service.pk}/",
        data=body,
        headers=signed_headers(body),
        timeout=10,
    )
    assert answer.status_code == 200
    assert callbacks_process_pending() == 1

    page.goto(f"{live_server}/admin/")
    expect(page.locator("#step-service")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-queues")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-callback")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-webhook")).to_contain_text("not checked yet")
    expect(page.locator("#figure-unrouted-total .value")).to_have_text("1")
    expect(page.locator("#card-unrouted")).to_contain_text(
        "01E4556565565ERKYO@telegram.sinchconversation.com"
    )
    for chart in ("#chart-callbacks", "#chart-deliveries", "#chart-conversations"):
        expect(page.locator(f"{chart} svg")).to_be_visible()
    assert page.locator("#chart-callbacks svg rect.bar").count() >= 12
    _no_sideways_scrolling(page)
    screenshot(page, "home-02-with-traffic")

    # Unrouted: the link opens the queue form with the address filled in.
    page.locator("#card-unrouted a.addlink").click()
    expect(page.locator("#id_addresses")).to_have_value(
        "01E4556565565ERKYO@telegram.sinchconversation.com"
    )
