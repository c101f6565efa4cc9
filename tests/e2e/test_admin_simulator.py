"""An administrator with no customer at hand simulates a message from the messaging service's
page, at 1366x768, and follows it: its callback, its conversation, a reply and its reports."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from conversations.models import Contact, Message
from messaging.models import Callback
from messaging.sinch import sandbox
from messaging.webhooks.processing import callbacks_process_pending
from tests.e2e.conftest import screenshot
from tests.factories import make_queue, make_service
from tests.fakesinch import FakeSinch
from tests.taskrunner import run_tasks_until

pytestmark = pytest.mark.e2e

APP = "01E4556565565ERKYO"


def test_administrator_simulates_a_message_and_follows_it_to_its_conversation(
    admin_login: Page,
    live_server: object,
    fake_sinch: FakeSinch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox, "REPORT_DELAY_SECONDS", 0.0)
    page = admin_login
    page.set_viewport_size({"width": 1366, "height": 768})
    service = make_service(app_id=APP)
    make_queue("Support", [f"{APP}@whatsapp"])

    page.goto(f"{live_server}/admin/messaging/messagingservice/{service.pk}/change/")
    page.get_by_role("link", name="Simulate a message").click()
    expect(page.locator("#simulate-routes")).to_contain_text(f"{APP} WHATSAPP → Support")
    page.fill("#id_text", "Hello, is my parcel on its way?")
    screenshot(page, "simulator-form")
    page.get_by_role("button", name="Send simulated message").click()

    expect(page.locator("#simulated-callback-status")).to_have_text("Pending")
    callback = Callback.objects.get()
    assert callback.simulated
    identity = json.loads(bytes(callback.raw_body))["message"]["channel_identity"]["identity"]
    # Filled in for the same customer: a second message would continue the conversation.
    expect(page.locator("#id_identity")).to_have_value(identity)
    screenshot(page, "simulator-sent")

    # A worker processes it; the page, reloading itself, then links the conversation.
    assert callbacks_process_pending() == 1
    expect(page.locator("#simulated-conversation-link")).to_be_visible(timeout=15_000)
    expect(page.locator("#simulated-callback-status")).to_have_text("Processed")
    screenshot(page, "simulator-processed")
    contact = Contact.objects.get()
    assert contact.simulated and contact.source == identity

    href = page.locator("#simulated-callback-link").get_attribute("href")
    assert href == f"/admin/messaging/callback/{callback.pk}/change/"

    # Its queue's conversations: there it waits, marked simulated.
    page.locator("#simulated-queue-link").click()
    row = page.locator("#result_list tbody tr").first
    expect(row.locator(".simulated-badge")).to_have_text("simulated")
    expect(row).to_contain_text("Queued")
    expect(row).to_contain_text("Support")
    screenshot(page, "simulator-queue-contacts")

    page.goto(f"{live_server}{href}")
    expect(page.locator(".field-simulated")).to_be_visible()
    screenshot(page, "simulator-callback")
    page.goto(f"{live_server}/admin/messaging/callback/?simulated__exact=1")
    expect(page.locator("#result_list .simulated-badge")).to_have_count(1)

    page.goto(f"{live_server}/admin/conversations/contact/?simulated__exact=1")
    row = page.locator("#result_list tbody tr").first
    row.get_by_role("link", name=contact.pk).click()
    expect(page.locator(".field-simulated_note")).to_contain_text("local sandbox")
    expect(page.locator(".inline-group").first).to_contain_text("Hello, is my parcel on its way?")

    # The reply stays in the sandbox, which reports it DELIVERED, then READ.
    page.get_by_label("Reply").fill("It arrives tomorrow.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist")).to_contain_text("Reply sent.")
    reply = Message.objects.get(direction="outbound")
    run_tasks_until(lambda: Message.objects.filter(pk=reply.pk, status="read").exists())
    page.reload()
    expect(page.locator(".inline-group").first).to_contain_text("Read")
    screenshot(page, "simulator-reply-read")
    reports = Callback.objects.filter(trigger="MESSAGE_DELIVERY").order_by("id")
    assert [c.summary["status"] for c in reports] == ["DELIVERED", "READ"]
    assert fake_sinch.requests == []
