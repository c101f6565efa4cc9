"""The audit trail's recording: channel, actor, operation, masked secrets (configurator/audit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auditlog.registry import auditlog
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from configurator import audit
from configurator.models import AuditEntry
from messaging.models import ServiceAuthentication
from queues.models import Queue
from tests.factories import make_queue, make_service


@pytest.fixture
def queues_audited() -> Iterator[None]:
    """Queues and authentication entries recorded, whether or not their app registers them."""
    registered = {m: auditlog.contains(m) for m in (Queue, ServiceAuthentication)}
    if not registered[Queue]:
        audit.register(Queue)
    if not registered[ServiceAuthentication]:
        audit.register(ServiceAuthentication, secret_fields=["secret", "previous_secret"])
    yield
    for model, was in registered.items():
        if not was:
            auditlog.unregister(model)


@pytest.mark.django_db
def test_entries_outside_a_request_come_through_the_system(queues_audited: None) -> None:
    queue = make_queue("Support", ["APP@whatsapp"])
    entry = AuditEntry.objects.get_for_object(queue).get()
    assert (entry.operation, entry.via, entry.actor) == ("create", "system", None)


@pytest.mark.django_db
def test_operation_names_the_saves_inside_it(queues_audited: None) -> None:
    queue = make_queue("Support", ["APP@whatsapp"])
    with audit.via("command"), audit.operation("import", file="eu.json"):
        queue.name = "Sales"
        queue.save()
    entry = AuditEntry.objects.get_for_object(queue).first()
    assert (entry.operation, entry.via) == ("import", "command")
    assert entry.changes["name"] == ["Support", "Sales"]
    assert entry.additional_data == {"file": "eu.json"}


@pytest.mark.django_db
def test_record_writes_an_action_that_saved_nothing(queues_audited: None) -> None:
    queue = make_queue("Support", ["APP@whatsapp"])
    user = User.objects.create_user("sam")
    with audit.via("admin", actor=user):
        entry = audit.record(operation="test_run", instance=queue, detail={"status": 200})
    entry.refresh_from_db()
    assert (entry.operation, entry.via, entry.actor) == ("test_run", "admin", user)
    assert entry.additional_data == {"status": 200}


@pytest.mark.django_db
def test_secret_fields_are_recorded_only_as_changed(queues_audited: None) -> None:
    service = make_service(app_id="APP")
    inbound = service.authentications.get(direction="inbound")
    inbound.secret = "a-brand-new-secret-value"
    inbound.save()
    entries = AuditEntry.objects.get_for_object(inbound)
    assert entries.count() == 2
    for entry in entries:
        assert "secret" not in str(entry.serialized_data or "")
        assert entry.changes["secret"][1] == audit.SECRET_MASK
    assert "a-brand-new-secret-value" not in str(list(entries.values()))


@pytest.mark.django_db
def test_an_api_request_is_recorded_with_its_tokens_user(
    queues_audited: None, api: APIClient, staff_user: User
) -> None:
    make_service(app_id="APP")
    answer = api.post(
        "/api/v1/queues/",
        {"name": "Billing", "channel_type": "chat", "addresses": ["APP@whatsapp"]},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    entry = AuditEntry.objects.get(object_id=answer.json()["id"], content_type__model="queue")
    assert (entry.via, entry.actor, entry.remote_addr) == ("api", staff_user, "127.0.0.1")


@pytest.mark.django_db
def test_an_admin_save_is_recorded_with_its_user(
    queues_audited: None, admin_client_: Client, staff_user: User
) -> None:
    queue = make_queue("Support", ["APP@whatsapp"])
    admin_client_.post(f"/admin/queues/queue/{queue.pk}/delete/", {"post": "yes"})
    entry = AuditEntry.objects.filter(object_id=queue.pk, content_type__model="queue").first()
    assert (entry.operation, entry.via, entry.actor) == ("delete", "admin", staff_user)
