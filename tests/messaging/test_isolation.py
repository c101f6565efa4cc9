"""A callback acts only on apps that its receiving messaging service holds.

Service B's webhook secret must not open, continue or change conversations of service A's app:
such a callback is stored and ignored with a reason naming the app and both services.
"""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Contact, Message
from messaging.models import Callback, MessagingService
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import make_contact, make_queue, make_service
from tests.sinch import fixture_body, post_callback

pytestmark = pytest.mark.django_db

APP_A = "01E4556565565ERKYO"  # the `service` fixture's app, routed by the `queue` fixture


@pytest.fixture
def other(service: MessagingService) -> MessagingService:
    return make_service(name="Sinch US", app_id="01E4556565565ERKYB")


def _processed(client: Client, service: MessagingService, body: bytes) -> Callback:
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    return Callback.objects.latest("id")


@pytest.mark.usefixtures("queue")
def test_a_message_for_another_services_app_opens_nothing(
    client: Client, service: MessagingService, other: MessagingService
) -> None:
    callback = _processed(client, other, fixture_body("message_inbound"))
    assert callback.status == "ignored"
    assert callback.status_reason == (
        f"app {APP_A} belongs to messaging service {service.name}, not Sinch US"
    )
    assert not Contact.objects.exists()
    assert not Message.objects.exists()


def test_an_app_no_service_holds_is_named(client: Client, other: MessagingService) -> None:
    body = fixture_body("message_inbound", app_id="01UNKNOWNAPP0000000000000")
    callback = _processed(client, other, body)
    assert callback.status == "ignored"
    assert callback.status_reason == (
        "app 01UNKNOWNAPP0000000000000 has no outbound credentials in messaging service Sinch US"
    )


def test_a_callback_naming_no_app_acts_on_nothing(
    client: Client, service: MessagingService, queue: Queue
) -> None:
    callback = _processed(client, service, fixture_body("message_inbound", app_id=""))
    assert (callback.status, callback.status_reason) == ("ignored", "the callback names no app")
    assert not Contact.objects.exists()


def test_a_delivery_report_for_another_services_app_changes_nothing(
    client: Client, other: MessagingService, sent_message: Message
) -> None:
    callback = _processed(client, other, fixture_body("message_delivery"))
    assert callback.status == "ignored"
    assert "not Sinch US" in callback.status_reason
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def test_a_conversation_stop_for_another_services_app_abandons_nothing(
    client: Client, other: MessagingService, queue: Queue
) -> None:
    contact = make_contact(queue, conversation_id="01FJA8B4A7BM43YGWSG9GBV067")
    callback = _processed(client, other, fixture_body("conversation_stop"))
    assert callback.status == "ignored"
    contact.refresh_from_db()
    assert contact.state == "queued"


def test_the_same_message_to_its_own_service_is_processed(
    client: Client, service: MessagingService, other: MessagingService, queue: Queue
) -> None:
    callback = _processed(client, service, fixture_body("message_inbound"))
    assert callback.status == "processed"
    assert Contact.objects.get().queue == queue


def test_a_delivery_report_through_another_service_naming_its_own_app_changes_nothing(
    client: Client, other: MessagingService, sent_message: Message
) -> None:
    """B's secret, B's app, but A's message id: the report is not about anything of B's."""
    body = fixture_body("message_delivery", app_id="01E4556565565ERKYB")
    callback = _processed(client, other, body)
    assert (callback.status, callback.status_reason) == (
        "ignored",
        "no outbound message with this id",
    )
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def test_a_conversation_stop_through_another_service_naming_its_own_app_abandons_nothing(
    client: Client, other: MessagingService, queue: Queue
) -> None:
    contact = make_contact(queue, conversation_id="01FJA8B4A7BM43YGWSG9GBV067")
    body = fixture_body("conversation_stop", app_id="01E4556565565ERKYB")
    callback = _processed(client, other, body)
    assert callback.status == "processed"
    assert callback.summary["contacts"] == "no open contact in this conversation"
    contact.refresh_from_db()
    assert contact.state == "queued"


def test_a_message_id_already_stored_by_another_service_changes_nothing_there(
    client: Client, service: MessagingService, other: MessagingService, queue: Queue
) -> None:
    make_queue("B support", ["01E4556565565ERKYB@whatsapp"])
    assert _processed(client, service, fixture_body("message_inbound")).status == "processed"
    first = Contact.objects.get()
    body = fixture_body("message_inbound", app_id="01E4556565565ERKYB")
    callback = _processed(client, other, body)
    assert (callback.status, callback.status_reason) == (
        "ignored",
        "what it reports is already stored (the same Sinch id came through another "
        "messaging service)",
    )
    assert list(Contact.objects.all()) == [first]
    assert first.messages.count() == 1
