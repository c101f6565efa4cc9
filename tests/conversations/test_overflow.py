"""Overflow: conversations waiting too long are forwarded without anyone looking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conversations import services
from conversations.models import Contact
from conversations.overflow import contacts_forward_overdue, forward_overdue_contacts
from queues import services as queue_services
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_queue

pytestmark = pytest.mark.django_db

TASK_PATH = "conversations.overflow.forward_overdue_contacts"
MAX_WAIT = timedelta(minutes=2)


@dataclass
class Overflow:
    """Support overflows into Backup after two minutes."""

    support: Queue
    backup: Queue


@pytest.fixture
def overflow(queue: Queue) -> Overflow:
    backup = make_queue("Backup", ["01E4556565565ERKYO@telegram"])
    queue_services.queue_update(queue=queue, max_waiting_time=MAX_WAIT, overflow_queue=backup)
    return Overflow(support=queue, backup=backup)


def waiting_since(contact: Contact, ago: timedelta) -> datetime:
    """Pretend the contact started waiting `ago` before now."""
    since = timezone.now() - ago
    Contact.objects.filter(pk=contact.pk).update(waiting_since=since, queued_at=since)
    return since


def checks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY"))


def test_overdue_contact_is_forwarded_to_the_overflow_queue(overflow: Overflow) -> None:
    contact = make_contact(overflow.support)
    since = waiting_since(contact, MAX_WAIT + timedelta(seconds=5))

    assert contacts_forward_overdue() == 1

    contact = Contact.objects.get(pk=contact.pk)
    assert contact.state == "forwarded"
    assert contact.queue == overflow.backup
    assert contact.forwarding_queue == overflow.support
    assert contact.waiting_since is not None
    assert contact.waiting_since > since + MAX_WAIT
    event = contact.events.last()
    assert event is not None
    assert event.event == "forwarded"
    assert event.detail == "Forwarded from Support to Backup: waited longer than 0:02:00 (overflow)"
    assert event.snapshot["forwarding_queue"]["id"] == overflow.support.pk


def test_contact_not_yet_overdue_stays(overflow: Overflow) -> None:
    contact = make_contact(overflow.support)
    waiting_since(contact, MAX_WAIT - timedelta(seconds=30))
    assert contacts_forward_overdue() == 0
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.state == "queued"
    assert contact.queue == overflow.support


def test_allocated_contact_is_not_forwarded(overflow: Overflow) -> None:
    contact = make_contact(overflow.support)
    waiting_since(contact, MAX_WAIT * 3)
    services.contact_allocate(contact=contact, agent=make_agent(queues=[overflow.support]))
    assert contacts_forward_overdue(now=timezone.now() + MAX_WAIT) == 0
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.state == "allocated"
    assert contact.queue == overflow.support


def test_queue_without_overflow_keeps_its_contacts_however_long_they_wait(
    overflow: Overflow,
) -> None:
    contact = make_contact(overflow.backup)
    waiting_since(contact, timedelta(days=1))
    assert contacts_forward_overdue() == 0
    assert Contact.objects.get(pk=contact.pk).queue == overflow.backup


def test_forwards_every_overdue_contact_and_only_those(overflow: Overflow) -> None:
    late = [make_contact(overflow.support, conversation_id=f"01LATE{n}") for n in range(3)]
    on_time = make_contact(overflow.support, conversation_id="01ONTIME")
    for n, contact in enumerate(late):
        waiting_since(contact, MAX_WAIT + timedelta(seconds=n + 1))
    assert contacts_forward_overdue() == 3
    assert set(Contact.objects.filter(queue=overflow.backup).values_list("pk", flat=True)) == {
        c.pk for c in late
    }
    assert Contact.objects.get(pk=on_time.pk).queue == overflow.support
    assert contacts_forward_overdue() == 0


def test_rejected_contact_keeps_its_original_wait_and_can_overflow(overflow: Overflow) -> None:
    contact = make_contact(overflow.support)
    waiting_since(contact, MAX_WAIT + timedelta(seconds=1))
    agent = make_agent(queues=[overflow.support])
    services.contact_allocate(contact=contact, agent=agent)
    services.contact_reject(contact=contact)
    assert contacts_forward_overdue() == 1
    assert Contact.objects.get(pk=contact.pk).queue == overflow.backup


def test_check_is_scheduled_when_a_contact_starts_waiting_in_an_overflow_queue(
    overflow: Overflow, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = make_contact(overflow.support)
    [check] = checks()
    waiting_since = Contact.objects.get(pk=contact.pk).waiting_since
    assert waiting_since is not None
    due = waiting_since + MAX_WAIT
    assert abs(check.run_after - due) < timedelta(seconds=1)
    assert check.status == "READY"


def test_one_check_serves_contacts_due_at_about_the_same_time(
    overflow: Overflow, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_contact(overflow.support, conversation_id="01FIRST")
    with django_capture_on_commit_callbacks(execute=True):
        make_contact(overflow.support, conversation_id="01SECOND")
    assert len(checks()) == 1


def test_no_check_is_scheduled_for_a_queue_without_overflow(
    overflow: Overflow, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_contact(overflow.backup)
    assert checks() == []


def test_check_is_scheduled_when_overflow_is_set_on_a_queue_with_waiting_contacts(
    queue: Queue, django_capture_on_commit_callbacks: Any
) -> None:
    backup = make_queue("Backup", ["01E4556565565ERKYO@telegram"])
    with django_capture_on_commit_callbacks(execute=True):
        contact = make_contact(queue)
    assert checks() == []
    with django_capture_on_commit_callbacks(execute=True):
        queue_services.queue_update(queue=queue, max_waiting_time=MAX_WAIT, overflow_queue=backup)
    [check] = checks()
    waiting_since = Contact.objects.get(pk=contact.pk).waiting_since
    assert waiting_since is not None
    due = waiting_since + MAX_WAIT
    assert abs(check.run_after - due) < timedelta(seconds=1)


def test_running_the_check_forwards_and_schedules_the_next_one(overflow: Overflow) -> None:
    late = make_contact(overflow.support, conversation_id="01LATE")
    waiting_since(late, MAX_WAIT + timedelta(seconds=10))
    soon = make_contact(overflow.support, conversation_id="01SOON")
    since = waiting_since(soon, MAX_WAIT - timedelta(seconds=30))
    assert checks() == []

    assert forward_overdue_contacts.call() == 1

    assert Contact.objects.get(pk=late.pk).queue == overflow.backup
    assert Contact.objects.get(pk=soon.pk).queue == overflow.support
    [check] = checks()
    assert abs(check.run_after - (since + MAX_WAIT)) < timedelta(seconds=1)


def test_running_the_check_with_nothing_waiting_schedules_nothing(overflow: Overflow) -> None:
    late = make_contact(overflow.support)
    waiting_since(late, MAX_WAIT * 2)
    assert forward_overdue_contacts.call() == 1
    assert forward_overdue_contacts.call() == 0
    assert checks() == []
