"""Outbound chats end to end: started over the API, sent to the fake Conversation API, connected
by signed delivery reports and replies through the real webhook and worker code, transferred,
ended and abandoned, with an outbound integration on an HTTPS sink hearing each event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.models import AuditEntry
from conversations import outbound
from conversations.models import Contact, ContactEvent, Message
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue, make_service
from tests.fakesinch import FakeSinch, sinch_error
from tests.httpsink import HttpsSink, SinkAnswer
from tests.sinch import fixture_body, post_callback
from tests.taskrunner import run_ready_tasks

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
CUSTOMER = "46709876543"
CONVERSATION = "01FJOUTBOUNDCONVERSATION01"
OUTBOUND_EVENTS = ["accepted", "transferred", "ended", "abandoned"]


def start(api: APIClient, **body: Any) -> Any:
    payload = {
        "direction": "outbound",
        "app_id": APP,
        "channel": "MESSENGER",
        "identity": CUSTOMER,
        "text": "Hello from Support, about your order",
        **body,
    }
    return api.post("/api/v1/contacts/", payload, format="json")


def report(client: Client, service: MessagingService, message: Message, status: str) -> Callback:
    """Sinch's signed delivery report on `message`, through the webhook and the worker."""
    reason = {"code": "RECIPIENT_NOT_REACHABLE", "description": "not on the channel"}
    body = fixture_body(
        "message_delivery",
        message_delivery_report__message_id=message.sinch_message_id,
        message_delivery_report__status=status,
        message_delivery_report__conversation_id=CONVERSATION,
        message_delivery_report__channel_identity={
            "channel": message.contact.sinch_channel,
            "identity": message.contact.source,
            "app_id": "",
        },
        **({"message_delivery_report__reason": reason} if status == "FAILED" else {}),
    )
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    return Callback.objects.order_by("-pk")[0]


def reply(
    client: Client, service: MessagingService, n: int, *, channel: str = "MESSENGER", **extra: Any
) -> Callback:
    """The customer's message, signed, through the webhook and the worker."""
    body = fixture_body(
        "message_inbound",
        message__id=f"01HMSGOUTREPLY{n:012d}",
        message__conversation_id=extra.get("conversation_id", CONVERSATION),
        message__channel_identity={"channel": channel, "identity": CUSTOMER, "app_id": ""},
        message__contact_message={"text_message": {"text": f"answer {n}"}},
        message__accept_time=timezone.now().isoformat(),
    )
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    return Callback.objects.order_by("-pk")[0]


def events(contact: Contact) -> list[str]:
    return list(contact.events.order_by("occurred_at", "id").values_list("event", flat=True))


def listener(sink: HttpsSink, queues: list[Queue]) -> Any:
    return make_integration(
        "Outbound listener",
        endpoint_url=f"{sink.url}/events/{{event}}",
        direction="outbound",
        events=OUTBOUND_EVENTS,
        direct_chats=True,
        queues=queues,
        configuration={
            "request": {
                "method": "POST",
                "body": {
                    "event": "{event}",
                    "contact": "{contact.id}",
                    "direction": "{contact.direction}",
                    "queue": "{contact.queue.id}",
                },
            }
        },
    )


def heard(sink: HttpsSink, count: int) -> list[dict[str, Any]]:
    run_ready_tasks()
    return [r.json for r in sink.wait_for(count)][:count]


@pytest.fixture(autouse=True)
def _no_delayed_timeout(settings: Any) -> None:
    # The timeout's own task is due later than these tests look (a test below runs it).
    settings.OUTBOUND_CONNECT_TIMEOUT = 3600


def test_a_direct_chat_goes_through_its_whole_lifecycle_and_the_listener_hears_each_event(
    api: APIClient,
    client: Client,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
) -> None:
    agent = make_agent("Alice", [queue])
    other = make_agent("Bob", [queue])
    listener(https_sink, [queue])

    answer = start(api, agent=agent.pk)

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["direction"] == "outbound"
    assert body["state"] == "allocated"
    assert body["agent"] == agent.pk
    assert body["queue"] is None
    assert body["allowed_actions"] == ["abandon"]
    assert body["first_message"]["status"] == "sent"
    sent = fake_sinch.sends[-1].body
    assert sent["app_id"] == APP
    assert sent["recipient"] == {
        "identified_by": {"channel_identities": [{"channel": "MESSENGER", "identity": CUSTOMER}]}
    }
    assert sent["message"] == {"text_message": {"text": "Hello from Support, about your order"}}
    contact = Contact.objects.get(pk=body["id"])
    message = contact.messages.get()
    assert message.sinch_message_id == body["first_message"]["sinch_message_id"]
    entry = AuditEntry.objects.get(operation="start_chat")
    assert entry.object_pk == contact.pk
    assert CUSTOMER not in str(entry.changes) + str(entry.additional_data)

    report(client, service, message, "QUEUED_ON_CHANNEL")
    contact.refresh_from_db()
    assert contact.state == "allocated"
    report(client, service, message, "DELIVERED")
    contact.refresh_from_db()
    assert contact.state == "accepted"
    assert contact.connected_at is not None
    assert contact.sinch_conversation_id == CONVERSATION  # the report named it
    report(client, service, message, "READ")
    assert events(contact) == ["allocated", "accepted"]

    reply(client, service, 1)
    contact.refresh_from_db()
    assert contact.sinch_conversation_id == CONVERSATION
    assert Contact.objects.count() == 1
    assert list(contact.messages.values_list("direction", flat=True)) == ["outbound", "inbound"]

    transferred = api.post(f"/api/v1/contacts/{contact.pk}/transfer/", {"agent": other.pk})
    assert transferred.status_code == 200, transferred.json()
    api.post(f"/api/v1/contacts/{contact.pk}/accept/")
    ended = api.post(f"/api/v1/contacts/{contact.pk}/end/")
    assert ended.json()["state"] == "ended"
    assert events(contact) == ["allocated", "accepted", "transferred", "accepted", "ended"]

    calls = heard(https_sink, 4)
    assert [c["event"] for c in calls] == ["accepted", "transferred", "accepted", "ended"]
    assert {(c["contact"], c["direction"], c["queue"]) for c in calls} == {
        (contact.pk, "outbound", None)
    }
    assert [r.path for r in https_sink.requests][:1] == ["/events/accepted"]


def test_a_chat_from_a_queue_sends_a_whatsapp_template_and_its_queue_scope_fires(
    api: APIClient,
    client: Client,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
) -> None:
    agent = make_agent("Alice", [queue])
    listener(https_sink, [queue])
    template = {"name": "order_update", "language": "en_US", "parameters": {"body[1]text": "42"}}

    answer = start(
        api, agent=agent.pk, queue=queue.pk, channel="WHATSAPP", text="", template=template
    )

    assert answer.status_code == 201, answer.json()
    assert fake_sinch.sends[-1].body["message"] == {
        "template_message": {
            "channel_template": {
                "WHATSAPP": {
                    "template_id": "order_update",
                    "language_code": "en_US",
                    "parameters": {"body[1]text": "42"},
                }
            }
        }
    }
    contact = Contact.objects.get(pk=answer.json()["id"])
    assert contact.queue == queue
    assert contact.destination == f"{APP}@whatsapp.sinchconversation.com"
    assert contact.waiting_since is None
    report(client, service, contact.messages.get(), "READ")
    calls = heard(https_sink, 1)
    assert calls[0] == {
        "event": "accepted",
        "contact": contact.pk,
        "direction": "outbound",
        "queue": queue.pk,
    }


def test_a_reply_connects_the_chat_and_joins_it_although_no_queue_routes_the_channel(
    api: APIClient, client: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    contact_id = start(api, agent=agent.pk).json()["id"]

    callback = reply(client, service, 1)
    reply(client, service, 2)

    assert callback.status == "processed", callback.status_reason
    contact = Contact.objects.get(pk=contact_id)
    assert contact.state == "accepted"
    assert events(contact) == ["allocated", "accepted"]
    assert contact.messages.filter(direction="inbound").count() == 2
    assert Contact.objects.count() == 1


def test_a_failed_first_message_abandons_the_chat_and_a_new_one_may_start(
    api: APIClient,
    client: Client,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
) -> None:
    agent = make_agent("Alice")
    listener(https_sink, [queue])
    contact = Contact.objects.get(pk=start(api, agent=agent.pk).json()["id"])

    report(client, service, contact.messages.get(), "FAILED")

    contact.refresh_from_db()
    assert contact.state == "abandoned"
    assert "RECIPIENT_NOT_REACHABLE" in contact.events.get(event="abandoned").detail
    assert heard(https_sink, 1)[0]["event"] == "abandoned"
    assert start(api, agent=agent.pk).status_code == 201


def test_the_timeout_abandons_a_chat_nothing_was_delivered_for(
    api: APIClient, service: MessagingService, fake_sinch: FakeSinch, settings: Any
) -> None:
    agent = make_agent("Alice")
    waiting = Contact.objects.get(pk=start(api, agent=agent.pk).json()["id"])
    fresh = Contact.objects.get(pk=start(api, agent=agent.pk, identity="46700000001").json()["id"])
    Contact.objects.filter(pk=waiting.pk).update(created=timezone.now() - timedelta(hours=2))

    assert outbound.chats_abandon_unreached() == 1

    waiting.refresh_from_db()
    fresh.refresh_from_db()
    assert waiting.state == "abandoned"
    assert "timeout" in waiting.events.get(event="abandoned").detail
    assert fresh.state == "allocated"
    settings.OUTBOUND_CONNECT_TIMEOUT = 0
    Contact.objects.filter(pk=fresh.pk).update(created=timezone.now() - timedelta(days=2))
    assert outbound.chats_abandon_unreached() == 0


def test_a_refusal_says_why_and_stores_nothing(
    api: APIClient, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    fake_sinch.script_send(400, sinch_error(400, "Invalid recipient", "INVALID_ARGUMENT"))

    answer = start(api, agent=agent.pk)

    assert answer.status_code == 502
    assert "Invalid recipient" in answer.json()["detail"]
    assert Contact.objects.count() == 0
    assert Message.objects.count() == 0
    assert ContactEvent.objects.count() == 0


def test_whatsapp_free_text_needs_the_customer_to_have_written_within_24_hours(
    api: APIClient, service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")

    refused = start(api, agent=agent.pk, channel="WHATSAPP")

    assert refused.status_code == 400
    assert "only a template can start the chat" in refused.json()["template"][0]
    assert fake_sinch.sends == []
    earlier = make_contact(queue, identity=CUSTOMER)
    api.post(f"/api/v1/contacts/{earlier.pk}/abandon/")
    assert start(api, agent=agent.pk, channel="WHATSAPP").status_code == 201
    Message.objects.filter(direction="inbound").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert start(api, agent=agent.pk, channel="WHATSAPP", identity="46700000002").status_code == 400


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"direction": "inbound"}, "direction", "Only outbound chats"),
        ({"app_id": "01UNKNOWNAPP"}, "app_id", "No messaging service holds app"),
        ({"channel": "FAX"}, "channel", "Choose one of the channels"),
        ({"identity": "46 70"}, "identity", "without spaces"),
        ({"text": ""}, "text", "Write a text"),
        ({"text": "x" * 5000}, "text", "At most 4,096 characters"),
        ({"media_url": "not a url"}, "media_url", "http(s) URL"),
        (
            {"template": {"name": "t", "language": "en_US"}},
            "template",
            "either a template or a text",
        ),
        (
            {"text": "", "template": {"name": "t", "language": "English"}},
            "template",
            "WhatsApp's",
        ),
    ],
)
def test_bad_input_is_refused_by_field_before_anything_is_sent(
    api: APIClient,
    service: MessagingService,
    fake_sinch: FakeSinch,
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    agent = make_agent("Alice")

    answer = start(api, agent=agent.pk, **body)

    assert answer.status_code == 400
    assert words in " ".join(answer.json()[field]), answer.json()
    assert fake_sinch.sends == []
    assert Contact.objects.count() == 0


def test_the_queue_must_hold_an_address_of_the_app_and_channel(
    api: APIClient, service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    other = make_queue("Elsewhere", ["01E4556565565ERKYO@telegram"])

    answer = start(api, agent=agent.pk, queue=other.pk)

    assert answer.status_code == 400
    assert "has no address 01E4556565565ERKYO@facebook" in answer.json()["queue"][0]
    assert fake_sinch.sends == []


def test_a_customer_with_an_open_conversation_is_not_started_again(
    api: APIClient, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    first = start(api, agent=agent.pk).json()["id"]

    again = start(api, agent=agent.pk)

    assert again.status_code == 400
    assert first in again.json()["identity"][0]
    assert len(fake_sinch.sends) == 1


def test_an_operator_cannot_accept_a_chat_that_is_connecting(
    api: APIClient, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    contact_id = start(api, agent=agent.pk).json()["id"]

    answer = api.post(f"/api/v1/contacts/{contact_id}/accept/")

    assert answer.status_code == 409
    assert "customer was not reached yet" in answer.json()["detail"]
    assert api.post(f"/api/v1/contacts/{contact_id}/abandon/").json()["state"] == "abandoned"


def test_a_blocking_outbound_integration_sets_and_saves_on_accepted(
    api: APIClient,
    client: Client,
    service: MessagingService,
    fake_sinch: FakeSinch,
    https_sink: HttpsSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = make_agent("Alice")
    make_integration(
        "CRM lookup",
        endpoint_url=f"{https_sink.url}/crm",
        direction="both",
        events=["accepted"],
        direct_chats=True,
        configuration={
            "request": {"method": "GET", "params": {"customer": "{contact.source}"}},
            "response": {
                "set": {"priority": "{response.body.priority}"},
                "save": {"crmId": "{response.body.id}"},
            },
        },
    )
    https_sink.answer(SinkAnswer(body={"priority": 7, "id": "C-1"}))
    contact = Contact.objects.get(pk=start(api, agent=agent.pk).json()["id"])

    # The report's transaction commits (in a worker, for real), then the blocking call runs.
    with django_capture_on_commit_callbacks(execute=True):
        report(client, service, contact.messages.get(), "DELIVERED")

    contact.refresh_from_db()
    assert contact.state == "accepted"
    assert (contact.priority, contact.cad) == (7, {"crmId": "C-1"})
    assert https_sink.requests[0].query == {"customer": CUSTOMER}
    delivery = contact.deliveries.get()
    assert (delivery.event, delivery.mode, delivery.status) == ("accepted", "blocking", "succeeded")


def test_a_queued_report_names_the_sinch_conversation_whose_stop_abandons_the_chat(
    api: APIClient, client: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    contact = Contact.objects.get(pk=start(api, agent=agent.pk).json()["id"])
    report(client, service, contact.messages.get(), "QUEUED_ON_CHANNEL")
    contact.refresh_from_db()
    assert (contact.state, contact.sinch_conversation_id) == ("allocated", CONVERSATION)

    body = fixture_body(
        "conversation_stop", conversation_stop_notification__conversation={"id": CONVERSATION}
    )
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()

    contact.refresh_from_db()
    assert contact.state == "abandoned"


def test_a_phone_number_typed_with_a_plus_is_the_customer_sinch_knows_without_it(
    api: APIClient, client: Client, service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    earlier = make_contact(queue, identity=CUSTOMER)  # wrote on WhatsApp as Sinch writes it

    again = start(api, agent=agent.pk, channel="WHATSAPP", identity="+46 70-987 65 43")

    assert again.status_code == 400
    assert earlier.pk in again.json()["identity"][0]
    api.post(f"/api/v1/contacts/{earlier.pk}/abandon/")
    started = start(api, agent=agent.pk, channel="WHATSAPP", identity="+46709876543")
    assert started.status_code == 201, started.json()  # within the window the customer opened
    contact = Contact.objects.get(pk=started.json()["id"])
    assert contact.source == CUSTOMER
    identities = fake_sinch.sends[-1].body["recipient"]["identified_by"]["channel_identities"]
    assert identities == [{"channel": "WHATSAPP", "identity": CUSTOMER}]
    reply(client, service, 1, channel="WHATSAPP", conversation_id="01FJSOMEOTHERCONVERSATION")
    assert contact.messages.filter(direction="inbound").count() == 1
    assert Contact.objects.filter(ended_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("channel", "identity", "words"),
    [
        ("WHATSAPP", "+46 70 abc", "its digits with the country code"),
        ("SMS", "46+709876543", "its digits with the country code"),
        ("RCS", "123", "its digits with the country code"),
        ("VIBERBM", "4670987654312345678", "its digits with the country code"),
        ("MESSENGER", "4670\u200b9876543", "invisible or control characters (U+200B"),
        ("WHATSAPP", "46709876543\u200e", "invisible or control characters (U+200E"),
        ("TELEGRAM", "bob\x07", "invisible or control characters (U+0007"),
    ],
)
def test_an_identity_not_in_its_channels_form_is_refused_by_field(
    api: APIClient,
    service: MessagingService,
    fake_sinch: FakeSinch,
    channel: str,
    identity: str,
    words: str,
) -> None:
    agent = make_agent("Alice")
    template = {"name": "t", "language": "en_US"} if channel == "WHATSAPP" else None
    body: dict[str, Any] = {"channel": channel, "identity": identity}
    if template:
        body |= {"template": template, "text": ""}

    answer = start(api, agent=agent.pk, **body)

    assert answer.status_code == 400
    assert words in " ".join(answer.json()["identity"]), answer.json()
    assert fake_sinch.sends == []


def test_a_reply_on_whatsapp_outside_the_24_hour_window_is_refused_in_the_api_and_the_admin(
    api: APIClient, admin_client_: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    template = {"name": "order_update", "language": "en_US"}
    contact_id = start(api, agent=agent.pk, channel="WHATSAPP", text="", template=template).json()[
        "id"
    ]

    by_api = api.post(f"/api/v1/contacts/{contact_id}/messages/", {"text": "Free text"})
    by_media = api.post(
        f"/api/v1/contacts/{contact_id}/messages/", {"media_url": "https://example.com/a.png"}
    )
    by_admin = admin_client_.post(
        f"/admin/conversations/contact/{contact_id}/reply/", {"text": "Free text"}, follow=True
    )

    assert by_api.status_code == 400
    assert "only a template can start the chat" in by_api.json()["text"][0]
    assert by_media.status_code == 400
    assert "only a template can start the chat" in by_admin.content.decode()
    assert len(fake_sinch.sends) == 1  # the template alone
    assert Message.objects.filter(contact_id=contact_id).count() == 1


@pytest.mark.parametrize("message_id", ["0" * 101, "01HMSG\nWITHNEWLINE"])
def test_a_sinch_answer_with_an_unusable_message_id_is_sinchs_error_for_starts_and_replies(
    api: APIClient, service: MessagingService, queue: Queue, fake_sinch: FakeSinch, message_id: str
) -> None:
    agent = make_agent("Alice")
    contact = make_contact(queue, identity="46700000009")
    fake_sinch.script_send(200, {"message_id": message_id})
    fake_sinch.script_send(200, {"message_id": message_id})

    started = start(api, agent=agent.pk)
    replied = api.post(f"/api/v1/contacts/{contact.pk}/messages/", {"text": "Hi"})

    assert started.status_code == 502
    assert "message ID that is not one" in started.json()["detail"]
    assert replied.status_code == 502
    assert "message ID that is not one" in replied.json()["detail"]
    assert len(fake_sinch.sends) == 2
    assert not Contact.objects.filter(direction="outbound").exists()
    assert not Message.objects.filter(direction="outbound").exists()


def test_sms_through_a_us_service_needs_a_queue_with_an_sms_sender_id(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    us_app = "01USAPP0000000000000000001"
    make_service(
        service_connection="https://us.conversation.api.sinch.com/v1/projects/"
        "e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send",
        app_id=us_app,
    )
    sms_queue = make_queue("US SMS", [f"{us_app}@sms"], sms_sender_id="Acme")
    agent = make_agent("Alice")

    direct = start(api, agent=agent.pk, app_id=us_app, channel="SMS")
    from_queue = start(api, agent=agent.pk, app_id=us_app, channel="SMS", queue=sms_queue.pk)

    assert direct.status_code == 400
    assert "needs an SMS sender ID" in direct.json()["queue"][0]
    assert from_queue.status_code == 201, from_queue.json()
    assert len(fake_sinch.sends) == 1
    assert fake_sinch.sends[0].body["channel_properties"] == {"SMS_SENDER": "Acme"}
