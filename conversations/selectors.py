"""Reads of the conversations app, with the joins their callers need."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from conversations.models import Agent, Contact, ContactEvent, Message
from queues.models import QueueAddress


def agents_serving_first(queue_id: int) -> QuerySet[Agent]:
    """Every agent, those who serve the queue first (`serves_queue`), each part by name."""
    serves = Agent.queues.through.objects.filter(agent_id=OuterRef("pk"), queue_id=queue_id)
    return Agent.objects.annotate(serves_queue=Exists(serves)).order_by(
        "-serves_queue", "name", "id"
    )


def contact_list() -> QuerySet[Contact]:
    """Contacts with queue and agent (one query per page)."""
    return Contact.objects.select_related("queue", "agent")


def contact_detail() -> QuerySet[Contact]:
    """Contacts with everything the detail views and the snapshot show."""
    addresses = Prefetch("addresses", queryset=QueueAddress.objects.order_by("address"))
    return Contact.objects.select_related(
        "queue",
        "forwarding_queue",
        "agent",
        "preferred_agent",
        "transferring_agent",
    ).prefetch_related(
        Prefetch("queue__addresses", queryset=addresses.queryset),
        Prefetch("forwarding_queue__addresses", queryset=addresses.queryset),
        "required_agents",
    )


def contact_messages(contact_id: str) -> QuerySet[Message]:
    """A contact's messages in the order they were written, with who sent them."""
    return Message.objects.filter(contact_id=contact_id).select_related("agent")


def contact_events(contact_id: str) -> QuerySet[ContactEvent]:
    """A contact's event history, oldest first."""
    return ContactEvent.objects.filter(contact_id=contact_id)


def open_contacts_in_sinch_conversation(conversation_id: str, *, app_id: str) -> QuerySet[Contact]:
    """Open contacts of a Sinch conversation of the app (normally one)."""
    return Contact.objects.select_related("queue", "agent").filter(
        sinch_conversation_id=conversation_id, sinch_app_id=app_id, ended_at__isnull=True
    )


def agent_list() -> QuerySet[Agent]:
    """Agents with the queues they serve (two queries whatever the count)."""
    return Agent.objects.prefetch_related("queues")
