"""On a 1366x768 laptop, the admin keeps what a person typed: a reply Sinch refused stays in
its box beside the error, and a paste too large for the server brings the page back with the
limit and what to do (a large one the server takes is refused on its field, the text kept)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from conversations.models import Message
from integrations.models import Integration
from tests.e2e.conftest import screenshot
from tests.factories import make_contact, make_queue, make_service
from tests.fakesinch import FakeSinch, sinch_error

pytestmark = pytest.mark.e2e

LAPTOP: ViewportSize = {"width": 1366, "height": 768}


def test_a_reply_sinch_refuses_keeps_its_text(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch
) -> None:
    page = admin_login
    page.set_viewport_size(LAPTOP)
    make_service(app_id="01E4556565565ERKYO")
    contact = make_contact(make_queue("Support", ["01E4556565565ERKYO@whatsapp"]))
    fake_sinch.script_send(400, sinch_error(400, "Recipient is not opted in", "INVALID_ARGUMENT"))
    typed = "Hello! Your order #42 ships today.\nAnything else I can do?"

    page.goto(f"{live_server}/admin/conversations/contact/{contact.pk}/change/")
    page.get_by_label("Reply").fill(typed)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator(".messagelist .error")).to_contain_text(
        "Sinch answered 400 INVALID_ARGUMENT: Recipient is not opted in"
    )
    expect(page.locator("#id_reply_text")).to_have_value(typed)
    assert not Message.objects.filter(direction="outbound").exists()
    screenshot(page, "forms-reply-refused-text-kept")

    # Sent once Sinch takes it: the box is empty again.
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Reply sent.")
    expect(page.locator("#id_reply_text")).to_have_value("")


def test_a_paste_over_the_upload_limit_keeps_the_page(
    admin_login: Page, live_server: object
) -> None:
    page = admin_login
    page.set_viewport_size(LAPTOP)
    add = f"{live_server}/admin/integrations/integration/add/?channel_type=chat"
    page.goto(add)
    page.fill("#id_name", "CRM lookup")
    page.fill("#id_endpoint_url", "https://crm.example.com/events")
    page.check("input[name=events][value=queued]")
    page.check("#id_direct_chats")

    # Three megabytes pasted: more than the 2.5 MiB the server takes in one request.
    pasted = json.dumps({"request": {"method": "POST", "body": {"table": "x" * 3_000_000}}})
    page.fill("#id_configuration", pasted)
    page.click('input[name="_save"]')

    expect(page.locator(".messagelist .error")).to_contain_text(
        "Nothing was saved: the form sent more than the 2.5 MiB this server takes in one "
        "request (DATA_UPLOAD_MAX_MEMORY_SIZE)."
    )
    expect(page.locator(".messagelist .error")).to_contain_text(
        "an integration's JSON configuration may have at most 64 KiB"
    )
    assert page.url == add
    expect(page.locator("#id_configuration")).to_be_visible()
    assert not Integration.objects.exists()
    screenshot(page, "forms-upload-limit-page-kept")

    # Smaller, but over the configuration's own limit: refused on the field, every box kept.
    page.fill("#id_name", "CRM lookup")
    page.fill("#id_endpoint_url", "https://crm.example.com/events")
    page.check("input[name=events][value=queued]")
    page.check("#id_direct_chats")
    large = json.dumps({"request": {"method": "POST", "body": {"table": "y" * 70_000}}})
    page.fill("#id_configuration", large)
    page.click('input[name="_save"]')

    expect(page.locator(".field-configuration .errorlist")).to_contain_text(
        "At most 64 KiB of JSON: this one is"
    )
    expect(page.locator("#id_configuration")).to_have_value(large)
    expect(page.locator("#id_name")).to_have_value("CRM lookup")
    assert not Integration.objects.exists()
    screenshot(page, "forms-configuration-limit-text-kept")
