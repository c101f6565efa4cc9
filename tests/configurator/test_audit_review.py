"""What a review of the audit trail found: who survives the account, addresses added, an
object's whole history, entries a role may not read, the client's address behind proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from configurator import audit
from configurator.models import AuditEntry
from configurator.roles import VIEWER, roles_apply
from configurator.tokens import api_token_create
from messaging.models import MessagingService
from messaging.services import webhook_secret_rotate
from queues.models import Queue
from tests.factories import make_contact, make_queue

pytestmark = pytest.mark.django_db


def _client(user: User, **extra: Any) -> APIClient:
    _, key = api_token_create(user=user)
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_deleted_users_changes_still_say_who_made_them(queue: Queue) -> None:
    temp = User.objects.create_superuser("temp", "temp@example.com", "x")
    answer = _client(temp).patch(f"/api/v1/queues/{queue.pk}/", {"description": "by temp"})
    assert answer.status_code == 200
    temp.delete()
    admin = User.objects.create_superuser("boss", "boss@example.com", "x")

    found = _client(admin).get("/api/v1/audit/", {"actor": "temp"}).json()["results"]

    assert [(e["actor"], e["actor_username"], e["via"]) for e in found] == [(None, "temp", "api")]


def test_an_address_added_to_a_queue_is_recorded(api: APIClient, queue: Queue) -> None:
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    answer = api.patch(
        f"/api/v1/queues/{queue.pk}/",
        {"addresses": ["01E4556565565ERKYO@whatsapp", "01E4556565565ERKYO@viber"]},
        format="json",
    )
    assert answer.status_code == 200, answer.content

    added = AuditEntry.objects.filter(
        id__gt=last, content_type__model="queueaddress", operation="create"
    )
    assert [e.changes["address"][1] for e in added] == [
        "01E4556565565ERKYO@viber.sinchconversation.com"
    ]


def test_a_services_history_shows_its_secret_rotation(
    admin_client_: Client, service: MessagingService
) -> None:
    with audit.via("admin"):
        webhook_secret_rotate(
            service=service, secret="a-new-secret-of-enough-length", overlap_hours=1
        )

    page = admin_client_.get(f"/admin/messaging/messagingservice/{service.pk}/history/")

    assert page.status_code == 200
    assert "secret rotation" in page.content.decode().lower()
    assert "a-new-secret-of-enough-length" not in page.content.decode()


def test_a_contacts_history_shows_the_operators_actions(admin_client_: Client) -> None:
    contact = make_contact(make_queue("Support", ["APP@whatsapp"]))
    with audit.via("admin"):
        audit.record(operation="end", instance=contact)

    page = admin_client_.get(f"/admin/conversations/contact/{contact.pk}/history/")

    assert page.status_code == 200
    assert "doesn" not in page.content.decode()  # "This object doesn't have a change history"
    assert "End" in page.content.decode()


def test_a_viewer_reads_no_entries_about_users_or_tokens(queue: Queue) -> None:
    roles_apply()
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    other = User.objects.create_user("someone", "someone@example.com", "x", is_staff=True)
    api_token_create(user=other)
    queue.description = "seen by all"
    queue.save()

    kinds = {e["object_type"] for e in _client(viewer).get("/api/v1/audit/").json()["results"]}
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/configurator/auditentry/").content.decode()

    assert "queues.queue" in kinds
    assert not kinds & {"auth.user", "auth.group", "knox.authtoken"}
    assert "someone@example.com" not in page


def test_the_client_behind_the_trusted_proxy_is_recorded(settings: Any, queue: Queue) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    user = User.objects.create_superuser("boss", "boss@example.com", "x")
    client = _client(user, HTTP_X_FORWARDED_FOR="203.0.113.9")

    client.patch(f"/api/v1/queues/{queue.pk}/", {"description": "through the proxy"})

    assert AuditEntry.objects.filter(content_type__model="queue").first().remote_addr == (
        "203.0.113.9"
    )


def test_a_token_made_in_the_admin_leaves_no_digest_in_djangos_history(
    admin_client_: Client, staff_user: User
) -> None:
    admin_client_.post("/admin/configurator/apitoken/add/", {"user": staff_user.pk})

    assert not LogEntry.objects.filter(content_type__model__in=["apitoken", "authtoken"]).exists()
    assert AuditEntry.objects.filter(content_type__model="authtoken").exists()


def test_saving_a_user_in_the_admin_changes_no_date(admin_client_: Client) -> None:
    user = User.objects.create_user("norole", password="x")
    page = admin_client_.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups",)}
    data.update({"username": "norole", "is_active": "on", "groups": [], "user_permissions": []})
    data.pop("password", None)
    admin_client_.post(f"/admin/auth/user/{user.pk}/change/", data)
    joined = User.objects.get(pk=user.pk).date_joined

    assert joined == user.date_joined
    entries = AuditEntry.objects.filter(
        content_type__model="user", object_pk=str(user.pk), operation="update"
    )
    assert all("date_joined" not in (e.changes or {}) for e in entries)
