"""An operator follows an inbound WhatsApp conversation from its queue to its end."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from conversations.models import Contact
from messaging.webhooks.processing import callbacks_process_pending
from tests.e2e.conftest import screenshot
from tests.factories import make_agent, make_service
from tests.fakesinch import FakeSinch
from tests.sinch import fixture_body, signed_headers

pytestmark = pytest.mark.e2e


def test_operator_handles_an_inbound_whatsapp_conversation(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch
) -> None:
    page = admin_login
    service = make_service(app_id="01E4556565565ERKYO")
    agent = make_agent("Anna Agent", number="1001")

    # The administrator creates the queue, typing the app ID in lower case.
    page.goto(f"{live_server}/admin/queues/queue/add/")
    page.fill("#id_name", "Support")
    page.fill("#id_addresses", "01e4556565565erkyo@whatsapp")
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist")).to_contain_text(
        "App IDs are upper-case in Sinch: “01e4556565565erkyo@whatsapp” was saved as "
        "“01E4556565565ERKYO@whatsapp.sinchconversation.com”."
    )
    expect(page.locator("#result_list")).to_contain_text(
        "01E4556565565ERKYO@whatsapp.sinchconversation.com"
    )

    # A customer writes on WhatsApp: Sinch posts the signed callback, the worker processes it.
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
    # The fixture's message was written when it was recorded; WhatsApp's 24-hour window counts
    # from when the customer wrote, so the customer writes now here.
    contact.messages.update(created_at=timezone.now())

    page.goto(f"{live_server}/admin/queues/queue/")
    expect(page.locator("td.field-waiting")).to_have_text("1")
    screenshot(page, "queues-waiting")

    page.goto(f"{live_server}/admin/conversations/contact/")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Queued")
    expect(row).to_contain_text("Support")
    expect(row).to_contain_text("whatsapp")
    screenshot(page, "contacts-queued")
    row.get_by_role("link", name=contact.pk).click()
    expect(page.locator(".contact-actions")).to_contain_text("waiting in queue Support")
    expect(page.locator(".inline-group").first).to_contain_text("Hello, I need help with my order")

    # Agents are chosen by searching (the admin's select2 autocomplete), not from a list.
    page.locator("form.act-allocated .select2-selection").click()
    page.locator(".select2-search__field").fill("Anna")
    page.get_by_role("option", name=str(agent)).click()
    page.get_by_role("button", name="Allocate").click()
    expect(page.locator(".messagelist")).to_contain_text("Allocated.")
    expect(page.locator(".contact-actions")).to_contain_text("allocated to Anna Agent (1001)")

    page.get_by_role("button", name="Accept").click()
    expect(page.locator(".messagelist")).to_contain_text("Accepted.")

    page.get_by_label("Reply").fill("Hi! Let me look at your order.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist")).to_contain_text("Reply sent.")
    [send] = fake_sinch.sends
    assert send.body["message"] == {"text_message": {"text": "Hi! Let me look at your order."}}
    assert send.body["recipient"]["identified_by"]["channel_identities"] == [
        {"channel": "WHATSAPP", "identity": "46701234567"}
    ]
    expect(page.locator(".inline-group").first).to_contain_text("Hi! Let me look at your order.")
    screenshot(page, "contact-accepted-replied")

    page.get_by_role("button", name="End", exact=True).click()
    expect(page.locator("#content-main")).to_contain_text("It ends for good")
    page.get_by_role("button", name="Yes, end it").click()
    expect(page.locator(".messagelist")).to_contain_text("Ended.")
    timeline = page.locator(".inline-group").nth(1)
    for step in ("Received", "Queued", "Allocated", "Accepted", "Ended"):
        expect(timeline).to_contain_text(step)
    expect(timeline).to_contain_text("Allocated to Anna Agent (1001) (admin)")
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)
    screenshot(page, "contact-timeline")
