"""What the lists show so that they fit a 1366 px laptop (the browser test measures the width:
tests/e2e/test_admin_layout.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import ContactEvent
from integrations.models import Delivery
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_contact, make_integration, make_queue
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/queues/queue/", "/admin/queues/queue/add/", "/admin/docs/api/"]
)
def test_every_admin_page_loads_the_layout_rules_last(admin_client_: Client, path: str) -> None:
    html = admin_client_.get(path).content.decode()
    head = html.split("</head>")[0]
    assert head.count("configurator/admin/layout.css") == 1
    assert head.index("admin/css/responsive.css") < head.index("configurator/admin/layout.css")


def test_the_delivery_list_shows_status_code_and_duration_in_one_column(
    admin_client_: Client, queue: Queue
) -> None:
    contact = make_contact(queue)
    event = ContactEvent.objects.filter(contact=contact).first()
    assert event is not None
    Delivery.objects.create(
        integration=make_integration("CRM sync", queues=[queue]),
        contact=contact,
        contact_event=event,
        event="queued",
        mode="background",
        status="failed",
        status_code=503,
        duration_ms=10_250,
        attempt=3,
        error="Service Unavailable",
    )

    html = admin_client_.get("/admin/integrations/delivery/").content.decode()

    assert '<td class="field-status_line">Failed · 503 · 10.2 s</td>' in html
    assert '<td class="field-attempt">3</td>' in html
    assert '<td class="field-error_short">Service Unavailable</td>' in html
    for gone in ("field-mode", "field-status_code", "field-duration_ms"):
        assert gone not in html


def test_the_integration_list_shows_three_warnings_and_the_rest_on_demand(
    admin_client_: Client, queue: Queue
) -> None:
    events = ["received", "queued", "accepted", "ended", "abandoned"]
    for n in range(1, 5):
        make_integration(f"Hook {n}", queues=[queue], ordinal=n, events=events)

    html = admin_client_.get("/admin/integrations/integration/").content.decode()

    row = html.split('class="field-notes"')[1].split("</td>")[0]
    shown, hidden = row.split("<details>")
    assert shown.count('class="integration-warning"') == 3
    assert "<summary>2 more</summary>" in hidden
    assert hidden.count('class="integration-warning"') == 2
    assert '<td class="field-conversations">Chat · Inbound</td>' in html


def test_the_callback_list_lets_long_triggers_break(
    admin_client_: Client, service: MessagingService
) -> None:
    post_callback(Client(), service.pk, fixture_body("message_inbound"))
    html = admin_client_.get("/admin/messaging/callback/").content.decode()
    assert '<td class="field-trigger_name">MESSAGE_<wbr>INBOUND</td>' in html


def test_the_queue_list_says_waits_and_overflow_in_short_words(
    admin_client_: Client, queue: Queue
) -> None:
    from datetime import timedelta

    overflow = make_queue("Overflow", ["01E4556565565ERKYO@telegram"])
    queue.overflow_queue = overflow
    queue.max_waiting_time = timedelta(minutes=3, seconds=20)
    queue.save()
    make_contact(queue)

    html = admin_client_.get("/admin/queues/queue/").content.decode()

    assert "→ Overflow after 3 min 20 s" in html
    support = next(row for row in html.split("<tr") if ">Support</a>" in row)
    oldest = support.split('class="field-oldest_wait">')[1].split("</td>")[0]
    assert oldest.endswith(" s") and "minute" not in oldest
