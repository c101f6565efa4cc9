"""The admin fits a 1366 x 768 laptop: no page scrolls sideways, even with 100-character names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from conversations.models import Contact, ContactEvent
from integrations.models import Delivery
from integrations.services import integration_save
from messaging.models import Callback, MessagingService
from tests.e2e.conftest import screenshot
from tests.factories import (
    inbound,
    make_agent,
    make_contact,
    make_integration,
    make_queue,
    make_service,
    outbound,
)

pytestmark = pytest.mark.e2e

# 100 characters with spaces, and 100 without (an identifier a person pasted).
LONG_NAME = ("Customer Service Northern Region Premium Support for WhatsApp and SMS " * 2)[
    :99
] + "Q"
LONG_WORD = "X" * 100


def _long_data() -> dict[str, int | str]:
    """A service, queues, agents, contacts, callbacks, integrations and deliveries with names,
    addresses and errors as long as the fields take."""
    apps = [f"01LAYOUT{i}{'A' * 17}" for i in range(3)]
    service = make_service(
        name=LONG_NAME,
        authentications=[
            outbound(app, key_id=f"3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c1{i}")
            for i, app in enumerate(apps)
        ]
        + [inbound()],
    )
    MessagingService.objects.create(
        name=LONG_WORD,
        service_connection=service.service_connection,
        type="sinchconversation",
        region=service.region,
        project_id=service.project_id,
    )
    overflow = make_queue(LONG_WORD, [f"{apps[1]}@telegram"])
    queue = make_queue(
        LONG_NAME,
        [f"{apps[0]}@whatsapp", f"{apps[0]}@viber", f"{apps[2]}@instagram"],
        overflow_queue=overflow,
        max_waiting_time=timedelta(minutes=5),
        description=LONG_NAME,
    )
    agent = make_agent(LONG_NAME, queues=[queue, overflow], chat_address=LONG_WORD)
    make_agent(LONG_WORD, queues=[overflow], email=f"{'a' * 60}@example.com")
    contact = make_contact(queue, identity="4670" + "1" * 40, text=LONG_NAME)
    Contact.objects.filter(pk=contact.pk).update(agent=agent)
    make_contact(overflow, identity=LONG_WORD)
    integrations = [
        make_integration(
            f"{LONG_NAME[:-2]}{i:02d}",
            endpoint_url=f"https://hooks.example.com/{'path/' * 12}{{event}}",
            events=["received", "queued", "allocated", "accepted", "ended", "abandoned"],
            queues=[queue, overflow],
        )
        for i in range(5)
    ]
    # A second version whose diff has long lines: an address and a JSON value without spaces.
    edited = integrations[0]
    edited.endpoint_url = f"https://hooks.example.com/{LONG_WORD}/{{event}}"
    edited.configuration = {"request": {"method": "POST", "body": {"note": LONG_WORD}}}
    integration_save(integration=edited)
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    first = Delivery.objects.create(
        integration=integrations[0],
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        status="failed",
        status_code=503,
        duration_ms=10_000,
        error=f"HTTPSConnectionPool: {LONG_WORD} {LONG_NAME} read timed out",
    )
    Delivery.objects.create(
        integration=integrations[0],
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        status="succeeded",
        status_code=200,
        attempt=2,
        previous=first,
    )
    for n in range(3):
        Callback.objects.create(
            service=service,
            trigger="MESSAGE_INBOUND",
            app_id=apps[0],
            status="failed",
            status_reason=f"{LONG_WORD} {LONG_NAME}",
            nonce=f"nonce-{n}",
            signed_at=event.occurred_at,
            raw_body=b'{"app_id": "X"}',
            dedupe_key=f"key-{n}",
            message_id=f"01MSG{n:020d}{'M' * 40}",
            contact_id="C" * 80,
            conversation_id="V" * 80,
        )
    return {
        "service": service.pk,
        "queue": queue.pk,
        "agent": agent.pk,
        "contact": contact.pk,
        "integration": integrations[0].pk,
        "delivery": first.pk,
        "callback": Callback.objects.order_by("pk").values_list("pk", flat=True).first() or 0,
    }


def _pages(ids: dict[str, int | str]) -> list[str]:
    return [
        "/admin/",
        "/admin/messaging/messagingservice/",
        f"/admin/messaging/messagingservice/{ids['service']}/change/",
        "/admin/messaging/messagingservice/add/",
        "/admin/messaging/callback/",
        f"/admin/messaging/callback/{ids['callback']}/change/",
        f"/admin/messaging/callback/{ids['callback']}/delete/",
        "/admin/section/conversations/",
        "/admin/queues/queue/",
        f"/admin/queues/queue/{ids['queue']}/change/",
        "/admin/queues/queue/add/",
        "/admin/conversations/contact/",
        f"/admin/conversations/contact/{ids['contact']}/change/",
        "/admin/conversations/agent/",
        f"/admin/conversations/agent/{ids['agent']}/change/",
        f"/admin/conversations/contact/start/?queue={ids['queue']}&agent={ids['agent']}",
        "/admin/conversations/message/",
        "/admin/conversations/contactevent/",
        "/admin/integrations/integration/",
        f"/admin/integrations/integration/{ids['integration']}/change/",
        "/admin/integrations/integration/add/?channel_type=chat",
        "/admin/integrations/delivery/",
        f"/admin/integrations/delivery/{ids['delivery']}/change/",
        f"/admin/integrations/integration/{ids['integration']}/versions/",
        f"/admin/integrations/integration/{ids['integration']}/versions/2/",
        f"/admin/integrations/integration/{ids['integration']}/versions/1/restore/",
        "/admin/configurator/configurationtransfer/",
    ]


# What scrolls sideways: the page itself, or a box inside it (Django's changelist table and
# tabular inlines scroll in a box of their own, which hides the right-hand columns as well).
SIDEWAYS = """() => {
  const found = {};
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) found.document = doc.scrollWidth - window.innerWidth;
  for (const box of document.querySelectorAll("body *")) {
    const overflow = getComputedStyle(box).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && box.clientWidth > 0
        && box.scrollWidth > box.clientWidth + 1) {
      const name = box.id ? "#" + box.id : box.tagName.toLowerCase() + "." + box.className;
      found[name] = box.scrollWidth - box.clientWidth;
    }
  }
  return found;
}"""


def _sideways(page: Page) -> dict[str, int]:
    """What scrolls sideways on the page, and by how many pixels (empty when it all fits)."""
    found: dict[str, int] = page.evaluate(SIDEWAYS)
    return found


def test_no_admin_page_scrolls_sideways_at_1366_px(laptop: Page, live_server: object) -> None:
    ids = _long_data()
    wider = {}
    for path in _pages(ids):
        laptop.goto(f"{live_server}{path}")
        slug = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
        screenshot(laptop, f"layout-1366-{slug or 'index'}")
        if found := _sideways(laptop):
            wider[path] = found

    # At 1280 px too: what fits there leaves room at 1366 px for one more narrow column (a
    # badge or a flag) on any list.
    laptop.set_viewport_size({"width": 1280, "height": 768})
    for path in _pages(ids):
        laptop.goto(f"{live_server}{path}")
        if found := _sideways(laptop):
            wider[f"{path} at 1280 px"] = found

    assert not wider, "\n".join(f"{path}: {found}" for path, found in wider.items())


def test_end_and_abandon_ask_first_and_agents_of_the_queue_come_first(
    laptop: Page, live_server: object
) -> None:
    service = make_service(app_id="01E4556565565ERKYO")
    assert service.pk
    support = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    sales = make_queue("Sales", ["01E4556565565ERKYO@sms"])
    make_agent("Aaron Other", queues=[sales])
    anna = make_agent("Anna Support", queues=[support])
    waiting = make_contact(support, identity="46700000001")
    talking = make_contact(support, identity="46700000002")
    page = laptop

    # Abandon: the button asks first; "No" changes nothing.
    page.goto(f"{live_server}/admin/conversations/contact/{waiting.pk}/change/")
    page.get_by_role("button", name="Abandon", exact=True).click()
    expect(page.locator("#content-main")).to_contain_text("recorded as abandoned")
    screenshot(page, "contact-abandon-confirm")
    assert not _sideways(page)
    page.locator("#confirm-no").click()
    expect(page.locator(".contact-actions")).to_contain_text("State: Queued")
    page.get_by_role("button", name="Abandon", exact=True).click()
    page.locator("#confirm-yes").click()
    expect(page.locator(".messagelist")).to_contain_text("Abandoned.")
    waiting.refresh_from_db()
    assert waiting.state == "abandoned"

    # Allocate: nothing chosen beforehand; the agents of the conversation's queue come first.
    page.goto(f"{live_server}/admin/conversations/contact/{talking.pk}/change/")
    allocate = page.locator("form.act-allocated")
    expect(allocate.locator(".select2-selection__placeholder")).to_have_text("Search an agent…")
    allocate.locator(".select2-selection").click()
    groups = page.locator(".select2-results__group")
    expect(groups.first).to_have_text("Serving this conversation's queue")
    expect(groups.nth(1)).to_have_text("Other agents")
    options = page.locator(".select2-results__option[role=option]")
    expect(options.first).to_contain_text("Anna Support")
    expect(options.nth(1)).to_contain_text("Aaron Other")
    screenshot(page, "contact-allocate-agents-of-the-queue-first")
    options.first.click()
    page.get_by_role("button", name="Allocate").click()
    page.get_by_role("button", name="Accept").click()
    transfer = page.locator("form.act-transferred")
    expect(transfer.locator(".select2-selection__placeholder").first).to_have_text(
        "Search a queue…"
    )

    # End asks too; "Yes" ends it.
    page.get_by_role("button", name="End", exact=True).click()
    expect(page.locator("#content-main")).to_contain_text(f"accepted by {anna}")
    screenshot(page, "contact-end-confirm")
    page.get_by_role("button", name="Yes, end it").click()
    expect(page.locator(".messagelist")).to_contain_text("Ended.")
    talking.refresh_from_db()
    assert talking.state == "ended"


def test_the_copy_button_says_copied(laptop: Page, live_server: object) -> None:
    service = make_service(app_id="01E4556565565ERKYO")
    laptop.context.grant_permissions(["clipboard-read", "clipboard-write"])
    laptop.goto(f"{live_server}/admin/messaging/messagingservice/{service.pk}/change/")
    button = laptop.locator("#webhook-url-copy")
    expect(button).to_have_text("Copy")

    button.click()

    expect(button).to_have_text("Copied")
    copied = laptop.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server}/webhooks/sinch/{service.pk}/"
    screenshot(laptop, "messaging-service-copied")
    expect(button).to_have_text("Copy", timeout=10_000)
