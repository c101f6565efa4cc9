"""Every operator action, through each entry it has (admin, API, command), leaves an audit entry
with its operation, actor, channel, object and diff, and no secret or customer data."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection, connections
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from configurator.__main__ import main as manage_py
from configurator.models import AuditEntry
from conversations.models import Contact, ContactEvent
from integrations.models import Delivery, Integration
from messaging.models import MessagingService
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_integration, make_queue
from tests.fakesinch import FakeSinch
from tests.httpsink import HttpsSink
from tests.sinch import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

PHONE = "46701234567"
NEW_SECRET = "a-new-webhook-secret-of-a-good-length"
INTEGRATION_SECRET = "integration-secret-value-42"


def entry_of(operation: str, obj: Model) -> AuditEntry:
    """The newest entry of `operation` on `obj`."""
    entry = (
        AuditEntry.objects.filter(
            operation=operation,
            object_pk=str(obj.pk),
            content_type__model=obj._meta.model_name,
        )
        .order_by("-timestamp", "-id")
        .first()
    )
    assert entry is not None, f"no {operation} entry for {obj!r}"
    return entry


def assert_by(entry: AuditEntry, user: User, via: str) -> None:
    assert (entry.actor, entry.via) == (user, via)


def table_dump() -> str:
    """Every column of every audit row, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuditEntry._meta.db_table}")  # noqa: S608
        return json.dumps(cursor.fetchall(), default=str)


@pytest.fixture
def integration(https_sink: HttpsSink, queue: Queue) -> Integration:
    return make_integration(
        "CRM events",
        queues=[queue],
        endpoint_url=f"{https_sink.url}/events",
        events=["queued"],
        authentications={"basic:crm": INTEGRATION_SECRET},
        configuration={"request": {"method": "POST", "authentication": {"type": "basic"}}},
    )


# --- integrations: copy, disable, enable, resume --------------------------------------------


def test_integration_switches_through_the_api(
    api: APIClient, staff_user: User, integration: Integration
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/"
    assert api.post(f"{url}disable/").status_code == 200
    disabled = entry_of("disable", integration)
    assert_by(disabled, staff_user, "api")
    assert disabled.changes == {"enabled": [True, False]}
    assert disabled.content_type.model == "integration"

    assert api.post(f"{url}enable/").status_code == 200
    assert entry_of("enable", integration).changes["enabled"] == [False, True]

    Integration.objects.filter(pk=integration.pk).update(
        paused_at=timezone.now(), paused_reason="5 failures in a row"
    )
    assert api.post(f"{url}resume/").status_code == 200
    resumed = entry_of("resume", integration)
    assert_by(resumed, staff_user, "api")
    assert resumed.changes["paused_reason"] == ["5 failures in a row", ""]

    copied = api.post(f"{url}copy/").json()
    copy = Integration.objects.get(pk=copied["id"])
    created = AuditEntry.objects.filter(operation="copy", object_pk=str(copy.pk))
    assert {e.action for e in created} == {AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE}
    for entry in created:
        assert_by(entry, staff_user, "api")
        assert entry.additional_data == {"original": integration.pk}
    queues = created.get(action=AuditEntry.Action.UPDATE).changes["queues"]
    assert queues == {"type": "m2m", "operation": "add", "objects": ["Support"]}


def test_integration_switches_through_the_admin(
    admin_client_: Client, staff_user: User, integration: Integration
) -> None:
    page = f"/admin/integrations/integration/{integration.pk}/"
    admin_client_.post(f"{page}disable/")
    assert_by(entry_of("disable", integration), staff_user, "admin")
    admin_client_.post(f"{page}enable/")
    assert_by(entry_of("enable", integration), staff_user, "admin")
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    admin_client_.post(f"{page}resume/")
    assert_by(entry_of("resume", integration), staff_user, "admin")
    admin_client_.post(f"{page}copy/")
    copy = Integration.objects.exclude(pk=integration.pk).get()
    assert_by(entry_of("copy", copy), staff_user, "admin")


def test_integration_authentication_secret_is_recorded_only_as_changed(
    api: APIClient, integration: Integration
) -> None:
    answer = api.patch(
        f"/api/v1/integrations/{integration.pk}/",
        {"authentications": [{"authentication_id": "basic:crm", "secret": "another-secret-99"}]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    entry = AuditEntry.objects.filter(content_type__model="integrationauthentication").first()
    assert entry is not None
    assert entry.changes["secret"] == ["(secret)", "(secret)"]
    dump = table_dump()
    for secret in (INTEGRATION_SECRET, "another-secret-99"):
        assert secret not in dump


# --- test run live and resend ----------------------------------------------------------------


def test_live_test_run_is_recorded_through_api_and_admin_and_a_dry_run_is_not(
    api: APIClient, admin_client_: Client, staff_user: User, integration: Integration
) -> None:
    url = f"/api/v1/integrations/{integration.pk}/test/"
    assert api.post(url, {"event": "queued", "live": False}, format="json").status_code == 200
    assert not AuditEntry.objects.filter(operation="test_run").exists()

    assert api.post(url, {"event": "queued", "live": True}, format="json").status_code == 200
    entry = entry_of("test_run", integration)
    assert_by(entry, staff_user, "api")
    assert entry.additional_data["event"] == "queued"
    assert entry.additional_data["outcome"].startswith("changes:")

    admin_client_.post(
        f"/admin/integrations/integration/{integration.pk}/test/",
        {"event": "queued", "contact": "", "live": "on"},
    )
    assert_by(entry_of("test_run", integration), staff_user, "admin")
    assert INTEGRATION_SECRET not in table_dump()


def _failed_delivery(integration: Integration, queue: Queue) -> Delivery:
    contact = make_contact(queue, identity=PHONE)
    event = ContactEvent.objects.filter(contact=contact).latest("id")
    Integration.objects.filter(pk=integration.pk).update(paused_at=timezone.now())
    return Delivery.objects.create(
        integration=integration,
        contact=contact,
        contact_event=event,
        event=event.event,
        mode="background",
        status="failed",
    )


def test_resend_is_recorded_on_the_integration_through_api_and_admin(
    api: APIClient, admin_client_: Client, staff_user: User, integration: Integration, queue: Queue
) -> None:
    _failed_delivery(integration, queue)
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    answer = api.post(
        f"/api/v1/integrations/{integration.pk}/resend/", {"since": since}, format="json"
    )
    assert answer.status_code == 200
    entry = entry_of("resend", integration)
    assert_by(entry, staff_user, "api")
    assert entry.additional_data == {"deliveries": 1, "more": False}

    _failed_delivery(integration, queue)
    admin_client_.post(
        f"/admin/integrations/integration/{integration.pk}/resend/",
        {"since": timezone.localtime().replace(tzinfo=None) - timedelta(hours=1)},
    )
    assert_by(entry_of("resend", integration), staff_user, "admin")
    assert PHONE not in table_dump()


# --- messaging services: rotation, doctor fix, simulate ----------------------------------------


def test_webhook_secret_rotation_through_api_and_admin_records_no_secret(
    api: APIClient, admin_client_: Client, staff_user: User, service: MessagingService
) -> None:
    answer = api.post(
        f"/api/v1/messaging-services/{service.pk}/rotate-webhook-secret/",
        {"secret": NEW_SECRET, "overlap_hours": 0},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    entry = entry_of("rotate_secret", service.authentications.get(direction="inbound"))
    assert_by(entry, staff_user, "api")
    assert entry.changes["secret"] == ["(secret)", "(secret)"]
    assert entry.additional_data == {"overlap_hours": 0}

    admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/rotate-webhook-secret/",
        {"secret": NEW_SECRET + "-2", "overlap_hours": "0"},
    )
    entry = entry_of("rotate_secret", service.authentications.get(direction="inbound"))
    assert_by(entry, staff_user, "admin")
    dump = table_dump()
    for secret in (WEBHOOK_SECRET, NEW_SECRET):
        assert secret not in dump


def test_doctor_fix_is_recorded_and_a_check_alone_is_not(
    api: APIClient,
    admin_client_: Client,
    staff_user: User,
    fake_sinch: FakeSinch,
    settings: Any,
    service: MessagingService,
) -> None:
    settings.PUBLIC_BASE_URL = "https://configurator.example.com"
    fake_sinch.add_app("01E4556565565ERKYO", channels=("WHATSAPP",))
    url = f"/api/v1/messaging-services/{service.pk}/doctor/"
    assert api.post(url, {"fix": False}, format="json").status_code == 200
    assert not AuditEntry.objects.filter(operation="doctor_fix").exists()

    assert api.post(url, {"fix": True}, format="json").status_code == 200
    entry = entry_of("doctor_fix", service)
    assert_by(entry, staff_user, "api")
    assert [fixed["code"] for fixed in entry.additional_data["fixed"]] == ["webhook_created"]

    admin_client_.post(f"/admin/messaging/messagingservice/{service.pk}/doctor/", {"fix": "1"})
    assert_by(entry_of("doctor_fix", service), staff_user, "admin")
    assert WEBHOOK_SECRET not in table_dump()


def test_simulate_is_recorded_without_the_customer_or_the_text(
    api: APIClient, admin_client_: Client, staff_user: User, service: MessagingService, queue: Queue
) -> None:
    answer = api.post(
        f"/api/v1/messaging-services/{service.pk}/simulate/",
        {"identity": PHONE, "text": "My card number is 4111"},
        format="json",
    )
    assert answer.status_code == 202, answer.content
    entry = entry_of("simulate", service)
    assert_by(entry, staff_user, "api")
    assert entry.additional_data["callback"] == answer.json()["callback"]

    admin_client_.post(
        f"/admin/messaging/messagingservice/{service.pk}/simulate/",
        {"text": "Hello", "identity": PHONE},
    )
    assert_by(entry_of("simulate", service), staff_user, "admin")
    dump = table_dump()
    assert PHONE not in dump and "4111" not in dump


def test_service_created_through_the_api_is_recorded_with_secrets_masked(
    api: APIClient, staff_user: User
) -> None:
    answer = api.post(
        "/api/v1/messaging-services/",
        {
            "name": "EU",
            "service_connection": "https://eu.conversation.api.sinch.com/v1/projects/p1/messages:send",
            "authentications": [
                {
                    "direction": "outbound",
                    "authentication_id": "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11@01E4556565565ERKYO",
                    "secret": "outbound-access-key-secret",
                },
                {
                    "direction": "inbound",
                    "authentication_id": "webhook",
                    "secret": NEW_SECRET,
                    "triggers": ["MESSAGE_INBOUND"],
                },
            ],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    service = MessagingService.objects.get(pk=answer.json()["id"])
    created = entry_of("create", service)
    assert_by(created, staff_user, "api")
    assert created.changes["name"] == [None, "EU"]
    dump = table_dump()
    assert NEW_SECRET not in dump and "outbound-access-key-secret" not in dump


# --- contacts: the lifecycle actions and the reply ----------------------------------------------


def test_contact_actions_through_the_api_name_the_contact_by_id_only(
    api: APIClient, staff_user: User, queue: Queue
) -> None:
    contact = make_contact(queue, identity=PHONE)
    agent = make_agent("Anna", queues=[queue])
    other = make_queue("Billing", ["01E4556565565ERKYO@telegram"])
    url = f"/api/v1/contacts/{contact.pk}/"
    steps = [
        ("allocate", {"agent": agent.pk}, {"agent": agent.pk}),
        ("reject", {}, {}),
        ("forward", {"queue": other.pk}, {"queue": other.pk}),
        ("allocate", {"agent": agent.pk}, {"agent": agent.pk}),
        ("accept", {}, {}),
        ("transfer", {"queue": queue.pk}, {"queue": queue.pk}),
        ("abandon", {}, {}),
    ]
    for action, body, detail in steps:
        answer = api.post(f"{url}{action}/", body, format="json")
        assert answer.status_code == 200, (action, answer.content)
        entry = entry_of(action, contact)
        assert_by(entry, staff_user, "api")
        assert entry.additional_data == (detail or None)
        assert (entry.content_type.model, entry.object_repr) == ("contact", contact.pk)
    assert PHONE not in table_dump()


def test_contact_actions_through_the_admin(
    admin_client_: Client, staff_user: User, queue: Queue
) -> None:
    contact = make_contact(queue, identity=PHONE)
    agent = make_agent("Anna", queues=[queue])
    page = f"/admin/conversations/contact/{contact.pk}/act/"
    admin_client_.post(f"{page}allocated/", {"agent": agent.pk})
    admin_client_.post(f"{page}accepted/")
    admin_client_.post(f"{page}ended/", {"confirmed": "yes"})
    for action in ("allocate", "accept", "end"):
        assert_by(entry_of(action, contact), staff_user, "admin")


def test_overflow_and_sinch_stops_are_not_operator_actions(queue: Queue) -> None:
    from conversations import services

    contact = make_contact(queue, identity=PHONE)
    services.contact_abandon(contact=contact, by="Sinch", reason="stopped")
    assert not AuditEntry.objects.filter(content_type__model="contact").exists()


def test_reply_is_recorded_without_its_text(
    api: APIClient, staff_user: User, fake_sinch: FakeSinch, queue: Queue
) -> None:
    contact = make_contact(queue, identity=PHONE)
    fake_sinch.script_send(200, {"message_id": "01OUTMSG", "accepted_time": "2026-11-21T09:00Z"})
    answer = api.post(
        f"/api/v1/contacts/{contact.pk}/messages/", {"text": "Your code is 987654"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    entry = entry_of("reply", contact)
    assert_by(entry, staff_user, "api")
    assert entry.additional_data == {"message": answer.json()["id"]}
    assert "987654" not in table_dump()


# --- users, groups, tokens; the command line ----------------------------------------------------


def test_user_and_group_changes_show_passwords_as_changed_and_permissions_in_the_diff(
    admin_client_: Client, staff_user: User
) -> None:
    group = Group.objects.create(name="Supervisors")
    permission = Permission.objects.get(codename="view_queue")
    group.permissions.add(permission)
    entry = AuditEntry.objects.filter(object_pk=str(group.pk), content_type__model="group").first()
    assert entry is not None
    assert entry.changes["permissions"]["objects"] == [str(permission)]

    user = User.objects.create_user("sam", password="first-password-1")
    user.set_password("second-password-2")
    user.save()
    user.last_login = timezone.now()
    user.save()
    entries = AuditEntry.objects.filter(object_pk=str(user.pk), content_type__model="user")
    assert entries.count() == 2  # created, password changed; a login is no change
    assert entries.first().changes == {"password": ["(secret)", "(secret)"]}
    assert "pbkdf2" not in table_dump()


def test_api_token_entries_never_hold_the_digest_or_the_key(staff_user: User) -> None:
    from configurator.tokens import api_token_create, api_tokens_revoke, api_tokens_visible

    token, key = api_token_create(user=staff_user)
    api_tokens_revoke(tokens=api_tokens_visible(user=staff_user))
    entries = AuditEntry.objects.filter(content_type__model="authtoken")
    assert {e.operation for e in entries} == {"create", "delete"}
    assert {e.object_pk for e in entries} == {key[:8]}
    dump = table_dump()
    assert token.digest not in dump and key[8:20] not in dump


def test_commands_are_recorded_as_through_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A command closes the database connections when it ends: the test's in-memory one stays.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "command-password-7")
    monkeypatch.setattr(
        sys,
        "argv",
        ["manage.py", "createsuperuser", "--noinput", "--username", "ops", "--email", "o@x.io"],
    )
    manage_py()
    user = User.objects.get(username="ops")
    created = entry_of("create", user)
    assert (created.via, created.actor) == ("command", None)
    assert created.changes["password"] == ["(secret)", "(secret)"]

    monkeypatch.setattr(sys, "argv", ["manage.py", "drf_create_token", "ops"])
    manage_py()
    key = capsys.readouterr().out.split("Generated token ")[1].split()[0]
    token = AuditEntry.objects.get(content_type__model="authtoken")
    assert (token.operation, token.via, token.object_pk) == ("create", "command", key[:8])
    assert "command-password-7" not in table_dump()


def test_contacts_are_never_audited_rows(queue: Queue) -> None:
    """The webhook's hot path: contacts, callbacks and deliveries record nothing themselves."""
    make_contact(queue, identity=PHONE)
    assert not AuditEntry.objects.filter(
        content_type__model__in=["contact", "callback", "delivery", "message"]
    ).exists()
    assert Contact.objects.count() == 1
