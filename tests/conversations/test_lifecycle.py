"""The contact lifecycle: every transition, every refusal, the event history and the hook."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from configurator import extensions
from conversations import lifecycle, services
from conversations.lifecycle import LifecycleError, LifecycleEvent, Phase
from conversations.models import Agent, Contact, ContactEvent
from queues.models import Queue
from tests.factories import make_agent, make_contact, make_queue

pytestmark = pytest.mark.django_db

SUPPORT_ADDRESS = "01E4556565565ERKYO@whatsapp.sinchconversation.com"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Desk:
    """A queue, a second chat queue, a phone queue and two agents."""

    queue: Queue
    other: Queue
    phone: Queue
    anna: Agent
    bob: Agent


@pytest.fixture
def desk(queue: Queue) -> Desk:
    other = make_queue("Sales", ["01E4556565565ERKYO@telegram"])
    phone = make_queue("Phone", ["2001"], channel_type="phone")
    return Desk(
        queue=queue,
        other=other,
        phone=phone,
        anna=make_agent("Anna", [queue, other], number="2001"),
        bob=make_agent("Bob", [queue, other], number="2002"),
    )


def events_of(contact: Contact) -> list[str]:
    return list(contact.events.values_list("event", flat=True))


def last_detail(contact: Contact) -> str:
    event = contact.events.last()
    assert event is not None
    return event.detail


def fresh(contact: Contact) -> Contact:
    return Contact.objects.get(pk=contact.pk)


def received(desk: Desk) -> Contact:
    """A contact that was just received and is not in a queue yet."""
    contact = Contact.objects.create(
        channel_sub_type="whatsapp", source="46701234567", destination=SUPPORT_ADDRESS
    )
    lifecycle.record(contact, "received", fields=[])
    return contact


def waiting(desk: Desk) -> Contact:
    return make_contact(desk.queue)


def offered(desk: Desk) -> Contact:
    return services.contact_allocate(contact=waiting(desk), agent=desk.anna)


def connected(desk: Desk) -> Contact:
    return services.contact_accept(contact=offered(desk))


def ended(desk: Desk) -> Contact:
    return services.contact_end(contact=connected(desk))


def abandoned(desk: Desk) -> Contact:
    return services.contact_abandon(contact=waiting(desk))


PHASES: dict[str, Callable[[Desk], Contact]] = {
    "new": received,
    "waiting": waiting,
    "offered": offered,
    "connected": connected,
    "ended": ended,
    "abandoned": abandoned,
}

WHERE = {
    "new": "it was received and is not in a queue yet",
    "waiting": "it is waiting in queue Support",
    "offered": "it is allocated to Anna (2001), who has not accepted it",
    "connected": "it was accepted by Anna (2001)",
    "ended": "it is ended",
    "abandoned": "it is abandoned",
}

# action: (what it does, the past tense in the refusal, why it is refused, phases it is allowed in)
ACTIONS: dict[str, tuple[Callable[[Contact, Desk], Contact], str, str, set[str]]] = {
    "allocate": (
        lambda c, d: services.contact_allocate(contact=c, agent=d.bob),
        "allocated",
        "only a conversation waiting in a queue can be allocated",
        {"waiting"},
    ),
    "accept": (
        lambda c, d: services.contact_accept(contact=c),
        "accepted",
        "only a conversation allocated to an agent can be accepted",
        {"offered"},
    ),
    "reject": (
        lambda c, d: services.contact_reject(contact=c),
        "rejected",
        "only a conversation allocated to an agent can be rejected",
        {"offered"},
    ),
    "transfer": (
        lambda c, d: services.contact_transfer(contact=c, queue=d.other),
        "transferred",
        "only a conversation an agent has accepted can be transferred",
        {"connected"},
    ),
    "forward": (
        lambda c, d: services.contact_forward(contact=c, queue=d.other),
        "forwarded",
        "only a conversation waiting in a queue can be forwarded",
        {"waiting"},
    ),
    "end": (
        lambda c, d: services.contact_end(contact=c),
        "ended",
        "only a conversation an agent has accepted can be ended "
        "(one that was never accepted is abandoned)",
        {"connected"},
    ),
    "abandon": (
        lambda c, d: services.contact_abandon(contact=c),
        "abandoned",
        "only a conversation no agent has accepted yet can be abandoned",
        {"new", "waiting", "offered"},
    ),
}

REFUSALS = [
    (action, phase)
    for action, (_, _, _, allowed) in ACTIONS.items()
    for phase in PHASES
    if phase not in allowed
]


@pytest.mark.parametrize(("action", "phase"), REFUSALS)
def test_refuses_action_the_phase_does_not_allow_with_a_sentence(
    desk: Desk, action: str, phase: str
) -> None:
    run, past, needs, _ = ACTIONS[action]
    contact = PHASES[phase](desk)
    before = (fresh(contact).state, events_of(contact))

    with pytest.raises(LifecycleError) as refused:
        run(contact, desk)

    assert str(refused.value) == f"Contact {contact.pk} cannot be {past}: {WHERE[phase]}, and " + (
        f"{needs}."
    )
    assert (fresh(contact).state, events_of(contact)) == before


def test_refusal_table_covers_every_action_outside_its_phases() -> None:
    assert len(REFUSALS) == 7 * 6 - 9


@pytest.mark.parametrize("phase", ["waiting", "offered", "connected", "ended"])
def test_only_a_just_received_contact_can_be_queued(desk: Desk, phase: str) -> None:
    contact = PHASES[phase](desk)
    with pytest.raises(LifecycleError, match="only a conversation that was just received can be"):
        lifecycle.check(fresh(contact), "queued")


@pytest.mark.parametrize(
    ("phase", "allowed"),
    [
        ("new", ["queued", "abandoned"]),
        ("waiting", ["allocated", "forwarded", "abandoned"]),
        ("offered", ["accepted", "rejected", "abandoned"]),
        ("connected", ["transferred", "ended"]),
        ("ended", []),
        ("abandoned", []),
    ],
)
def test_allowed_events_follow_the_phase(desk: Desk, phase: str, allowed: list[str]) -> None:
    assert lifecycle.allowed_events(fresh(PHASES[phase](desk))) == allowed


def test_inbound_message_is_received_then_queued(desk: Desk) -> None:
    contact = fresh(make_contact(desk.queue))
    assert events_of(contact) == ["received", "queued"]
    assert contact.state == "queued"
    assert lifecycle.phase(contact) is Phase.WAITING
    assert contact.queue == desk.queue
    assert contact.queued_at is not None
    assert contact.waiting_since == contact.queued_at
    assert contact.priority == desk.queue.default_priority
    assert contact.agent is None


def test_allocate_offers_waiting_contact_to_an_agent(desk: Desk) -> None:
    contact = services.contact_allocate(contact=waiting(desk), agent=desk.anna, by="operator")
    contact = fresh(contact)
    assert contact.state == "allocated"
    assert lifecycle.phase(contact) is Phase.OFFERED
    assert contact.agent == desk.anna
    assert contact.waiting_since is None
    assert last_detail(contact) == "Allocated to Anna (2001) (operator)"


def test_accept_connects_the_allocated_agent(desk: Desk) -> None:
    contact = fresh(services.contact_accept(contact=offered(desk)))
    assert contact.state == "accepted"
    assert lifecycle.phase(contact) is Phase.CONNECTED
    assert contact.agent == desk.anna
    assert contact.accepted_at is not None
    assert events_of(contact) == ["received", "queued", "allocated", "accepted"]


def test_reject_puts_contact_back_in_its_queue_with_its_original_wait(desk: Desk) -> None:
    contact = offered(desk)
    queued_at = fresh(contact).queued_at
    contact = fresh(services.contact_reject(contact=contact))
    assert contact.state == "rejected"
    assert lifecycle.phase(contact) is Phase.WAITING
    assert contact.agent is None
    assert contact.queue == desk.queue
    assert contact.waiting_since == queued_at
    assert last_detail(contact) == "Rejected by Anna (2001)"
    again = fresh(services.contact_allocate(contact=contact, agent=desk.bob))
    assert again.agent == desk.bob


def test_transfer_to_queue_makes_contact_wait_in_that_queue(desk: Desk) -> None:
    contact = connected(desk)
    before = fresh(contact)
    contact = fresh(services.contact_transfer(contact=contact, queue=desk.other))
    assert contact.state == "transferred"
    assert lifecycle.phase(contact) is Phase.WAITING
    assert contact.queue == desk.other
    assert contact.agent is None
    assert contact.transferring_agent == desk.anna
    assert contact.accepted_at is None
    assert before.queued_at is not None and contact.queued_at is not None
    assert contact.queued_at > before.queued_at
    assert contact.waiting_since == contact.queued_at
    assert last_detail(contact) == "Transferred by Anna (2001) to queue Sales"
    assert lifecycle.allowed_events(contact) == ["allocated", "forwarded", "abandoned"]


def test_transfer_to_agent_offers_contact_to_the_new_agent_who_accepts(desk: Desk) -> None:
    contact = fresh(services.contact_transfer(contact=connected(desk), agent=desk.bob))
    assert contact.state == "transferred"
    assert lifecycle.phase(contact) is Phase.OFFERED
    assert contact.agent == desk.bob
    assert contact.transferring_agent == desk.anna
    assert contact.queue == desk.queue
    assert contact.waiting_since is None
    assert contact.accepted_at is None
    contact = fresh(services.contact_accept(contact=contact))
    assert contact.state == "accepted"
    assert contact.agent == desk.bob
    assert events_of(contact)[-2:] == ["transferred", "accepted"]


def test_forward_moves_waiting_contact_to_another_queue(desk: Desk) -> None:
    contact = waiting(desk)
    before = fresh(contact)
    contact = fresh(services.contact_forward(contact=contact, queue=desk.other, reason="busy"))
    assert contact.state == "forwarded"
    assert lifecycle.phase(contact) is Phase.WAITING
    assert contact.queue == desk.other
    assert contact.forwarding_queue == desk.queue
    assert before.waiting_since is not None and contact.waiting_since is not None
    assert contact.waiting_since > before.waiting_since
    assert last_detail(contact) == "Forwarded from Support to Sales: busy"


def test_end_closes_accepted_contact(desk: Desk) -> None:
    contact = fresh(services.contact_end(contact=connected(desk)))
    assert contact.state == "ended"
    assert lifecycle.phase(contact) is Phase.CLOSED
    assert contact.ended_at is not None
    assert contact.waiting_since is None


@pytest.mark.parametrize("phase", ["new", "waiting", "offered"])
def test_abandon_closes_contact_no_agent_accepted(desk: Desk, phase: str) -> None:
    contact = PHASES[phase](desk)
    contact = fresh(services.contact_abandon(contact=contact, reason="Customer left"))
    assert contact.state == "abandoned"
    assert lifecycle.phase(contact) is Phase.CLOSED
    assert contact.ended_at is not None
    assert contact.waiting_since is None
    assert last_detail(contact) == "Customer left"


@pytest.mark.parametrize("target", ["same", "phone"])
@pytest.mark.parametrize("action", ["transfer", "forward"])
def test_rejects_moving_to_the_same_queue_or_a_queue_of_another_channel_type(
    desk: Desk, action: str, target: str
) -> None:
    contact = connected(desk) if action == "transfer" else waiting(desk)
    queue = desk.queue if target == "same" else desk.phone
    move = services.contact_transfer if action == "transfer" else services.contact_forward
    before = (fresh(contact).state, events_of(contact))

    with pytest.raises(ValidationError) as refused:
        move(contact=contact, queue=queue)

    expected = (
        "The conversation is already in queue Support."
        if target == "same"
        else "Queue Phone carries phone conversations, not chat."
    )
    assert refused.value.message_dict == {"queue": [expected]}
    assert (fresh(contact).state, events_of(contact)) == before
    assert fresh(contact).queue == desk.queue


def test_rejects_transfer_to_the_agent_who_has_the_contact(desk: Desk) -> None:
    contact = connected(desk)
    with pytest.raises(ValidationError) as refused:
        services.contact_transfer(contact=contact, agent=desk.anna)
    assert refused.value.message_dict == {"agent": ["Anna (2001) already has this conversation."]}
    assert fresh(contact).state == "accepted"


@pytest.mark.parametrize("both", [True, False])
def test_rejects_transfer_to_neither_or_both_a_queue_and_an_agent(desk: Desk, both: bool) -> None:
    contact = connected(desk)
    targets: dict[str, Any] = {"queue": desk.other, "agent": desk.bob} if both else {}
    with pytest.raises(ValidationError, match=re.escape("Transfer to either a queue or an agent.")):
        services.contact_transfer(contact=contact, **targets)
    assert fresh(contact).state == "accepted"


def test_each_event_is_recorded_once_with_a_snapshot_of_the_contact(desk: Desk) -> None:
    contact = waiting(desk)
    services.contact_forward(contact=contact, queue=desk.other)
    services.contact_allocate(contact=contact, agent=desk.anna)
    services.contact_accept(contact=contact)
    services.contact_transfer(contact=contact, agent=desk.bob)
    services.contact_accept(contact=contact)
    services.contact_end(contact=contact)

    history = list(ContactEvent.objects.filter(contact=contact))
    assert [e.event for e in history] == [
        "received",
        "queued",
        "forwarded",
        "allocated",
        "accepted",
        "transferred",
        "accepted",
        "ended",
    ]
    assert [e.snapshot["state"] for e in history] == [e.event for e in history]
    for entry in history:
        assert entry.snapshot["id"] == contact.pk
        assert ISO_Z.match(entry.snapshot["created"]), entry.snapshot["created"]
        assert entry.snapshot["channel_sub_type"] == "whatsapp"
    by_event = {e.event: e.snapshot for e in history}
    assert by_event["received"]["queue"] is None
    assert by_event["queued"]["queue"] == {
        "id": desk.queue.pk,
        "address": SUPPORT_ADDRESS,
        "name": "Support",
    }
    forwarded = by_event["forwarded"]
    assert forwarded["queue"]["id"] == desk.other.pk
    assert forwarded["queue"]["address"] == "01E4556565565ERKYO@telegram.sinchconversation.com"
    assert forwarded["forwarding_queue"] == {
        "id": desk.queue.pk,
        "address": SUPPORT_ADDRESS,
        "name": "Support",
    }
    assert forwarded["agent"] is None
    assert by_event["allocated"]["agent"]["number"] == "2001"
    assert by_event["allocated"]["transferring_agent"] is None
    transferred = by_event["transferred"]
    assert transferred["agent"]["number"] == "2002"
    assert transferred["transferring_agent"] == {
        "id": desk.anna.pk,
        "number": "2001",
        "chat_address": "",
        "name": "Anna",
    }


@pytest.fixture
def heard() -> Iterator[list[LifecycleEvent]]:
    """Lifecycle events as a listener subscribed through the hook hears them."""
    events: list[LifecycleEvent] = []
    extensions.contact_event_after_commit.register(events.append)
    yield events
    extensions.contact_event_after_commit.unregister(events.append)


def test_listeners_hear_each_event_once_after_commit(
    desk: Desk, heard: list[LifecycleEvent], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = make_contact(desk.queue)
        assert heard == []
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_allocate(contact=contact, agent=desk.anna)
        assert len(heard) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_accept(contact=contact)

    recorded = list(ContactEvent.objects.filter(contact=contact))
    assert [(e.event_id, e.contact_id, e.event) for e in heard] == [
        (r.pk, contact.pk, r.event) for r in recorded
    ]
    assert [e.event for e in heard] == ["received", "queued", "allocated", "accepted"]
    assert [e.occurred_at for e in heard] == [r.occurred_at for r in recorded]


def test_listeners_hear_nothing_when_the_transaction_rolls_back(
    desk: Desk, heard: list[LifecycleEvent], django_capture_on_commit_callbacks: Any
) -> None:
    contact = make_contact(desk.queue)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.contact_allocate(contact=contact, agent=desk.anna)
        raise RuntimeError("the caller failed after the allocation")
    assert callbacks == []
    assert heard == []
    assert fresh(contact).state == "queued"
    assert events_of(contact) == ["received", "queued"]


def test_failing_listener_does_not_keep_the_others_from_hearing(
    desk: Desk,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: LifecycleEvent) -> None:
        raise RuntimeError("integration down")

    events: list[LifecycleEvent] = []
    extensions.contact_event_after_commit.register(broken)
    extensions.contact_event_after_commit.register(events.append)
    try:
        contact = make_contact(desk.queue)
        with django_capture_on_commit_callbacks(execute=True):
            services.contact_allocate(contact=contact, agent=desk.anna)
    finally:
        extensions.contact_event_after_commit.unregister(broken)
        extensions.contact_event_after_commit.unregister(events.append)
    assert [e.event for e in events] == ["allocated"]
    assert "lifecycle listener" in caplog.text
    assert "integration down" in caplog.text
    assert fresh(contact).state == "allocated"


def test_subscribing_twice_still_hears_once(
    desk: Desk, heard: list[LifecycleEvent], django_capture_on_commit_callbacks: Any
) -> None:
    extensions.contact_event_after_commit.register(heard.append)
    contact = make_contact(desk.queue)
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_allocate(contact=contact, agent=desk.anna)
    assert [e.event for e in heard] == ["allocated"]


@pytest.mark.django_db(transaction=True)
def test_listener_runs_after_the_commit_and_sees_the_committed_state(
    service: Any, heard: list[LifecycleEvent]
) -> None:
    queue = make_queue("Support", ["01E4556565565ERKYO@whatsapp"])
    anna = make_agent("Anna", [queue], number="2001")
    contact = make_contact(queue)
    seen: list[tuple[bool, str]] = []

    def check_committed(event: LifecycleEvent) -> None:
        seen.append((connection.in_atomic_block, fresh(contact).state))

    extensions.contact_event_after_commit.register(check_committed)
    try:
        heard.clear()
        services.contact_allocate(contact=contact, agent=anna)
        assert seen == [(False, "allocated")]
        with pytest.raises(RuntimeError), transaction.atomic():
            services.contact_accept(contact=contact)
            raise RuntimeError("rolled back")
    finally:
        extensions.contact_event_after_commit.unregister(check_committed)
    assert [e.event for e in heard] == ["allocated"]
    assert fresh(contact).state == "allocated"
