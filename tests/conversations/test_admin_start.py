"""The admin's "Start a chat": linked from agents' and queues' pages, the API's service."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from conversations.models import Contact, Message
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact
from tests.fakesinch import FakeSinch, sinch_error

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"
START = "/admin/conversations/contact/start/"


def form(agent: int, **fields: Any) -> dict[str, Any]:
    return {
        "agent": agent,
        "app_id": APP,
        "channel": "MESSENGER",
        "identity": "46701112233",
        "text": "Hello, your parcel is ready",
        "template_language": "en_US",
        **fields,
    }


def test_agent_and_chat_queue_pages_link_to_the_start_page(
    admin_client_: Client, service: MessagingService, queue: Queue
) -> None:
    agent = make_agent("Alice")

    agent_page = admin_client_.get(f"/admin/conversations/agent/{agent.pk}/change/")
    queue_page = admin_client_.get(f"/admin/queues/queue/{queue.pk}/change/")

    assert f'{START}?agent={agent.pk}"' in agent_page.content.decode()
    assert f'{START}?queue={queue.pk}"' in queue_page.content.decode()


def test_the_queue_page_fills_in_its_app_channel_and_queue(
    admin_client_: Client, service: MessagingService, queue: Queue
) -> None:
    page = admin_client_.get(f"{START}?queue={queue.pk}")

    assert page.status_code == 200
    form_fields = page.context["form"].initial
    assert form_fields["app_id"] == APP
    assert form_fields["channel"] == "WHATSAPP"
    assert form_fields["queue"] == queue


def test_starting_a_chat_sends_it_and_shows_the_new_conversation(
    admin_client_: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")

    answer = admin_client_.post(START, form(agent.pk))

    contact = Contact.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/admin/conversations/contact/{contact.pk}/change/"
    assert contact.direction == "outbound" and contact.agent == agent
    assert fake_sinch.sends[-1].body["message"] == {
        "text_message": {"text": "Hello, your parcel is ready"}
    }
    page = admin_client_.get(answer["Location"])
    assert "Hello, your parcel is ready" in page.content.decode()


def test_a_whatsapp_template_is_sent_with_its_parameters(
    admin_client_: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")

    admin_client_.post(
        START,
        form(
            agent.pk,
            channel="WHATSAPP",
            text="",
            template="parcel_ready",
            template_parameters="body[1]text=42\n",
        ),
    )

    assert Contact.objects.count() == 1
    template = fake_sinch.sends[-1].body["message"]["template_message"]
    assert template["channel_template"]["WHATSAPP"]["parameters"] == {"body[1]text": "42"}


def test_errors_come_back_by_field_with_the_input_kept(
    admin_client_: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")

    page = admin_client_.post(START, form(agent.pk, channel="WHATSAPP"))

    assert page.status_code == 200
    errors = page.context["form"].errors
    assert "only a template can start the chat" in errors["template"][0]
    assert 'value="46701112233"' in page.content.decode()
    assert fake_sinch.sends == []


def test_a_refusal_of_sinch_says_why_and_stores_nothing(
    admin_client_: Client, service: MessagingService, fake_sinch: FakeSinch
) -> None:
    agent = make_agent("Alice")
    fake_sinch.script_send(403, sinch_error(403, "Channel not configured", "PERMISSION_DENIED"))

    page = admin_client_.post(START, form(agent.pk))

    assert page.status_code == 200
    assert "Channel not configured" in page.content.decode()
    assert Contact.objects.count() == 0 and Message.objects.count() == 0


def test_starting_needs_the_permission_to_change_contacts(
    service: MessagingService, fake_sinch: FakeSinch
) -> None:
    viewer = User.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_contact", "view_agent"])
    )
    client = Client()
    client.force_login(viewer)
    agent = make_agent("Alice")

    assert client.get(START).status_code == 403
    assert client.post(START, form(agent.pk)).status_code == 403
    assert (
        "start-chat-link"
        not in client.get(f"/admin/conversations/agent/{agent.pk}/change/").content.decode()
    )
    assert fake_sinch.sends == []


def test_starting_needs_the_permission_to_view_personal_data_before_anything_is_looked_up(
    service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    user = User.objects.create_user("changer", password="pw-123456789", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_contact", "change_contact", "view_agent", "view_queue"]
        )
    )
    client = Client()
    client.force_login(user)
    _, key = api_token_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    agent = make_agent("Alice")
    make_contact(queue, identity="46701112233")  # an open conversation the errors would name

    page = client.get(START)
    posted = client.post(START, form(agent.pk, channel="WHATSAPP"))
    by_api = api.post(
        "/api/v1/contacts/",
        {
            "direction": "outbound",
            "agent": agent.pk,
            "app_id": APP,
            "channel": "WHATSAPP",
            "identity": "46701112233",
            "text": "Hello",
        },
        format="json",
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert "46701112233" not in posted.content.decode()
    assert by_api.status_code == 403
    assert "personal data" in by_api.json()["detail"]
    assert "46701112233" not in by_api.content.decode()
    assert (
        "start-chat-link"
        not in client.get(f"/admin/conversations/agent/{agent.pk}/change/").content.decode()
    )
    assert fake_sinch.sends == []
