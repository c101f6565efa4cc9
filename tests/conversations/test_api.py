"""/api/v1/agents/ and /api/v1/contacts/ with lifecycle actions and replies."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from configurator.tokens import api_token_create
from conversations import services
from conversations.models import Agent, Contact, Message
from conversations.services import InboundThread, IncomingMessage
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_queue
from tests.fakesinch import FakeSinch, sinch_error

pytestmark = pytest.mark.django_db

AGENTS = "/api/v1/agents/"
CONTACTS = "/api/v1/contacts/"
APP = "01E4556565565ERKYO"
PROJECT = "e2df3a34-a71b-4448-9db5-a8d2baad28e4"


def contact_url(contact: Contact, action: str = "") -> str:
    return f"{CONTACTS}{contact.pk}/" + (f"{action}/" if action else "")


# -- agents


def test_agent_crud(api: APIClient, queue: Queue) -> None:
    other = make_queue("Sales", [f"{APP}@telegram"])
    response = api.post(
        AGENTS,
        {"name": "Anna", "number": "2001", "email": "anna@example.com", "queues": [queue.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    agent_id = response.json()["id"]
    assert response.json()["queues"] == [queue.pk]

    response = api.patch(f"{AGENTS}{agent_id}/", {"queues": [queue.pk, other.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert sorted(response.json()["queues"]) == sorted([queue.pk, other.pk])

    listed = api.get(AGENTS).json()["results"]
    assert [(a["name"], a["number"]) for a in listed] == [("Anna", "2001")]
    assert api.get(f"{AGENTS}?queues={other.pk}").json()["count"] == 1
    assert api.get(f"{AGENTS}?number=9999").json()["count"] == 0

    assert api.delete(f"{AGENTS}{agent_id}/").status_code == 204
    assert not Agent.objects.exists()


def test_rejects_agent_number_another_agent_has(api: APIClient) -> None:
    make_agent("Anna", number="2001")
    response = api.post(AGENTS, {"name": "Bob", "number": "2001"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["number"]
    assert Agent.objects.count() == 1


def test_agents_without_number_may_be_many(api: APIClient) -> None:
    for name in ("Anna", "Bob"):
        response = api.post(AGENTS, {"name": name, "number": ""}, format="json")
        assert response.status_code == 201, response.json()


def test_agent_list_runs_a_fixed_number_of_queries(
    api: APIClient, queue: Queue, django_assert_max_num_queries: Any
) -> None:
    make_agent(queues=[queue])
    with django_assert_max_num_queries(4):
        assert api.get(AGENTS).json()["count"] == 1
    other = make_queue("Sales", [f"{APP}@telegram"])
    for _ in range(5):
        make_agent(queues=[queue, other])
    with django_assert_max_num_queries(4):
        assert api.get(AGENTS).json()["count"] == 6


# -- contacts


@pytest.fixture
def anna(queue: Queue) -> Agent:
    return make_agent("Anna", [queue], number="2001")


@pytest.fixture
def contact(queue: Queue) -> Contact:
    return make_contact(queue, conversation_id="01FJA8B4A7BM43YGWSG9GBV067")


def test_lists_contacts_newest_first_with_filters(
    api: APIClient, queue: Queue, anna: Agent
) -> None:
    other = make_queue("Sales", [f"{APP}@telegram"])
    waiting = make_contact(queue, conversation_id="01CONV1")
    elsewhere = make_contact(other, conversation_id="01CONV2")
    allocated = services.contact_allocate(
        contact=make_contact(queue, conversation_id="01CONV3"), agent=anna
    )

    def ids(query: str = "") -> list[str]:
        response = api.get(CONTACTS + query)
        assert response.status_code == 200, response.json()
        return [c["id"] for c in response.json()["results"]]

    assert ids() == [allocated.pk, elsewhere.pk, waiting.pk]
    assert ids("?state=queued") == [elsewhere.pk, waiting.pk]
    assert ids("?state=allocated") == [allocated.pk]
    assert ids("?state=queued&state=allocated") == [allocated.pk, elsewhere.pk, waiting.pk]
    assert ids(f"?queue={other.pk}") == [elsewhere.pk]
    assert ids(f"?agent={anna.pk}") == [allocated.pk]
    assert ids("?open=true") == [allocated.pk, elsewhere.pk, waiting.pk]
    assert ids("?channel_sub_type=telegram") == [elsewhere.pk]
    assert api.get(CONTACTS + "?state=lost").status_code == 400


def test_contact_list_runs_a_fixed_number_of_queries(
    api: APIClient, queue: Queue, anna: Agent, django_assert_max_num_queries: Any
) -> None:
    make_contact(queue, conversation_id="01CONV0")
    with django_assert_max_num_queries(5):
        assert len(api.get(CONTACTS).json()["results"]) == 1
    other = make_queue("Sales", [f"{APP}@telegram"])
    for n in range(1, 6):
        contact = make_contact(other if n % 2 else queue, conversation_id=f"01CONV{n}")
        if n % 2:
            services.contact_allocate(contact=contact, agent=anna)
    with django_assert_max_num_queries(5):
        assert len(api.get(CONTACTS).json()["results"]) == 6


def test_contact_detail_has_allowed_actions(api: APIClient, contact: Contact) -> None:
    data = api.get(contact_url(contact)).json()
    assert data["state"] == "queued"
    assert data["allowed_actions"] == ["allocate", "forward", "abandon"]
    assert data["guid"] != data["id"]
    assert len(data["id"]) == 32 and data["id"] == data["id"].upper()
    assert data["channel_type"] == "chat"
    assert data["channel_sub_type"] == "whatsapp"
    assert data["destination"] == f"{APP}@whatsapp.sinchconversation.com"
    assert data["sinch_conversation_id"] == "01FJA8B4A7BM43YGWSG9GBV067"


def test_each_action_answers_the_contact(
    api: APIClient, queue: Queue, anna: Agent, contact: Contact
) -> None:
    other = make_queue("Sales", [f"{APP}@telegram"])
    bob = make_agent("Bob", [queue, other], number="2002")

    def act(action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = api.post(contact_url(contact, action), body or {}, format="json")
        assert response.status_code == 200, response.json()
        data: dict[str, Any] = response.json()
        assert data["id"] == contact.pk
        return data

    data = act("allocate", {"agent": anna.pk})
    assert (data["state"], data["agent"]) == ("allocated", anna.pk)
    assert data["allowed_actions"] == ["accept", "reject", "abandon"]
    data = act("reject")
    assert (data["state"], data["agent"], data["queue"]) == ("rejected", None, queue.pk)
    act("allocate", {"agent": anna.pk})
    data = act("accept")
    assert data["state"] == "accepted"
    assert data["allowed_actions"] == ["transfer", "end"]
    data = act("transfer", {"agent": bob.pk})
    assert (data["state"], data["agent"], data["transferring_agent"]) == (
        "transferred",
        bob.pk,
        anna.pk,
    )
    act("accept")
    data = act("transfer", {"queue": other.pk})
    assert (data["state"], data["queue"], data["agent"]) == ("transferred", other.pk, None)
    data = act("forward", {"queue": queue.pk})
    assert (data["state"], data["queue"], data["forwarding_queue"]) == (
        "forwarded",
        queue.pk,
        other.pk,
    )
    act("allocate", {"agent": anna.pk})
    act("accept")
    data = act("end")
    assert data["state"] == "ended"
    assert data["ended_at"] is not None
    assert data["allowed_actions"] == []

    events = api.get(contact_url(contact, "events")).json()["results"]
    assert [e["event"] for e in events] == [
        "received",
        "queued",
        "allocated",
        "rejected",
        "allocated",
        "accepted",
        "transferred",
        "accepted",
        "transferred",
        "forwarded",
        "allocated",
        "accepted",
        "ended",
    ]
    assert events[2]["detail"] == "Allocated to Anna (2001) (admin)"
    assert events[2]["snapshot"]["agent"]["number"] == "2001"


def test_abandon_answers_the_contact(api: APIClient, contact: Contact) -> None:
    response = api.post(contact_url(contact, "abandon"), {}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "abandoned"


@pytest.mark.parametrize(
    ("action", "sentence"),
    [
        ("accept", "only a conversation allocated to an agent can be accepted"),
        ("reject", "only a conversation allocated to an agent can be rejected"),
        ("transfer", "only a conversation an agent has accepted can be transferred"),
        ("end", "only a conversation an agent has accepted can be ended"),
    ],
)
def test_action_that_does_not_fit_the_state_is_409_with_the_reason(
    api: APIClient, queue: Queue, contact: Contact, action: str, sentence: str
) -> None:
    other = make_queue("Sales", [f"{APP}@telegram"])
    body = {"queue": other.pk} if action == "transfer" else {}
    response = api.post(contact_url(contact, action), body, format="json")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith(f"Contact {contact.pk} cannot be ")
    assert sentence in detail
    assert "it is waiting in queue Support, and only" in detail
    assert Contact.objects.get(pk=contact.pk).state == "queued"


def test_allocating_an_ended_contact_is_409(api: APIClient, contact: Contact) -> None:
    services.contact_abandon(contact=contact)
    agent = make_agent()
    response = api.post(contact_url(contact, "allocate"), {"agent": agent.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Contact {contact.pk} cannot be allocated: it is abandoned, and only a conversation "
        "waiting in a queue can be allocated."
    )


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("allocate", {}, "agent"),
        ("allocate", {"agent": 999999}, "agent"),
        ("allocate", {"agent": "anna"}, "agent"),
        ("forward", {}, "queue"),
        ("forward", {"queue": 999999}, "queue"),
        ("transfer", {}, "non_field_errors"),
    ],
)
def test_bad_body_is_400_naming_the_field(
    api: APIClient, contact: Contact, action: str, body: dict[str, Any], field: str
) -> None:
    response = api.post(contact_url(contact, action), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Contact.objects.get(pk=contact.pk).state == "queued"


def test_transfer_to_both_queue_and_agent_is_400(
    api: APIClient, queue: Queue, anna: Agent, contact: Contact
) -> None:
    services.contact_accept(contact=services.contact_allocate(contact=contact, agent=anna))
    response = api.post(
        contact_url(contact, "transfer"), {"queue": queue.pk, "agent": anna.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Give either a queue or an agent to transfer to."]
    }


def test_forward_to_the_same_queue_is_400_naming_the_queue(
    api: APIClient, queue: Queue, contact: Contact
) -> None:
    response = api.post(contact_url(contact, "forward"), {"queue": queue.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"queue": ["The conversation is already in queue Support."]}


def test_transfer_to_a_phone_queue_is_400(api: APIClient, anna: Agent, contact: Contact) -> None:
    phone = make_queue("Phone", ["2001"], channel_type="phone")
    services.contact_accept(contact=services.contact_allocate(contact=contact, agent=anna))
    response = api.post(contact_url(contact, "transfer"), {"queue": phone.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"queue": ["Queue Phone carries phone conversations, not chat."]}


def test_unknown_contact_is_404(api: APIClient, anna: Agent) -> None:
    response = api.post(f"{CONTACTS}{'0' * 32}/allocate/", {"agent": anna.pk}, format="json")
    assert response.status_code == 404


@pytest.fixture
def viewer(db: None) -> APIClient:
    """A staff user who may look at contacts but not change them."""
    user = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_contact"),
        Permission.objects.get(codename="view_message"),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    return client


@pytest.mark.parametrize("action", ["allocate", "accept", "end", "abandon", "messages"])
def test_user_without_change_permission_gets_403_on_actions(
    viewer: APIClient, anna: Agent, contact: Contact, action: str
) -> None:
    assert viewer.get(contact_url(contact)).status_code == 200
    body = {"agent": anna.pk, "text": "Hi"}
    response = viewer.post(contact_url(contact, action), body, format="json")
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).state == "queued"
    assert not Message.objects.filter(direction="outbound").exists()


def test_lists_messages_and_events_of_a_contact(api: APIClient, queue: Queue) -> None:
    contact = make_contact(queue, text="Hello there", conversation_id="01CONV")
    make_contact(queue, text="Second", conversation_id="01CONV")
    make_contact(queue, text="Someone else", conversation_id="01OTHER")

    messages = api.get(contact_url(contact, "messages")).json()["results"]
    assert [(m["direction"], m["kind"], m["text"], m["status"]) for m in messages] == [
        ("inbound", "text", "Hello there", "received"),
        ("inbound", "text", "Second", "received"),
    ]
    events = api.get(contact_url(contact, "events")).json()["results"]
    assert [e["event"] for e in events] == ["received", "queued"]
    assert events[1]["snapshot"]["queue"]["name"] == "Support"


# -- replies


def test_reply_is_sent_through_sinch_and_stored(
    api: APIClient, fake_sinch: FakeSinch, anna: Agent, contact: Contact
) -> None:
    fake_sinch.script_send(
        200, {"message_id": "01HMSGOUTREPLY00000000001", "accepted_time": "2026-11-21T09:01:00Z"}
    )
    response = api.post(
        contact_url(contact, "messages"), {"text": "How can I help?", "agent": anna.pk}
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["direction"] == "outbound"
    assert data["kind"] == "text"
    assert data["text"] == "How can I help?"
    assert data["status"] == "sent"
    assert data["sinch_message_id"] == "01HMSGOUTREPLY00000000001"
    assert data["agent"] == anna.pk
    stored = Message.objects.get(direction="outbound")
    assert stored.pk == data["id"]
    assert stored.content == {"text_message": {"text": "How can I help?"}}

    [token_request] = fake_sinch.token_requests
    assert token_request.basic_credentials == (
        "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11",
        "access-key-secret",
    )
    [send] = fake_sinch.sends
    assert send.path == f"/v1/projects/{PROJECT}/messages:send"
    assert send.bearer_token in fake_sinch.issued_tokens
    assert send.body == {
        "app_id": APP,
        "recipient": {
            "identified_by": {
                "channel_identities": [{"channel": "WHATSAPP", "identity": "46701234567"}]
            }
        },
        "message": {"text_message": {"text": "How can I help?"}},
    }


def test_media_reply_is_sent_as_media_message(
    api: APIClient, fake_sinch: FakeSinch, contact: Contact
) -> None:
    url = "https://example.com/receipt.png"  # an image: sent as media in the EU region too
    response = api.post(contact_url(contact, "messages"), {"media_url": url}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "media"
    assert response.json()["sent_as"] == "media"
    assert fake_sinch.sends[0].body["message"] == {"media_message": {"url": url}}


def test_sinch_refusing_a_reply_is_502_with_its_message_and_nothing_stored(
    api: APIClient, fake_sinch: FakeSinch, contact: Contact
) -> None:
    fake_sinch.script_send(
        400, sinch_error(400, "Recipient is not reachable on WHATSAPP", "INVALID_ARGUMENT")
    )
    response = api.post(contact_url(contact, "messages"), {"text": "Hello?"}, format="json")
    assert response.status_code == 502
    assert response.json() == {
        "detail": "Sinch answered 400 INVALID_ARGUMENT: Recipient is not reachable on WHATSAPP"
    }
    assert len(fake_sinch.sends) == 1
    assert not Message.objects.filter(direction="outbound").exists()


def test_reply_without_outbound_credentials_is_502(
    api: APIClient, fake_sinch: FakeSinch, queue: Queue
) -> None:
    other_app = make_queue("Other app", ["01NOCREDENTIALS@whatsapp"])
    contact = make_contact(other_app)
    response = api.post(contact_url(contact, "messages"), {"text": "Hello?"}, format="json")
    assert response.status_code == 502
    assert response.json()["detail"] == (
        "No messaging service has outbound credentials for app 01NOCREDENTIALS."
    )
    assert fake_sinch.requests == []
    assert not Message.objects.filter(direction="outbound").exists()


def test_reply_to_an_ended_contact_is_409(
    api: APIClient, fake_sinch: FakeSinch, anna: Agent, contact: Contact
) -> None:
    services.contact_allocate(contact=contact, agent=anna)
    services.contact_accept(contact=contact)
    services.contact_end(contact=contact)
    response = api.post(contact_url(contact, "messages"), {"text": "Hello?"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == f"Contact {contact.pk} cannot get a reply: it is ended."
    assert fake_sinch.requests == []


def test_empty_reply_is_400_naming_text(
    api: APIClient, fake_sinch: FakeSinch, contact: Contact
) -> None:
    response = api.post(contact_url(contact, "messages"), {"text": "  "}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["text"]
    assert fake_sinch.requests == []


def sms_contact(queue: Queue) -> Contact:
    """An inbound SMS contact in `queue` (whose address is the app's sms address)."""
    address = queue.addresses.get()
    return services.inbound_message_receive(
        thread=InboundThread(
            queue=queue,
            address=address.address,
            app_id=address.app_id,
            sinch_channel="SMS",
            channel_sub_type="sms",
            identity="12025550199",
            sinch_conversation_id="01SMSCONVERSATION",
        ),
        message=IncomingMessage(sinch_message_id="01HMSGSMSIN", kind="text", text="STOP?"),
    ).contact


@pytest.mark.usefixtures("service")
def test_sms_reply_is_sent_from_the_queue_sms_sender_id(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    contact = sms_contact(make_queue("SMS", [f"{APP}@sms"], sms_sender_id="+12025550123"))
    response = api.post(contact_url(contact, "messages"), {"text": "Hi"}, format="json")
    assert response.status_code == 201, response.json()
    [send] = fake_sinch.sends
    assert send.body["channel_properties"] == {"SMS_SENDER": "+12025550123"}
    assert send.body["recipient"]["identified_by"]["channel_identities"] == [
        {"channel": "SMS", "identity": "12025550199"}
    ]


@pytest.mark.usefixtures("service")
def test_sms_reply_without_sms_sender_id_sends_no_channel_properties(
    api: APIClient, fake_sinch: FakeSinch
) -> None:
    contact = sms_contact(make_queue("SMS", [f"{APP}@sms"]))
    assert api.post(contact_url(contact, "messages"), {"text": "Hi"}).status_code == 201
    assert "channel_properties" not in fake_sinch.sends[0].body


def test_whatsapp_reply_ignores_the_queue_sms_sender_id(
    api: APIClient, fake_sinch: FakeSinch, service: Any
) -> None:
    contact = make_contact(make_queue("Mixed", [f"{APP}@whatsapp"], sms_sender_id="Acme"))
    assert api.post(contact_url(contact, "messages"), {"text": "Hi"}).status_code == 201
    assert "channel_properties" not in fake_sinch.sends[0].body
