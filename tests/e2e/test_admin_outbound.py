"""An agent starts a chat from their page, at 1366x768: the form, the new conversation with the
message sent, then Accepted once Sinch reports it delivered."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from conversations.models import Contact
from messaging.webhooks.processing import callbacks_process_pending
from tests.e2e.conftest import screenshot
from tests.factories import make_agent, make_service
from tests.fakesinch import FakeSinch
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.e2e

APP = "01E4556565565ERKYO"
CUSTOMER = "46701239876"


def test_an_agent_starts_a_chat_and_sees_it_accepted_once_delivered(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch
) -> None:
    page = admin_login
    page.set_viewport_size({"width": 1366, "height": 768})
    service = make_service(app_id=APP)
    agent = make_agent("Alice Agent")

    page.goto(f"{live_server}/admin/conversations/agent/{agent.pk}/change/")
    page.get_by_role("link", name="Start a chat").click()
    expect(page.locator("#id_agent")).to_have_value(str(agent.pk))
    page.fill("#id_app_id", APP)
    page.select_option("#id_channel", "MESSENGER")
    page.fill("#id_identity", CUSTOMER)
    page.fill("#id_text", "Hello, this is Alice about your order")
    screenshot(page, "outbound-start-form")
    page.get_by_role("button", name="Send and start the chat").click()

    contact = Contact.objects.get()
    page.wait_for_url(f"{live_server}/admin/conversations/contact/{contact.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Chat started")
    expect(page.locator("body")).to_contain_text("Hello, this is Alice about your order")
    expect(page.locator(".contact-actions h2")).to_have_text("State: Allocated")
    expect(page.locator(".contact-actions .where")).to_contain_text("not reached yet")
    screenshot(page, "outbound-started")
    assert fake_sinch.sends[-1].body["recipient"]["identified_by"]["channel_identities"] == [
        {"channel": "MESSENGER", "identity": CUSTOMER}
    ]

    message = contact.messages.get()
    report = fixture_body(
        "message_delivery",
        message_delivery_report__message_id=message.sinch_message_id,
        message_delivery_report__channel_identity={
            "channel": "MESSENGER",
            "identity": CUSTOMER,
            "app_id": "",
        },
    )
    assert post_callback(Client(), service.pk, report).status_code == 200
    assert callbacks_process_pending() == 1
    page.reload()
    expect(page.locator(".contact-actions h2")).to_have_text("State: Accepted")
    expect(page.locator("body")).to_contain_text("Delivered")
    screenshot(page, "outbound-accepted")


def test_a_refused_start_keeps_what_was_typed_and_says_why(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch
) -> None:
    page = admin_login
    make_service(app_id=APP)
    agent = make_agent("Alice Agent")

    page.goto(f"{live_server}/admin/conversations/contact/start/?agent={agent.pk}")
    page.fill("#id_app_id", APP)
    page.select_option("#id_channel", "WHATSAPP")
    page.fill("#id_identity", CUSTOMER)
    page.fill("#id_text", "Hello")
    page.get_by_role("button", name="Send and start the chat").click()

    expect(page.locator(".field-template .errorlist")).to_contain_text(
        "only a template can start the chat"
    )
    expect(page.locator("#id_identity")).to_have_value(CUSTOMER)
    screenshot(page, "outbound-window-refused")
    assert fake_sinch.sends == []
    assert not Contact.objects.exists()
