"""Signed Sinch callbacks through the real webhook and worker, into contacts and messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conversations import messages as conversation_messages
from conversations import services as conversation_services
from conversations.models import Contact, ContactEvent, Message
from messaging import services
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import make_agent, make_queue
from tests.fakesinch import FakeSinch
from tests.sinch import fixture_body, post_callback, signed_headers

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
ADDRESS = f"{APP}@whatsapp.sinchconversation.com"
CONVERSATION = "01FJA8B4A7BM43YGWSG9GBV067"
SINCH_CONTACT = "01FJA8B466Y0R2GNXD78MD9SM1"
OUTBOUND_ID = "01HMSGOUTBOUND000000000001"


def deliver(client: Client, service: MessagingService, fixture: str, **changes: Any) -> Callback:
    """POST a signed callback, let the worker process it, and return it as stored."""
    response = post_callback(client, service.pk, fixture_body(fixture, **changes))
    assert response.status_code == 200, response.content
    callbacks_process_pending()
    return Callback.objects.get(pk=Callback.objects.order_by("-pk").values_list("pk")[:1])


def inbound(client: Client, service: MessagingService, n: int = 1, **changes: Any) -> Callback:
    return deliver(
        client, service, "message_inbound", message__id=f"01HMSGINBOUND{n:013d}", **changes
    )


def delivery(client: Client, service: MessagingService, status: str, **changes: Any) -> Callback:
    return deliver(
        client, service, "message_delivery", message_delivery_report__status=status, **changes
    )


def state() -> tuple[int, int, int]:
    return Contact.objects.count(), Message.objects.count(), ContactEvent.objects.count()


# -- MESSAGE_INBOUND


def test_inbound_message_opens_a_contact_queued_in_the_routed_queue(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    callback = inbound(client, service)

    assert callback.status == "processed", callback.status_reason
    contact = Contact.objects.get()
    assert contact.state == "queued"
    assert contact.queue == queue
    assert list(contact.events.values_list("event", flat=True)) == ["received", "queued"]
    assert contact.channel_type == "chat"
    assert contact.channel_sub_type == "whatsapp"
    assert contact.direction == "inbound"
    assert contact.source == "46701234567"
    assert contact.destination == ADDRESS
    assert contact.sinch_app_id == APP
    assert contact.sinch_channel == "WHATSAPP"
    assert contact.sinch_contact_id == SINCH_CONTACT
    assert contact.sinch_conversation_id == CONVERSATION
    assert contact.created == datetime(2026, 11, 21, 9, 0, 0, 120000, tzinfo=UTC)
    assert contact.waiting_since is not None
    message = Message.objects.get()
    assert message.contact == contact
    assert message.direction == "inbound"
    assert message.kind == "text"
    assert message.text == "Hello, I need help with my order"
    assert message.sinch_message_id == "01HMSGINBOUND0000000000001"
    assert message.status == "received"
    assert message.content == {"text_message": {"text": "Hello, I need help with my order"}}
    assert callback.summary["queue"] == "Support"
    assert callback.summary["address"] == ADDRESS
    assert callback.summary["contact"] == contact.pk
    assert callback.summary["new_contact"] is True


def test_second_message_of_the_conversation_joins_the_open_contact(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service, 1)
    callback = inbound(client, service, 2, message__contact_message={"text_message": {"text": "?"}})

    assert callback.status == "processed"
    assert callback.summary["new_contact"] is False
    contact = Contact.objects.get()
    assert list(contact.messages.values_list("text", flat=True)) == [
        "Hello, I need help with my order",
        "?",
    ]
    assert list(contact.events.values_list("event", flat=True)) == ["received", "queued"]


def test_message_after_the_contact_ended_opens_a_new_contact(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service, 1)
    first = Contact.objects.get()
    agent = make_agent(queues=[queue])
    conversation_services.contact_allocate(contact=first, agent=agent)
    conversation_services.contact_accept(contact=first)
    conversation_services.contact_end(contact=first)

    callback = inbound(client, service, 2)

    assert callback.status == "processed"
    second = Contact.objects.exclude(pk=first.pk).get()
    assert second.sinch_conversation_id == CONVERSATION
    assert second.state == "queued"
    assert list(second.events.values_list("event", flat=True)) == ["received", "queued"]
    assert second.messages.get().sinch_message_id == "01HMSGINBOUND0000000000002"
    assert first.messages.count() == 1


def test_message_of_another_conversation_opens_another_contact(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service, 1)
    inbound(client, service, 2, message__conversation_id="01FJA8B4A7BM43YGWSG9GBV999")
    assert Contact.objects.count() == 2


def test_messages_without_sinch_conversation_join_by_channel_identity(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service, 1, message__conversation_id="")
    inbound(client, service, 2, message__conversation_id="")
    inbound(
        client,
        service,
        3,
        message__conversation_id="",
        message__channel_identity={"channel": "WHATSAPP", "identity": "46709999999", "app_id": ""},
    )
    first, second = Contact.objects.order_by("created", "pk")
    assert first.messages.count() + second.messages.count() == 3
    assert sorted([first.messages.count(), second.messages.count()]) == [1, 2]
    assert {first.source, second.source} == {"46701234567", "46709999999"}


def test_no_queue_for_the_address_fails_the_callback_and_creates_nothing(
    client: Client, service: MessagingService
) -> None:
    make_queue("Telegram only", [f"{APP}@telegram"])
    callback = inbound(client, service)
    assert callback.status == "failed"
    assert callback.status_reason.startswith(f"no queue for address {ADDRESS}")
    assert state() == (0, 0, 0)


def test_channel_without_subchannel_fails_the_callback(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    callback = inbound(
        client,
        service,
        message__channel_identity={"channel": "KAKAOTALK", "identity": "x", "app_id": ""},
    )
    assert callback.status == "failed"
    assert callback.status_reason.startswith("no queue for channel KAKAOTALK of app")
    assert state() == (0, 0, 0)


def test_lower_case_app_id_in_the_payload_still_routes(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    callback = inbound(client, service, app_id=APP.lower())
    assert callback.status == "processed", callback.status_reason
    contact = Contact.objects.get()
    assert contact.queue == queue
    assert contact.sinch_app_id == APP
    assert contact.destination == ADDRESS


def test_message_on_another_subchannel_routes_to_its_queue(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    sms = make_queue("SMS", [f"{APP}@sms"])
    inbound(
        client,
        service,
        message__channel_identity={"channel": "SMS", "identity": "12025550199", "app_id": ""},
    )
    contact = Contact.objects.get()
    assert contact.queue == sms
    assert contact.channel_sub_type == "sms"
    assert contact.destination == f"{APP}@sms.sinchconversation.com"


def test_media_message_is_stored_as_media(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    url = "https://example.com/photo.jpg"
    inbound(client, service, message__contact_message={"media_message": {"url": url}})
    message = Message.objects.get()
    assert message.kind == "media"
    assert message.media_url == url
    assert message.text == ""
    assert message.content == {"media_message": {"url": url}}


def test_other_message_kinds_are_kept_with_readable_text(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    location = {
        "location_message": {
            "coordinates": {"latitude": 60.17, "longitude": 24.94},
            "title": "Office",
        }
    }
    inbound(client, service, message__contact_message=location)
    message = Message.objects.get()
    assert message.kind == "other"
    assert message.text == "Office (60.17, 24.94)"


# -- MESSAGE_DELIVERY


@pytest.mark.usefixtures("queue")
@pytest.mark.parametrize(
    ("status", "stored"),
    [
        ("QUEUED_ON_CHANNEL", "queued_on_channel"),
        ("DELIVERED", "delivered"),
        ("READ", "read"),
    ],
)
def test_delivery_report_updates_the_outbound_message(
    client: Client, service: MessagingService, sent_message: Message, status: str, stored: str
) -> None:
    callback = delivery(client, service, status)
    assert callback.status == "processed", callback.status_reason
    sent_message.refresh_from_db()
    assert sent_message.status == stored
    assert sent_message.status_reason == ""
    assert sent_message.status_at == datetime(2026, 11, 21, 9, 0, 0, 100000, tzinfo=UTC)
    assert callback.summary["message_status"] == stored


def test_failed_delivery_keeps_its_reason(
    client: Client, service: MessagingService, sent_message: Message
) -> None:
    callback = delivery(
        client,
        service,
        "FAILED",
        message_delivery_report__reason={
            "code": "RECIPIENT_NOT_REACHABLE",
            "description": "The recipient is not reachable on WhatsApp",
        },
    )
    assert callback.status == "processed"
    sent_message.refresh_from_db()
    assert sent_message.status == "failed"
    assert sent_message.status_reason == (
        "RECIPIENT_NOT_REACHABLE: The recipient is not reachable on WhatsApp"
    )


def test_reports_arriving_out_of_order_keep_the_later_status(
    client: Client, service: MessagingService, sent_message: Message
) -> None:
    delivery(client, service, "READ")
    late = delivery(client, service, "DELIVERED")
    assert late.status == "processed"
    sent_message.refresh_from_db()
    assert sent_message.status == "read"
    delivery(client, service, "QUEUED_ON_CHANNEL")
    sent_message.refresh_from_db()
    assert sent_message.status == "read"


@pytest.mark.usefixtures("queue")
def test_report_for_an_unknown_message_is_ignored(
    client: Client, service: MessagingService
) -> None:
    callback = delivery(client, service, "DELIVERED")
    assert callback.status == "ignored"
    assert callback.status_reason == "no outbound message with this id"


def test_report_that_overtook_the_reply_is_applied_once_the_reply_is_stored(
    client: Client,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Within WhatsApp's 24-hour window, so that the reply may be free text.
    inbound(client, service, message__accept_time=timezone.now().isoformat())
    contact = Contact.objects.get()
    early = delivery(client, service, "DELIVERED")
    assert early.status == "ignored"

    fake_sinch.script_send(
        200, {"message_id": OUTBOUND_ID, "accepted_time": "2026-11-21T09:00:00.050Z"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = conversation_messages.contact_reply(contact=contact, text="On it!")
    assert reply.status == "sent"
    early.refresh_from_db()
    assert early.status == "pending"

    callbacks_process_pending()

    early.refresh_from_db()
    assert early.status == "processed", early.status_reason
    reply.refresh_from_db()
    assert reply.status == "delivered"
    assert fake_sinch.sends[0].body["message"] == {"text_message": {"text": "On it!"}}


def test_an_early_report_waits_by_its_code_not_by_the_wording_of_its_reason(
    client: Client,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Within WhatsApp's 24-hour window, so that the reply may be free text.
    inbound(client, service, message__accept_time=timezone.now().isoformat())
    contact = Contact.objects.get()
    early = delivery(client, service, "DELIVERED")
    assert early.reason_code == "outbound_message_unknown"
    # The sentence is for people: rewording it changes no decision.
    Callback.objects.filter(pk=early.pk).update(status_reason="reworded for people")
    # A report ignored for another reason, though worded like the early one, is left alone.
    other = delivery(client, service, "DELIVERED")
    Callback.objects.filter(pk=other.pk).update(reason_code="")

    fake_sinch.script_send(200, {"message_id": OUTBOUND_ID})
    with django_capture_on_commit_callbacks(execute=True):
        conversation_messages.contact_reply(contact=contact, text="On it!")

    early.refresh_from_db()
    other.refresh_from_db()
    assert (early.status, early.reason_code) == ("pending", "")
    assert other.status == "ignored"


def test_the_migration_gives_waiting_reports_and_attempt_notes_their_code(
    client: Client, service: MessagingService
) -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("messaging.migrations.0007_callback_reason_code")
    waiting = delivery(client, service, "DELIVERED")
    in_progress = delivery(client, service, "READ")
    Callback.objects.filter(pk=in_progress.pk).update(
        status="pending", status_reason="attempt 2: taken over from worker w, which stopped"
    )
    done = delivery(client, service, "QUEUED_ON_CHANNEL")
    Callback.objects.filter(pk=done.pk).update(status_reason="attempt at nothing")
    Callback.objects.update(reason_code="")

    migration.codes_from_reasons(apps, None)

    codes = dict(Callback.objects.values_list("pk", "reason_code"))
    assert codes == {
        waiting.pk: "outbound_message_unknown",
        in_progress.pk: "attempt_note",
        done.pk: "",
    }


# -- CONVERSATION_STOP


def test_conversation_stop_abandons_a_queued_contact(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service)
    contact = Contact.objects.get()

    callback = deliver(client, service, "conversation_stop")

    assert callback.status == "processed", callback.status_reason
    assert callback.summary["contacts"] == {contact.pk: "abandoned"}
    contact.refresh_from_db()
    assert contact.state == "abandoned"
    assert contact.ended_at is not None
    last = contact.events.last()
    assert last is not None
    assert last.event == "abandoned"
    assert last.detail == "The customer's Sinch conversation stopped (Sinch)"


def test_conversation_stop_leaves_an_accepted_contact_to_its_agent(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    inbound(client, service)
    contact = Contact.objects.get()
    conversation_services.contact_allocate(contact=contact, agent=make_agent(queues=[queue]))
    conversation_services.contact_accept(contact=contact)

    callback = deliver(client, service, "conversation_stop")

    assert callback.status == "processed"
    assert callback.summary["contacts"] == {
        contact.pk: "accepted by an agent; left for the agent to end"
    }
    contact.refresh_from_db()
    assert contact.state == "accepted"
    assert contact.ended_at is None


@pytest.mark.usefixtures("queue")
def test_conversation_stop_without_open_contact_changes_nothing(
    client: Client, service: MessagingService
) -> None:
    callback = deliver(client, service, "conversation_stop")
    assert callback.status == "processed"
    assert callback.summary["contacts"] == "no open contact in this conversation"


# -- the same notification twice


@pytest.mark.parametrize(
    "fixture", ["message_inbound", "message_delivery", "conversation_stop"], ids=str
)
def test_processing_the_same_callback_twice_changes_nothing(
    client: Client, service: MessagingService, sent_message: Message, fixture: str
) -> None:
    if fixture == "conversation_stop":
        inbound(client, service)
    callback = deliver(client, service, fixture)
    assert callback.status == "processed", callback.status_reason
    before = state()
    history = list(ContactEvent.objects.values_list("pk", "event"))
    statuses = list(Message.objects.values_list("pk", "status", "status_at"))
    contacts = list(Contact.objects.values_list("pk", "state", "ended_at"))

    assert services.callbacks_reprocess(selection=Callback.objects.filter(pk=callback.pk)).done == 1
    callbacks_process_pending()

    callback.refresh_from_db()
    assert callback.status == "processed"
    assert callback.attempts == 2
    assert state() == before
    assert list(ContactEvent.objects.values_list("pk", "event")) == history
    assert list(Message.objects.values_list("pk", "status", "status_at")) == statuses
    assert list(Contact.objects.values_list("pk", "state", "ended_at")) == contacts


def test_sinch_retry_with_a_new_nonce_stores_one_message(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    body = fixture_body("message_inbound")
    first = signed_headers(body)
    retry = signed_headers(body)
    assert first["x-sinch-webhook-signature-nonce"] != retry["x-sinch-webhook-signature-nonce"]
    assert post_callback(client, service.pk, body, first).status_code == 200
    assert post_callback(client, service.pk, body, retry).status_code == 200

    assert callbacks_process_pending() == 2

    assert sorted(Callback.objects.values_list("status", flat=True)) == ["ignored", "processed"]
    assert state() == (1, 1, 2)


def test_retry_arriving_after_processing_stores_one_message(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    body = fixture_body("message_inbound")
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    processed = Callback.objects.get(status="processed")
    retry = Callback.objects.get(status="ignored")
    assert retry.status_reason == f"duplicate of callback #{processed.pk} (Sinch retry)"
    assert state() == (1, 1, 2)


def test_nul_in_what_the_user_typed_is_dropped_not_a_failure(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    """PostgreSQL text and jsonb cannot hold NUL; the message is stored without it."""
    text = {"text_message": {"text": "Hello\u0000 there"}}
    callback = inbound(client, service, message__contact_message=text)
    assert callback.status == "processed", callback.status_reason
    message = Message.objects.get()
    assert message.text == "Hello there"
    assert message.content == {"text_message": {"text": "Hello there"}}
