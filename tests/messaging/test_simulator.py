"""The simulator: the API and admin page, the webhook path it takes, the conversations it opens,
the sandbox that answers their replies, and the marks on everything it makes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from configurator.models import WorkerHeartbeat
from configurator.tokens import api_token_create
from conversations.models import Contact, Message
from integrations import dispatch
from integrations.models import Delivery
from messaging import simulator
from messaging.models import Callback, MessagingService
from messaging.sinch import sandbox
from messaging.webhooks.handlers import InboundMessage
from messaging.webhooks.processing import callbacks_process_pending
from queues.models import Queue
from tests.factories import inbound, make_integration, make_queue, make_service, outbound
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink, SinkAnswer
from tests.sinch import FIXTURES, fixture_body, post_callback, signed_headers
from tests.taskrunner import run_tasks_until

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"


def _url(service_id: int) -> str:
    return f"/api/v1/messaging-services/{service_id}/simulate/"


def _simulate(api: APIClient, service: MessagingService, **body: Any) -> Any:
    return api.post(_url(service.pk), body, format="json")


def _keys(value: Any, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, item in value.items():
        found.add(prefix + key)
        found |= _keys(item, f"{prefix}{key}.")
    return found


# --- the API and the webhook path ---------------------------------------------------------------


def test_api_answers_202_with_a_callback_stored_pending_and_simulated(
    api: APIClient, service: MessagingService, queue: Queue
) -> None:
    response = _simulate(api, service, text="Hello from the simulator")

    assert response.status_code == 202, response.content
    answer = response.json()
    callback = Callback.objects.get()
    assert answer["callback"] == callback.pk
    assert answer["app_id"] == APP and answer["channel"] == "WHATSAPP"
    assert answer["identity"].startswith("simulated-")
    assert callback.simulated and callback.status == "pending"
    assert callback.trigger == "MESSAGE_INBOUND" and callback.app_id == APP
    assert callback.verified_with == "current"
    shown = api.get(f"/api/v1/callbacks/{callback.pk}/").json()
    assert shown["simulated"] is True
    assert shown["payload"]["message"]["contact_message"] == {
        "text_message": {"text": "Hello from the simulator"}
    }


def test_the_body_has_the_shape_of_sinch_s_message_inbound(service: MessagingService) -> None:
    body = simulator.inbound_message_body(
        app_id=APP,
        project_id=service.project_id,
        channel="WHATSAPP",
        identity="46700000001",
        text="Hi",
        message_id=simulator.sinch_id(),
        at=service.created_at,
    )
    built = json.loads(body)
    sinch = json.loads((FIXTURES / "message_inbound.json").read_text())

    assert _keys(built) == _keys(sinch)
    assert body == json.dumps(built, separators=(",", ":")).encode()  # compact, as Sinch's
    parsed = InboundMessage.parse(built["message"])
    assert parsed.text == "Hi" and parsed.channel_identity.identity == "46700000001"
    assert len(parsed.message_id) == 26  # a ULID, as Sinch's ids
    report = json.loads(
        simulator.delivery_report_body(
            app_id=APP,
            project_id=service.project_id,
            channel="MESSENGER",
            identity="psid-1",
            message_id="01HSANDBOX",
            status="READ",
            at=service.created_at,
        )
    )
    assert _keys(report) == _keys(json.loads((FIXTURES / "message_delivery.json").read_text()))
    # Messenger identities belong to an app: Sinch names it in the channel identity.
    assert report["message_delivery_report"]["channel_identity"]["app_id"] == APP


def test_a_worker_opens_a_simulated_conversation_and_the_same_identity_joins_it(
    api: APIClient, service: MessagingService, queue: Queue
) -> None:
    first = _simulate(api, service, text="First", identity="46700000001").json()
    second = _simulate(api, service, text="Second", identity="46700000001").json()
    other = _simulate(api, service, text="Someone else").json()

    assert callbacks_process_pending() == 3
    assert Callback.objects.filter(status="processed").count() == 3
    contact = Contact.objects.get(source="46700000001")
    assert contact.simulated and contact.state == "queued" and contact.queue == queue
    assert list(contact.messages.values_list("text", flat=True).order_by("id")) == [
        "First",
        "Second",
    ]
    assert Callback.objects.get(pk=first["callback"]).summary["contact"] == contact.pk
    assert Callback.objects.get(pk=second["callback"]).summary["new_contact"] is False
    assert Contact.objects.get(source=other["identity"]).simulated
    assert api.get(f"/api/v1/contacts/{contact.pk}/").json()["simulated"] is True
    assert [c["id"] for c in api.get("/api/v1/contacts/?simulated=true").json()["results"]] == [
        c.pk for c in Contact.objects.order_by("-created", "-id")
    ]


def test_simulated_and_real_messages_of_one_identity_never_share_a_conversation(
    api: APIClient, client: Client, service: MessagingService, queue: Queue
) -> None:
    # An identity typed into the simulator may be a real customer's: the customer's replies
    # must not go to the sandbox, nor the simulated text into the customer's conversation.
    body = fixture_body("message_inbound")  # from 46701234567 on WhatsApp
    assert post_callback(client, service.pk, body).status_code == 200
    _simulate(api, service, text="Simulated", identity="46701234567")

    assert callbacks_process_pending() == 2
    real, simulated = Contact.objects.order_by("simulated")
    assert not real.simulated and simulated.simulated
    assert [m.text for m in simulated.messages.all()] == ["Simulated"]


def test_no_request_can_mark_a_callback_simulated(
    api: APIClient, client: Client, service: MessagingService
) -> None:
    payload = json.loads(fixture_body("message_inbound"))
    payload["simulated"] = True
    payload["message"]["simulated"] = True
    body = json.dumps(payload).encode()
    headers = {**signed_headers(body), "x-simulated": "true"}
    assert post_callback(client, service.pk, body, headers).status_code == 200

    callback = Callback.objects.get()
    assert not callback.simulated
    listed = api.get("/api/v1/callbacks/?simulated=true").json()["results"]
    assert listed == []


def test_what_the_simulator_builds_is_verified_like_any_callback(
    api: APIClient, service: MessagingService, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Signed with a secret the service does not have, it is refused by the webhook's check.
    monkeypatch.setattr(simulator, "webhook_secret", lambda service: "not-the-secret")

    response = _simulate(api, service, text="Hello")

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "The webhook refused the simulated callback (HTTP 401: signature does not match)."
        ]
    }
    assert not Callback.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, "text", "required"),
        ({"text": ""}, "text", "Write the customer's message."),
        ({"text": "  \n "}, "text", "Write the customer's message."),
        ({"text": "x" * 4097}, "text", "At most 4096 characters (this has 4097)."),
        ({"text": "Hi", "app_id": "01OTHERAPP"}, "app_id", "not an app of messaging service"),
        ({"text": "Hi", "channel": "CARRIER_PIGEON"}, "channel", "Unknown channel"),
        ({"text": "Hi", "identity": "x" * 201}, "identity", "At most 200 characters"),
        ({"text": "Hi", "identity": "a\tb"}, "identity", "no control characters"),
        ({"text": None}, "text", "may not be null"),
        ({"text": "Hi", "app_id": ["A"]}, "app_id", "Not a valid string"),
    ],
)
def test_api_answers_400_naming_the_field(
    api: APIClient, service: MessagingService, queue: Queue, body: Any, field: str, says: str
) -> None:
    response = _simulate(api, service, **body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert says in " ".join(response.json()[field])
    assert not Callback.objects.exists()


def test_api_names_every_problem_at_once(api: APIClient, service: MessagingService) -> None:
    response = _simulate(api, service, text="", app_id="01NOPE", identity="a\x01")

    assert response.status_code == 400
    assert set(response.json()) == {"text", "app_id", "identity"}


def test_without_a_queue_for_the_app_the_channel_must_be_named(
    api: APIClient, service: MessagingService
) -> None:
    response = _simulate(api, service, text="Hi")
    assert response.status_code == 400
    assert "No chat queue is addressed to app 01E4556565565ERKYO" in response.json()["channel"][0]

    # Named, it is sent, and reaches no queue: the callback fails with the reason code.
    assert _simulate(api, service, text="Hi", channel="sms").status_code == 202
    callbacks_process_pending()
    callback = Callback.objects.get()
    assert callback.status == "failed" and callback.reason_code == "no_queue"


def test_defaults_are_the_first_app_and_a_channel_its_queues_are_addressed_to(
    api: APIClient, db: None
) -> None:
    service = make_service(
        authentications=[outbound("01FIRSTAPP"), outbound("01SECONDAPP", key_id="k2"), inbound()]
    )
    make_queue("SMS", ["01FIRSTAPP@sms"])
    make_queue("Telegram", ["01SECONDAPP@telegram"])

    first = _simulate(api, service, text="Hi").json()
    second = _simulate(api, service, text="Hi", app_id="01secondapp").json()

    assert (first["app_id"], first["channel"]) == ("01FIRSTAPP", "SMS")
    assert (second["app_id"], second["channel"]) == ("01SECONDAPP", "TELEGRAM")


def test_a_service_without_a_webhook_secret_or_apps_is_told_so(api: APIClient, db: None) -> None:
    no_webhook = make_service(authentications=[outbound("01NOWEBHOOKAPP")])
    no_apps = make_service(authentications=[inbound()])

    secretless = _simulate(api, no_webhook, text="Hi", channel="WHATSAPP")
    appless = _simulate(api, no_apps, text="Hi")

    assert secretless.status_code == 400
    assert list(secretless.json()) == ["non_field_errors"]
    assert "has no webhook secret" in secretless.json()["non_field_errors"][0]
    assert appless.status_code == 400
    assert "has no app" in appless.json()["app_id"][0]
    assert not Callback.objects.exists()


def test_api_needs_the_change_permission_on_messaging_services(
    service: MessagingService, queue: Queue
) -> None:
    user = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")

    assert _simulate(client, service, text="Hi").status_code == 403
    assert APIClient().post(_url(service.pk), {"text": "Hi"}, format="json").status_code == 401
    user.user_permissions.add(Permission.objects.get(codename="change_messagingservice"))
    assert _simulate(client, service, text="Hi").status_code == 202


def test_api_answers_404_for_no_service(api: APIClient, db: None) -> None:
    assert api.post(_url(999999), {"text": "Hi"}, format="json").status_code == 404


VALUES = (
    st.text(max_size=30)
    | st.sampled_from(["\ud800", "a\x00b", "x" * 5000, "WHATSAPP", APP, "sms", " "])
    | st.none()
    | st.integers()
    | st.booleans()
    | st.lists(st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
)
BODIES = st.fixed_dictionaries(
    {}, optional={"app_id": VALUES, "channel": VALUES, "identity": VALUES, "text": VALUES}
)


@given(body=BODIES)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_body_is_answered_202_or_400_naming_its_fields(
    api: APIClient, service: MessagingService, queue: Queue, body: dict[str, Any]
) -> None:
    raw = json.dumps(body)  # lone surrogates travel escaped, as a client may send them
    response = api.post(_url(service.pk), raw, content_type="application/json")

    assert response.status_code in (202, 400), (body, response.content)
    if response.status_code == 400:
        assert set(response.json()) <= {"app_id", "channel", "identity", "text"}, response.json()


# --- the sandbox --------------------------------------------------------------------------------


def _simulated_contact(api: APIClient, service: MessagingService) -> Contact:
    _simulate(api, service, text="I need help", identity="46700000009")
    callbacks_process_pending()
    return Contact.objects.get(source="46700000009")


@pytest.mark.django_db(transaction=True)  # replies and reports act after their commits
def test_a_reply_is_delivered_then_read_through_the_signed_path_and_sinch_hears_nothing(
    api: APIClient,
    service: MessagingService,
    queue: Queue,
    fake_sinch: FakeSinch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox, "REPORT_DELAY_SECONDS", 0.0)
    contact = _simulated_contact(api, service)

    answer = api.post(f"/api/v1/contacts/{contact.pk}/messages/", {"text": "On it"}, format="json")

    assert answer.status_code == 201, answer.content
    reply = Message.objects.get(direction="outbound")
    assert reply.status == "sent" and len(reply.sinch_message_id) == 26
    run_tasks_until(lambda: _status(reply) == "read")
    reports = Callback.objects.filter(trigger="MESSAGE_DELIVERY").order_by("id")
    # Each report was applied in turn: the message was DELIVERED, then READ.
    assert [(r.summary["status"], r.summary["message_status"]) for r in reports] == [
        ("DELIVERED", "delivered"),
        ("READ", "read"),
    ]
    assert all(r.simulated and r.status == "processed" for r in reports)
    assert all(r.verified_with == "current" for r in reports)
    assert fake_sinch.requests == []  # neither a token nor a send


def _status(message: Message) -> str:
    message.refresh_from_db(fields=["status"])
    return message.status


def test_the_sandbox_reports_only_to_a_service_subscribed_to_deliveries(
    api: APIClient, db: None, fake_sinch: FakeSinch
) -> None:
    service = make_service(app_id=APP, triggers=["MESSAGE_INBOUND"])
    make_queue("Support", [f"{APP}@whatsapp"])
    contact = _simulated_contact(api, service)
    reply = Message.objects.create(
        contact=contact, direction="outbound", kind="text", text="Hi", sinch_message_id="01SANDBOX"
    )

    assert sandbox.sandbox_delivery_report.call(reply.pk, "DELIVERED") is None
    assert not Callback.objects.filter(trigger="MESSAGE_DELIVERY").exists()
    assert fake_sinch.requests == []


def test_replies_to_real_contacts_still_go_to_sinch(
    api: APIClient, client: Client, service: MessagingService, queue: Queue, fake_sinch: FakeSinch
) -> None:
    # Written now: within WhatsApp's 24-hour window, free text may answer it.
    body = fixture_body("message_inbound", message__accept_time=timezone.now().isoformat())
    assert post_callback(client, service.pk, body).status_code == 200
    callbacks_process_pending()
    contact = Contact.objects.get()

    answer = api.post(f"/api/v1/contacts/{contact.pk}/messages/", {"text": "Hi"}, format="json")

    assert answer.status_code == 201, answer.content
    assert len(fake_sinch.sends) == 1


# --- integrations -------------------------------------------------------------------------------


def test_integrations_fire_for_simulated_conversations_and_their_deliveries_say_so(
    api: APIClient,
    admin_client_: Client,
    service: MessagingService,
    queue: Queue,
    https_sink: HttpsSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    listener = make_integration(
        "Queued listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
        configuration={"request": {"method": "POST", "body": {"contact": "{contact.source}"}}},
    )
    _simulate(api, service, text="Hi", identity="46700000042")

    with django_capture_on_commit_callbacks(execute=True):
        callbacks_process_pending()
        run_tasks_until(lambda: Delivery.objects.filter(status="succeeded").exists())

    delivery = Delivery.objects.get()
    assert delivery.simulated
    assert [r.json for r in https_sink.requests] == [{"contact": "46700000042"}]
    log = api.get(f"/api/v1/integrations/{listener.pk}/deliveries/").json()["results"]
    assert [d["simulated"] for d in log] == [True]
    assert (
        api.get(f"/api/v1/integrations/{listener.pk}/deliveries/?simulated=false").json()["results"]
        == []
    )
    page = admin_client_.get("/admin/integrations/delivery/?simulated__exact=1").content.decode()
    assert 'class="simulated-badge"' in page and f"/{delivery.pk}/change/" in page


def test_a_retry_and_a_resend_of_a_simulated_delivery_stay_simulated(
    api: APIClient,
    service: MessagingService,
    queue: Queue,
    https_sink: HttpsSink,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.INTEGRATIONS_RETRY_BASE_SECONDS = 0
    settings.INTEGRATIONS_RETRY_MAX_SECONDS = 0
    make_integration(
        "Queued listener",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
    )
    https_sink.answer(SinkAnswer(status=503), SinkAnswer(status=400))  # retried, then final
    _simulate(api, service, text="Hi")
    with django_capture_on_commit_callbacks(execute=True):
        callbacks_process_pending()
        run_tasks_until(lambda: Delivery.objects.filter(status="failed").exists())
        resent = dispatch.deliveries_resend(selection=Delivery.objects.filter(status="failed"))

    assert len(resent.scheduled) == 1
    assert list(Delivery.objects.order_by("id").values_list("attempt", "simulated")) == [
        (1, True),
        (2, True),
        (1, True),
    ]


# --- the admin ----------------------------------------------------------------------------------


def _page(service: MessagingService) -> str:
    return f"/admin/messaging/messagingservice/{service.pk}/simulate/"


def test_the_service_page_links_to_the_simulator(
    admin_client_: Client, service: MessagingService
) -> None:
    html = admin_client_.get(f"/admin/messaging/messagingservice/{service.pk}/change/").content
    assert _page(service).encode() in html and b"Simulate a message" in html


def test_admin_sends_then_links_the_callback_and_once_processed_the_conversation(
    admin_client_: Client, service: MessagingService, queue: Queue
) -> None:
    form = admin_client_.get(_page(service)).content.decode()
    assert f"{APP} WHATSAPP &rarr; Support" in form  # where messages reach a queue

    sent = admin_client_.post(_page(service), {"text": "Hello", "identity": "46700000077"})

    assert sent.status_code == 302
    callback = Callback.objects.get()
    assert sent["Location"].startswith(f"{_page(service)}?callback={callback.pk}&")
    waiting = admin_client_.get(sent["Location"]).content.decode()
    assert 'id="simulated-callback-link"' in waiting and 'http-equiv="refresh"' in waiting
    assert 'value="46700000077"' in waiting  # the next message continues the conversation
    assert "simulated-conversation-link" not in waiting

    callbacks_process_pending()
    done = admin_client_.get(sent["Location"]).content.decode()
    contact = Contact.objects.get()
    assert f"/admin/conversations/contact/{contact.pk}/change/" in done
    assert 'id="simulated-conversation-link"' in done and 'http-equiv="refresh"' not in done
    assert f"/admin/conversations/contact/?queue__id__exact={queue.pk}" in done


def test_admin_errors_keep_the_page_and_the_text(
    admin_client_: Client, service: MessagingService
) -> None:
    response = admin_client_.post(
        _page(service), {"text": "Keep me", "identity": "x" * 201, "channel": ""}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "At most 200 characters" in html and "No chat queue is addressed to app" in html
    assert "Keep me" in html
    assert not Callback.objects.exists()


def test_admin_simulator_needs_the_change_permission(service: MessagingService) -> None:
    user = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_messagingservice"))
    client = Client()
    client.force_login(user)

    assert client.get(_page(service)).status_code == 403
    assert client.post(_page(service), {"text": "Hi"}).status_code == 403
    page = client.get(f"/admin/messaging/messagingservice/{service.pk}/change/").content
    assert b"Simulate a message" not in page
    assert not Callback.objects.exists()


def test_the_page_says_what_would_leave_the_administrator_waiting(
    admin_client_: Client, service: MessagingService, queue: Queue
) -> None:
    sent = admin_client_.post(_page(service), {"text": "Hello"})
    waiting = admin_client_.get(sent["Location"]).content.decode()
    # No worker has written a heartbeat: nothing will process the callback.
    assert 'id="simulate-no-worker"' in waiting
    WorkerHeartbeat.objects.create(
        worker_id="w1", hostname="h", pid=1, started_at=timezone.now(), seen_at=timezone.now()
    )
    assert 'id="simulate-no-worker"' not in admin_client_.get(sent["Location"]).content.decode()
    assert 'id="simulate-no-reports"' not in waiting

    quiet = make_service(app_id="01QUIETAPP", triggers=["MESSAGE_INBOUND"])
    page = admin_client_.get(_page(quiet)).content.decode()
    assert 'id="simulate-no-reports"' in page and "MESSAGE_DELIVERY" in page


def test_the_page_links_only_what_the_user_may_open(
    service: MessagingService, queue: Queue
) -> None:
    user = User.objects.create_user("operator", password="pw-12345678", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_messagingservice", "change_messagingservice"]
        )
    )
    client = Client()
    client.force_login(user)
    sent = client.post(_page(service), {"text": "Hello"})
    callbacks_process_pending()
    done = client.get(sent["Location"]).content.decode()
    contact = Contact.objects.get()
    assert f"conversation {contact.pk}" in done and "Support" in done
    for link in ("simulated-callback-link", "simulated-conversation-link", "simulated-queue-link"):
        assert f'id="{link}"' not in done


@pytest.mark.parametrize("object_id", ["0", "abc", "99999999999999999999999"])
def test_the_simulator_page_of_no_service_is_a_404(admin_client_: Client, object_id: str) -> None:
    assert (
        admin_client_.get(f"/admin/messaging/messagingservice/{object_id}/simulate/").status_code
        == 404
    )


def test_admin_lists_and_pages_mark_simulated_rows_and_filter_them(
    admin_client_: Client, api: APIClient, client: Client, service: MessagingService, queue: Queue
) -> None:
    assert post_callback(client, service.pk, fixture_body("message_inbound")).status_code == 200
    _simulate(api, service, text="Hi", identity="46700000055")
    callbacks_process_pending()
    real = Contact.objects.get(simulated=False)
    simulated = Contact.objects.get(simulated=True)
    simulated_callback = Callback.objects.get(simulated=True)

    for url, shown, hidden in (
        ("/admin/messaging/callback/?simulated__exact=1", simulated_callback.pk, None),
        ("/admin/conversations/contact/?simulated__exact=1", simulated.pk, real.pk),
        ("/admin/conversations/contact/?simulated__exact=0", real.pk, simulated.pk),
    ):
        html = admin_client_.get(url).content.decode()
        assert f"/{shown}/change/" in html, url
        if hidden is not None:
            assert f"/{hidden}/change/" not in html, url
    everything = admin_client_.get("/admin/conversations/contact/").content.decode()
    assert everything.count('class="simulated-badge"') == 1

    contact_page = admin_client_.get(f"/admin/conversations/contact/{simulated.pk}/change/")
    assert b"field-simulated_note" in contact_page.content
    assert b"replies stay in the local sandbox" in contact_page.content
    real_page = admin_client_.get(f"/admin/conversations/contact/{real.pk}/change/")
    assert b"field-simulated_note" not in real_page.content
    callback_page = admin_client_.get(f"/admin/messaging/callback/{simulated_callback.pk}/change/")
    assert b"field-simulated" in callback_page.content
