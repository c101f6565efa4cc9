"""Routing decisions and attached data applied to a contact by conversations' own services."""

from __future__ import annotations

import pytest

from conversations.models import Contact, ContactEvent
from conversations.services import (
    RoutingDecision,
    contact_data_attach,
    contact_event_snapshot_refresh,
    contact_steer,
)
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_queue

pytestmark = pytest.mark.django_db


def test_steer_applies_a_routing_decision_and_says_what_it_applied(queue: Queue) -> None:
    contact = make_contact(queue)
    other = make_queue("Other")
    agent = make_agent(queues=[queue])

    steered = contact_steer(
        contact_id=contact.pk,
        decision=RoutingDecision(
            priority=0,
            queue=other,
            preferred_agent=agent,
            required_agents=[agent],
            required_agents_timeout=60,
        ),
    )

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.priority, stored.queue_id, stored.preferred_agent_id) == (0, other.pk, agent.pk)
    assert list(stored.required_agents.all()) == [agent]
    assert stored.required_agents_expiry == steered.required_agents_expiry is not None
    assert steered.applied.queue == other
    assert steered.refused is None


def test_steer_refuses_a_queue_meant_for_a_contact_not_yet_queued(queue: Queue) -> None:
    contact = make_contact(queue)  # queued already
    steered = contact_steer(
        contact_id=contact.pk,
        decision=RoutingDecision(priority=5, queue=make_queue("Late")),
        queue_while_new=True,
    )

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.priority, stored.queue_id) == (5, queue.pk)
    assert steered.applied.queue is None
    assert steered.refused == {"queue": "the conversation was queued before this answer came"}


def test_data_attach_merges_later_keys_over_earlier_ones(queue: Queue) -> None:
    contact = make_contact(queue)
    contact_data_attach(contact_id=contact.pk, data={"a": 1, "b": 1})

    merged = contact_data_attach(contact_id=contact.pk, data={"b": 2})

    assert merged == {"b": 2}
    assert Contact.objects.get(pk=contact.pk).cad == {"a": 1, "b": 2}


def test_an_event_snapshot_shows_the_contact_as_the_changes_made_for_it_left_it(
    queue: Queue,
) -> None:
    contact = make_contact(queue)
    event = contact.events.order_by("pk").last()
    assert event is not None
    contact_data_attach(contact_id=contact.pk, data={"tier": "gold"})

    stored = contact_event_snapshot_refresh(event=event)
    assert stored["cad"] == {"tier": "gold"}
    assert ContactEvent.objects.get(pk=event.pk).snapshot["cad"] == {"tier": "gold"}

    # The snapshot as the caller read it wins over what the contact became meanwhile.
    contact_data_attach(contact_id=contact.pk, data={"tier": "platinum"})
    contact_event_snapshot_refresh(event=event, snapshot=stored)
    assert ContactEvent.objects.get(pk=event.pk).snapshot["cad"] == {"tier": "gold"}
