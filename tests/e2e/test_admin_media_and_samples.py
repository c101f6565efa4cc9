"""In the browser: an agent sends a voice note to a WhatsApp customer of an EU messaging service
and is told it went as a link; an administrator tries an outbound integration with the outbound
sample, and reads that calls are configuration only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LAPTOP, screenshot
from tests.factories import make_contact, make_integration, make_queue, make_service
from tests.fakesinch import FakeSinch

pytestmark = pytest.mark.e2e

VOICE_NOTE = "https://cdn.example.com/media/voice-note.ogg"


def test_an_agent_sending_audio_through_the_eu_region_is_told_it_went_as_a_link(
    admin_login: Page, live_server: object, fake_sinch: FakeSinch
) -> None:
    page = admin_login
    page.set_viewport_size(LAPTOP)
    make_service(app_id="01E4556565565ERKYO")  # an EU service connection
    contact = make_contact(make_queue("Support", ["01E4556565565ERKYO@whatsapp"]))

    page.goto(f"{live_server}/admin/conversations/contact/{contact.pk}/change/")
    page.get_by_label("Reply").fill("Here is the recording you asked for.")
    page.get_by_label("Media URL").fill(VOICE_NOTE)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator(".messagelist .warning")).to_contain_text(f"Sent as a link: {VOICE_NOTE}.")
    [send] = fake_sinch.sends
    assert send.body["message"] == {
        "text_message": {"text": f"Here is the recording you asked for.\n{VOICE_NOTE}"}
    }
    screenshot(page, "reply-eu-media-sent-as-link")


def test_an_outbound_integration_is_tried_with_the_outbound_sample(
    admin_login: Page, live_server: object
) -> None:
    page = admin_login
    page.set_viewport_size(LAPTOP)
    make_service(app_id="01E4556565565ERKYO")
    queue = make_queue("Sales", ["01E4556565565ERKYO@whatsapp"])
    both = make_integration(
        "Outbound listener", queues=[queue], direction="both", events=["accepted", "ended"]
    )

    page.goto(f"{live_server}/admin/integrations/integration/{both.pk}/test/")
    page.get_by_label("Chats out (outbound)").check()
    page.get_by_role("button", name="Run test").click()

    expect(page.locator("h2", has_text="Dry run")).to_contain_text("(chat, outbound)")
    expect(page.locator(".test-step.outcome-ok").first).to_contain_text("fires")
    screenshot(page, "test-run-outbound-sample")

    page.goto(f"{live_server}/admin/integrations/integration/add/?channel_type=phone")
    expect(page.locator(".field-channel_type .help")).to_contain_text(
        "Calls never come from the Sinch Conversation API"
    )
    screenshot(page, "integration-phone-configuration-only")
