"""Rendering a request from placeholders: typed values, encoded URLs, clean headers, masking."""

from __future__ import annotations

import json
from pathlib import Path

from configurator.secrets import MASK
from integrations.rendering import (
    RenderContext,
    header_value,
    lookup,
    render_request,
    render_value,
)

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "integrations"
CONTACT = {
    "id": "0123456789ABCDEF0123456789ABCDEF",
    "priority": 100,
    "channel_type": "chat",
    "channel_sub_type": "whatsapp",
    "direction": "inbound",
    "source": "+46 70 123/45",
    "queue": {"id": 7, "address": "01E4556565565ERKYO@whatsapp.sinchconversation.com"},
    "agent": None,
    "skills": [{"id": "S1", "value": 5, "name": "billing"}],
    "cad": {"customer_data": {"rank": "gold"}},
}
EVENT = {"name": "queued", "datetime": "2026-11-21T10:00:00.000Z", "id": "EV1"}
CONTEXT = RenderContext(event=EVENT, contact=CONTACT, authentications={"api-key": "s3cr3t"})


def test_a_lone_placeholder_keeps_its_type_and_text_interpolates() -> None:
    rendered = render_value(
        {
            "contact": "{contact}",
            "priority": "{contact.priority}",
            "skills": "{contact.skills}",
            "agent": "{contact.agent}",
            "text": "Contact {contact.id} waits in {contact.queue} "
            "with priority {contact.priority}",
            "missing": "agent: {contact.agent.name}.",
            "literal": "{{contact.id}}",
            "nested": ["{event}", {"rank": "{contact.cad.customer_data.rank}"}],
        },
        CONTEXT,
    )
    assert rendered["contact"] == CONTACT
    assert rendered["priority"] == 100
    assert rendered["skills"] == CONTACT["skills"]
    assert rendered["agent"] is None
    assert rendered["text"] == (
        'Contact 0123456789ABCDEF0123456789ABCDEF waits in {"id":7,"address":'
        '"01E4556565565ERKYO@whatsapp.sinchconversation.com"} with priority 100'
    )
    assert rendered["missing"] == "agent: ."
    assert rendered["literal"] == "{contact.id}"
    assert rendered["nested"] == ["queued", {"rank": "gold"}]


def test_seed_004_listener_request() -> None:
    configuration = json.loads((SEED / "seed004_variant1.json").read_text())
    request = render_request(configuration, "https://hooks.example.com/events/{event}", CONTEXT)
    assert request.method == "POST"
    assert request.url == "https://hooks.example.com/events/queued"
    assert request.headers == {"x-api-key": "s3cr3t"}
    assert request.body == {"event": "queued", "contact": CONTACT}
    assert request.timeout == 10.0


def test_url_values_are_percent_encoded_and_params_are_text() -> None:
    configuration = {
        "request": {
            "method": "GET",
            "params": {"phone": "{contact.source}", "priority": "{contact.priority}", "n": 5},
            "body": {"ignored": True},
            "timeout": "2.5",
        }
    }
    request = render_request(
        configuration, "https://crm.example.com/by-phone/{contact.source}?q={event}", CONTEXT
    )
    assert request.url == "https://crm.example.com/by-phone/%2B46%2070%20123%2F45?q=queued"
    assert request.params == {"phone": "+46 70 123/45", "priority": "100", "n": "5"}
    assert request.has_body is False and request.body is None
    assert request.timeout == 2.5


def test_header_values_lose_line_breaks() -> None:
    sneaky = {**CONTACT, "source": "x\r\nX-Injected: 1"}
    request = render_request(
        {"request": {"method": "POST", "headers": {"x-source": "{contact.source}"}}},
        "https://hooks.example.com/",
        RenderContext(event=EVENT, contact=sneaky),
    )
    assert request.headers == {"x-source": "x  X-Injected: 1"}
    assert header_value("a\nb") == "a b"


def test_masked_context_keeps_secrets_out_of_the_record() -> None:
    configuration = {
        "request": {
            "method": "POST",
            "headers": {"x-api-key": "{authentications.api-key}"},
            "body": {"key": "{authentications.api-key}"},
        }
    }
    record = render_request(configuration, "https://h.example.com/", CONTEXT.masked()).as_record()
    assert "s3cr3t" not in json.dumps(record)
    assert record["headers"] == {"x-api-key": MASK} and record["body"] == {"key": MASK}


def test_response_placeholders_read_body_paths_and_headers() -> None:
    context = RenderContext(
        event=EVENT,
        contact=CONTACT,
        response={
            "status": 200,
            "body": {"queue": {"id": 9}, "records": [{"fields": {"rank": "100"}}]},
            "headers": {"X-Agent": "anna@example.com"},
        },
    )
    assert lookup("response.body.queue.id", context) == 9
    assert lookup("response.body.records.0.fields.rank", context) == "100"
    assert lookup("response.headers.x-agent", context) == "anna@example.com"
    assert lookup("response.status", context) == 200
    assert lookup("response.body.nothing.here", context) is None
