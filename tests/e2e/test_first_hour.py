"""A new administrator's first hour, on a 1366 x 768 laptop, with a real worker beside the server.

Log in and see the checklist, create a messaging service, run the setup doctor against the fake
Conversation API and let it fix the webhook, create a queue, send a simulated message, watch it on
the home page and in its queue, reply and see the sandbox's DELIVERED, then READ. Every step leaves
a screenshot in artifacts/screenshots/first-hour-*.png.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conversations.models import Contact, Message
from messaging.models import Callback, DoctorRun
from tests.e2e.conftest import screenshot
from tests.fakesinch import FakeSinch
from tests.workers import start_worker, wait_until, workers

pytestmark = pytest.mark.e2e

APP = "01E4556565565ERKYO"
PUBLIC = "https://configurator.example.com"
CONNECTION = (
    "https://eu.conversation.api.sinch.com/v1/projects/"
    "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send"
)
ACCESS_SECRET = "access-key-secret-first-hour-1234"
WEBHOOK_SECRET = "webhook-secret-first-hour-5678"


def _step(page: Page, name: str) -> None:
    """What the administrator saw, kept; and nothing on the page scrolls sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(page, f"first-hour-{name}")


def _no_secret_in(page: Page) -> None:
    html = page.content()
    assert ACCESS_SECRET not in html and WEBHOOK_SECRET not in html


def test_the_first_hour(
    admin_login: Page, live_server: Any, fake_sinch: FakeSinch, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC
    page = admin_login
    page.set_viewport_size({"width": 1366, "height": 768})

    # 1. The home page: a checklist with nothing done yet.
    page.goto(f"{live_server}/admin/")
    expect(page.locator("#setup-checklist")).to_be_visible()
    for step in ("service", "webhook", "queues", "callback"):
        expect(page.locator(f"#step-{step}")).to_have_attribute("data-done", "false")
    _step(page, "01-checklist")

    # 2. A messaging service, from the checklist's link.
    page.locator("#step-service a").first.click()
    expect(page).to_have_url(f"{live_server}/admin/messaging/messagingservice/add/")
    page.fill("#id_name", "Sinch EU")
    page.fill("#id_service_connection", CONNECTION)
    page.fill("#id_authentications-0-authentication_id", f"3f1c2a9e-key@{APP.lower()}")
    page.fill("#id_authentications-0-secret", ACCESS_SECRET)
    page.fill("#id_authentications-1-secret", WEBHOOK_SECRET)
    page.check('input[name="authentications-1-triggers"][value="MESSAGE_INBOUND"]')
    page.check('input[name="authentications-1-triggers"][value="MESSAGE_DELIVERY"]')
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    _no_secret_in(page)
    _step(page, "02-service")

    # 3. The setup doctor: Sinch's app has no webhook here yet; the fix creates it.
    fake_sinch.add_app(APP, channels=("WHATSAPP",))
    page.locator("#doctor-link").click()
    page.locator("#doctor-run").click()
    webhook = page.locator('tr.doctor-check[data-code="webhook"]')
    expect(webhook).to_have_class("doctor-check status-problem")
    _step(page, "03-doctor-problems")
    page.locator("#doctor-fix").click()
    expect(webhook).to_have_class("doctor-check status-ok")
    expect(page.locator("#doctor-outcome")).to_contain_text("Sinch's webhooks point here: yes")
    _no_secret_in(page)
    _step(page, "04-doctor-fixed")
    [created] = fake_sinch.webhooks_of(APP)
    assert created["secret"] == WEBHOOK_SECRET
    assert DoctorRun.objects.latest("ran_at").webhook_ok is True

    # 4. Back home: the service and the webhook are ticked; a queue is next.
    page.goto(f"{live_server}/admin/")
    expect(page.locator("#step-service")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-webhook")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-queues")).to_have_attribute("data-done", "false")
    _step(page, "05-checklist-webhook-done")

    page.goto(f"{live_server}/admin/queues/queue/add/")
    page.fill("#id_name", "Support")
    page.fill("#id_addresses", f"{APP.lower()}@whatsapp")
    page.click('input[name="_save"]')
    expect(page.locator("#result_list")).to_contain_text(f"{APP}@whatsapp.sinchconversation.com")
    _step(page, "06-queue")

    with workers() as started:
        worker = start_worker(
            "first-hour",
            # Whatever the worker might send to Sinch reaches the fake and is recorded.
            SINCH_API_ORIGIN=fake_sinch.origin,
            SINCH_OAUTH_TOKEN_URL=fake_sinch.token_url,
        )
        started.append(worker)

        # 5. A simulated message, from the service's page; the worker queues its conversation.
        page.goto(f"{live_server}/admin/messaging/messagingservice/")
        page.get_by_role("link", name="Sinch EU").click()
        page.locator("#simulate-link").click()
        page.fill("#id_text", "Hello, where is my parcel?")
        page.get_by_role("button", name="Send simulated message").click()
        # The page reloads itself until the worker has processed the callback.
        expect(page.locator("#simulated-conversation-link")).to_be_visible(timeout=60_000)
        _step(page, "07-simulated")
        contact = Contact.objects.get()
        assert contact.simulated and contact.state == "queued"

        # 6. The home page shows it waiting in its queue; its link opens the queue's list.
        page.goto(f"{live_server}/admin/")
        waiting = page.locator("#card-waiting")
        expect(waiting).to_contain_text("Support")
        expect(page.locator("#step-queues")).to_have_attribute("data-done", "true")
        _step(page, "08-home-waiting")
        waiting.get_by_role("link", name="Support").click()
        row = page.locator("#result_list tbody tr").first
        expect(row.locator(".simulated-badge")).to_be_visible()
        expect(row).to_contain_text("Queued")
        _step(page, "09-queue-conversations")

        # 7. A reply: the sandbox answers DELIVERED, then READ, through the signed webhook.
        row.get_by_role("link", name=contact.pk).click()
        page.get_by_label("Reply").fill("It arrives tomorrow.")
        page.get_by_role("button", name="Send reply").click()
        expect(page.locator(".messagelist")).to_contain_text("Reply sent.")
        reply = Message.objects.get(direction="outbound")
        wait_until(
            lambda: Message.objects.filter(pk=reply.pk, status__in=["delivered", "read"]).exists(),
            60,
            "the sandbox's DELIVERED report",
        )
        page.reload()
        _step(page, "10-reply-delivered")
        wait_until(
            lambda: Message.objects.filter(pk=reply.pk, status="read").exists(),
            60,
            "the sandbox's READ report",
        )
        page.reload()
        expect(page.locator(".inline-group").first).to_contain_text("Read")
        _step(page, "11-reply-read")
        # Stopped as an operator stops it, so that its database session ends with the test.
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)

    reports = Callback.objects.filter(trigger="MESSAGE_DELIVERY").order_by("id")
    assert [c.summary["status"] for c in reports] == ["DELIVERED", "READ"]
    assert all(c.simulated for c in Callback.objects.all())
    assert fake_sinch.sends == []
