"""The contact as integrations' placeholders see it (`{contact}`, `{contact.queue.id}`, ...).

Kept in one place so that the event history, the API and the integrations show the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conversations.models import Agent, Contact
from queues.models import Queue


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and Z, as Contact Pro writes times."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def queue_ref(queue: Queue | None, preferred_address: str = "") -> dict[str, Any] | None:
    """`{"id", "address", "name"}` of a queue; the address it was reached on when known."""
    if queue is None:
        return None
    addresses = [a.address for a in queue.addresses.all()]  # prefetched by detail selectors
    address = preferred_address if preferred_address in addresses else next(iter(addresses), "")
    return {"id": queue.pk, "address": address, "name": queue.name}


def agent_ref(agent: Agent | None) -> dict[str, Any] | None:
    """`{"id", "number", "chat_address", "name"}` of an agent."""
    if agent is None:
        return None
    return {
        "id": agent.pk,
        "number": agent.number,
        "chat_address": agent.chat_address,
        "name": agent.name,
    }


def contact_snapshot(contact: Contact, *, just_created: bool = False) -> dict[str, Any]:
    """Everything `{contact.*}` placeholders expose, as JSON-ready values.

    `just_created`: the row was inserted a moment ago, so it has no required agents yet
    (a many-to-many needs the row first); the snapshot spares the query.
    """
    required = [] if just_created else [agent_ref(a) for a in contact.required_agents.all()]
    return {
        "id": contact.id,
        "guid": contact.guid,
        "channel_type": contact.channel_type,
        "channel_sub_type": contact.channel_sub_type or None,
        "direction": contact.direction,
        "created": iso(contact.created),
        "language": contact.language or None,
        "priority": contact.priority,
        "skills": contact.skills or None,
        "queue": queue_ref(contact.queue, contact.destination),
        "forwarding_queue": queue_ref(contact.forwarding_queue),
        "agent": agent_ref(contact.agent),
        "preferred_agent": agent_ref(contact.preferred_agent),
        "required_agents": required or None,
        "required_agents_expiry": iso(contact.required_agents_expiry),
        "transferring_agent": agent_ref(contact.transferring_agent),
        "source": contact.source,
        "destination": contact.destination,
        "external_destination": contact.external_destination or None,
        "cad": contact.cad,
        "state": contact.state,
        "sinch_contact_id": contact.sinch_contact_id or None,
        "sinch_conversation_id": contact.sinch_conversation_id or None,
        # Opened by the simulator: an endpoint being tried end to end can tell its test traffic
        # from real customers (the simulator takes any identity, a real number included).
        "simulated": contact.simulated,
    }
