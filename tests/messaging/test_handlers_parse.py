"""Parsing a notification's ids: a field of the wrong JSON type is named as such, not "missing"."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.models import Callback, MessagingService
from messaging.webhooks.handlers import CallbackError, DeliveryReport, InboundMessage
from messaging.webhooks.processing import callbacks_process_pending
from tests.sinch import fixture_body, post_callback
from tests.wsgiclient import WSGIClient

INBOUND = {
    "id": "01HMSG00000000000000000001",
    "contact_id": "01HCONTACT",
    "conversation_id": "01HCONVERSATION",
    "channel_identity": {"channel": "WHATSAPP", "identity": "46700000001", "app_id": "APP"},
    "contact_message": {"text_message": {"text": "Hello"}},
}
REPORT = {
    "message_id": "01HMSGOUT",
    "status": "DELIVERED",
    "contact_id": "C",
    "conversation_id": "V",
}


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("id", 123, "message.id is not a string but a number"),
        ("id", 1.5, "message.id is not a string but a number"),
        ("id", True, "message.id is not a string but true or false"),
        ("id", {"value": "x"}, "message.id is not a string but an object"),
        ("id", ["x"], "message.id is not a string but a list"),
        ("id", None, "message has no id"),
        ("id", "", "message has no id"),
        ("contact_id", 42, "message.contact_id is not a string but a number"),
        ("conversation_id", {}, "message.conversation_id is not a string but an object"),
        ("id", "x" * 101, "message.id is longer than 100 characters"),
    ],
)
def test_inbound_message_names_the_id_field_of_the_wrong_type(
    field: str, value: Any, error: str
) -> None:
    with pytest.raises(CallbackError) as raised:
        InboundMessage.parse({**INBOUND, field: value})

    assert str(raised.value) == error


def test_inbound_message_takes_string_ids_and_absent_optional_ones() -> None:
    parsed = InboundMessage.parse({**INBOUND, "contact_id": None, "conversation_id": ""})

    assert (parsed.message_id, parsed.contact_id, parsed.conversation_id) == (INBOUND["id"], "", "")


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("message_id", 7, "message_id is not a string but a number"),
        ("message_id", None, "delivery report has no message_id"),
        ("status", 3, "status is not a string but a number"),
        ("status", "", "delivery report has no status"),
        ("contact_id", [1], "contact_id is not a string but a list"),
        ("conversation_id", False, "conversation_id is not a string but true or false"),
    ],
)
def test_delivery_report_names_the_field_of_the_wrong_type(
    field: str, value: Any, error: str
) -> None:
    with pytest.raises(CallbackError) as raised:
        DeliveryReport.parse({**REPORT, field: value}, "message_id")

    assert str(raised.value) == error


@pytest.mark.django_db
@pytest.mark.usefixtures("queue")
def test_callback_with_a_numeric_message_id_fails_saying_so(service: MessagingService) -> None:
    body = fixture_body("message_inbound", message__id=12345)
    assert post_callback(WSGIClient(), service.pk, body).status_code == 200

    callbacks_process_pending()

    callback = Callback.objects.get()
    assert (callback.status, callback.status_reason) == (
        "failed",
        "message.id is not a string but a number",
    )
