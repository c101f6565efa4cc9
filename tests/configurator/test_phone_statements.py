"""Calls never come from the Conversation API: the queue and integration forms and the API schema
say that phone queues and call events are configuration only, tried with test runs."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from queues.models import Queue
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

STATEMENT = "Calls never come from the Sinch Conversation API"
TEST_RUNS = "Test runs (with a phone sample) are the way to try call integrations."


def help_of(page: str, field: str) -> str:
    """The help text the admin shows under a field."""
    row = re.search(
        rf'class="form-row[^"]*\bfield-{field}\b(.*?)(class="form-row|</fieldset>)', page, re.S
    )
    assert row is not None, f"no {field} on the page"
    match = re.search(r'<div class="help"[^>]*>\s*<div>(.*?)</div>', row[1], re.S)
    assert match is not None, f"no help under {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match[1]))


def test_the_queue_form_says_phone_queues_are_configuration_only(admin_client_: Client) -> None:
    page = admin_client_.get("/admin/queues/queue/add/").content.decode()
    help_text = help_of(page, "channel_type")
    assert STATEMENT in help_text
    assert "phone queues and call events are configuration for a telephony source" in help_text
    assert TEST_RUNS in help_text


@pytest.mark.parametrize("channel_type", ["phone", "multi", "chat"])
def test_the_integration_form_says_it_by_channel_type_events_and_direct_calls(
    admin_client_: Client, channel_type: str
) -> None:
    page = admin_client_.get(
        f"/admin/integrations/integration/add/?channel_type={channel_type}"
    ).content.decode()
    for field in ("channel_type", "events", "direct_calls"):
        assert STATEMENT in help_of(page, field), field
        assert TEST_RUNS in help_of(page, field), field
    assert "configuration only" in help_of(page, "queues")


def test_the_integration_page_and_the_first_question_say_it(
    admin_client_: Client, queue: Queue
) -> None:
    choose = admin_client_.get("/admin/integrations/integration/add/").content.decode()
    assert STATEMENT in choose
    calls = make_integration(channel_type="phone", direct_calls=True, events=["accepted"])
    page = admin_client_.get(f"/admin/integrations/integration/{calls.pk}/change/")
    assert 'class="calls-note"' in page.content.decode()


def test_the_api_schema_says_it(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    described = {
        ("Queue", "channel_type"),
        ("Integration", "channel_type"),
        ("Integration", "events"),
        ("Integration", "direct_calls"),
        ("TestRunRequestRequest", "channel_type"),
    }
    for component, field in described:
        description = components[component]["properties"][field].get("description", "")
        assert "Conversation API" in description, (component, field)
    assert TEST_RUNS in components["Integration"]["properties"]["events"]["description"]
