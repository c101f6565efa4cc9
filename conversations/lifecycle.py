"""The lifecycle state machine of a contact, and the one hook that announces its events.

Received → Queued → Allocated → Accepted → Ended, with Rejected (back to the queue),
Transferred (to a queue or an agent), Forwarded (queue to queue) and Abandoned (ended before an
agent accepted). A contact's state is the word of its last event; what may happen next depends on
its *phase*, derived from that state and whether an agent holds it. An outbound chat (started by
an agent, `conversations.outbound`) is Allocated to that agent from its start and *connecting*
until its customer is reached: then the system, not an operator, records Accepted.

Every transition runs in `transition()`: one short transaction that locks the contact, checks,
changes and records. The table of transitions (`TRANSITIONS`) says where each event may start and
what it does to the contact's timestamps; `record` applies it. No network call may happen
inside that transaction (configurator.transactions).

Other apps react to events in two ways, registered in their `ready()` (configurator.extensions):
- `contact_event_after_commit`: listeners are called once per event, after the transaction that
  recorded it has committed (overflow scheduling);
- `contact_event_in_transaction`: hooks are called inside that transaction, right after the event is
  recorded, so that work they write (background deliveries) is committed with the event or not at
  all. A hook that fails is rolled back to its savepoint and logged; the lifecycle goes on unchanged
  (fail open). Work that calls out (blocking integrations) is handed to `defer`: it runs once the
  transition has committed, with no transaction open, before the caller goes on. That is what lets a
  Received integration choose the queue before Queued: Received is committed, the integrations are
  called, then Queued is recorded in a transaction of its own.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator import extensions
from configurator.logcontext import in_this_context, log_context
from configurator.transactions import in_project_transaction
from conversations.choices import Direction, Event
from conversations.models import Contact, ContactEvent
from conversations.snapshot import contact_snapshot
from queues.models import Queue

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    """Where a conversation stands, whatever its last event was called."""

    NEW = "new"  # received, not yet in a queue
    WAITING = "waiting"  # in a queue, no agent
    OFFERED = "offered"  # allocated (or transferred) to an agent who has not accepted
    CONNECTED = "connected"  # an agent accepted it
    CONNECTING = "connecting"  # an outbound chat whose customer has not been reached yet
    CLOSED = "closed"  # ended or abandoned


@dataclass(frozen=True)
class Transition:
    """One row of the transition table: where an event may start, and what it does to the clocks.

    The services say only what is specific to an action (which agent, which queue); `record`
    sets the timestamps from this row and from where the event leaves the contact:
    `queued_at` and `waiting_since` start when the contact enters a queue and waits there;
    a contact that waits again without entering a queue (rejected) waits since it was queued;
    one that does not wait has no `waiting_since`.
    """

    allowed_from: frozenset[Phase]
    # Why the event is refused elsewhere, said the way the refusal reads.
    needs: str
    # Phases from which only the system may cause it (a delivery report, a customer's reply):
    # operators are not offered it there.
    system_from: frozenset[Phase] = frozenset()
    # An outbound chat's first one marks its customer reached (connected_at = now).
    connects: bool = False
    enters_queue: bool = False
    starts_acceptance: bool = False  # accepted_at = now
    ends_acceptance: bool = False  # accepted_at = None (the conversation leaves its agent)
    ends: bool = False  # ended_at = now


TRANSITIONS: dict[str, Transition] = {
    Event.QUEUED: Transition(
        frozenset({Phase.NEW}),
        "only a conversation that was just received can be queued",
        enters_queue=True,
    ),
    Event.ALLOCATED: Transition(
        frozenset({Phase.WAITING}), "only a conversation waiting in a queue can be allocated"
    ),
    Event.ACCEPTED: Transition(
        frozenset({Phase.OFFERED}),
        "only a conversation allocated to an agent can be accepted",
        system_from=frozenset({Phase.CONNECTING}),
        connects=True,
        starts_acceptance=True,
    ),
    Event.REJECTED: Transition(
        frozenset({Phase.OFFERED}), "only a conversation allocated to an agent can be rejected"
    ),
    Event.TRANSFERRED: Transition(
        frozenset({Phase.CONNECTED}),
        "only a conversation an agent has accepted can be transferred",
        enters_queue=True,  # when transferred to a queue; to an agent it does not wait
        ends_acceptance=True,
    ),
    Event.FORWARDED: Transition(
        frozenset({Phase.WAITING}),
        "only a conversation waiting in a queue can be forwarded",
        enters_queue=True,
    ),
    Event.ENDED: Transition(
        frozenset({Phase.CONNECTED}),
        "only a conversation an agent has accepted can be ended "
        "(one that was never accepted is abandoned)",
        ends=True,
    ),
    Event.ABANDONED: Transition(
        frozenset({Phase.NEW, Phase.WAITING, Phase.OFFERED, Phase.CONNECTING}),
        "only a conversation no agent has accepted yet can be abandoned",
        ends=True,
    ),
}

# Which phases each event may start from.
ALLOWED_FROM: dict[str, frozenset[Phase]] = {
    event: row.allowed_from for event, row in TRANSITIONS.items()
}

# The timestamps `record` sets, saved with every transition.
TIMESTAMP_FIELDS = ["queued_at", "waiting_since", "accepted_at", "ended_at", "connected_at"]


class LifecycleError(Exception):
    """An action that does not fit the contact's state; the message says why."""


def phase(contact: Contact) -> Phase:
    """The phase of a contact, from its state and whether an agent holds it."""
    state = contact.state
    if state in (Event.ENDED, Event.ABANDONED):
        return Phase.CLOSED
    if contact.direction == Direction.OUTBOUND and contact.connected_at is None:
        return Phase.CONNECTING
    if state == Event.RECEIVED:
        return Phase.NEW
    if state == Event.ACCEPTED:
        return Phase.CONNECTED
    if state in (Event.ALLOCATED, Event.TRANSFERRED) and contact.agent_id is not None:
        return Phase.OFFERED
    return Phase.WAITING


def describe(contact: Contact) -> str:
    """Where the contact stands, as a sentence fragment ("waiting in queue Sales")."""
    current = phase(contact)
    queue = contact.queue.name if contact.queue else "?"
    agent = str(contact.agent) if contact.agent else "?"
    return {
        Phase.NEW: _("it was received and is not in a queue yet"),
        Phase.WAITING: _("it is waiting in queue %(queue)s") % {"queue": queue},
        Phase.OFFERED: _("it is allocated to %(agent)s, who has not accepted it")
        % {"agent": agent},
        Phase.CONNECTED: _("it was accepted by %(agent)s") % {"agent": agent},
        Phase.CONNECTING: _(
            "it is an outbound chat of %(agent)s whose customer was not reached yet"
        )
        % {"agent": agent},
        Phase.CLOSED: _("it is %(state)s") % {"state": contact.get_state_display().lower()},
    }[current]


def check(contact: Contact, event: str, *, by_system: bool = False) -> None:
    """Refuse `event` with a sentence when the contact's phase does not allow it.

    `by_system`: the event is the system's (a delivery report, a reply), which may also start
    where only the system may (`Transition.system_from`).
    """
    row = TRANSITIONS[event]
    allowed = row.allowed_from | row.system_from if by_system else row.allowed_from
    if phase(contact) not in allowed:
        raise LifecycleError(
            _("Contact %(id)s cannot be %(event)s: %(where)s, and %(needs)s.")
            % {
                "id": contact.id,
                "event": Event(event).label.lower(),
                "needs": TRANSITIONS[event].needs,
                "where": describe(contact),
            }
        )


def allowed_events(contact: Contact) -> list[str]:
    """The events that may happen next (for buttons and the API)."""
    current = phase(contact)
    return [event for event, phases in ALLOWED_FROM.items() if current in phases]


@dataclass(frozen=True)
class LifecycleEvent:
    """What listeners are told: which event happened to which contact, when."""

    event_id: int
    contact_id: str
    event: str
    occurred_at: datetime
    # Where the contact stands after it: its queue, and since when it waits there (or None).
    queue_id: int | None = None
    waiting_since: datetime | None = None


class _Deferred(threading.local):
    depth = 0
    work: list[Callable[[], None]]

    def __init__(self) -> None:
        self.work = []


_deferred = _Deferred()


@contextmanager
def transition() -> Iterator[None]:
    """The transaction of a lifecycle change; work its hooks `defer` runs once it committed.

    Transitions nest (the outermost one commits); the deferred work of an inner one that fails
    is dropped with its savepoint. When a caller's own transaction is still open around the
    outermost transition, the work waits for that transaction's commit.
    """
    state = _deferred
    mark = len(state.work)
    state.depth += 1
    try:
        with transaction.atomic():
            yield
    except BaseException:
        del state.work[mark:]
        raise
    finally:
        state.depth -= 1
    if state.depth:
        return
    work, state.work = state.work, []
    for item in work:
        if in_project_transaction():
            transaction.on_commit(item, robust=True)
        else:
            _run_deferred(item)


def defer(work: Callable[[], None]) -> None:
    """Run `work` after the current transition has committed, with no transaction open.

    For hooks whose work calls out over the network. Outside a transition it waits for the
    current transaction's commit.
    """
    # It runs in the log context of the event that deferred it (its contact's id, and the
    # callback's when one is being processed), although that event's block has ended.
    work = in_this_context(work)
    if _deferred.depth:
        _deferred.work.append(work)
    else:
        transaction.on_commit(work, robust=True)


def _run_deferred(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        # Deferred work is fail-open like the hooks: the lifecycle has already moved on.
        logger.exception("deferred lifecycle work %r failed", work)


def record(
    contact: Contact,
    event: str,
    *,
    detail: str = "",
    fields: Sequence[str] = (),
    created: bool = False,
    routed_queue: Queue | None = None,
) -> ContactEvent:
    """Move the contact to `event`'s state, set its timestamps, save, keep the event, announce.

    The caller holds the contact's row lock inside a transaction, has checked the transition and
    made the changes specific to it (agent, queue), naming those `fields`; the timestamps follow
    from the transition table (`stamp`). `created` says the row was just inserted in this state
    (nothing to update); `routed_queue` is the queue a contact not yet in one is headed for
    (event hooks match on it). Every line logged by it, its hooks, the work they defer and the
    listeners carries the contact's id (configurator.logcontext).
    """
    with log_context(contact_id=contact.pk):
        now = contact.state_changed_at if created else timezone.now()
        if not created:
            contact.state = event
            contact.state_changed_at = now
            stamp(contact, event, now)
            contact.save(
                update_fields=sorted({*fields, *TIMESTAMP_FIELDS, "state", "state_changed_at"})
            )
        entry = ContactEvent.objects.create(
            contact=contact,
            event=event,
            occurred_at=now,
            detail=detail[:300],
            snapshot=contact_snapshot(contact, just_created=created),
        )
        logger.info("contact %s %s", contact.pk, event)
        _run_hooks(contact, entry, contact.queue or routed_queue)
        announced = LifecycleEvent(
            event_id=entry.pk,
            contact_id=contact.pk,
            event=event,
            occurred_at=now,
            queue_id=contact.queue_id,
            waiting_since=contact.waiting_since,
        )
        transaction.on_commit(in_this_context(lambda: _announce(announced)))
    return entry


def stamp(contact: Contact, event: str, now: datetime) -> None:
    """Set the contact's timestamps as `event`'s row of the transition table says.

    Called once the contact is in `event`'s state with its new agent and queue: a transfer to
    a queue makes it wait there from now, a transfer to an agent does not.
    """
    row = TRANSITIONS.get(event)
    if row is None:  # Received: the contact was just opened, it has no clock running yet
        return
    if row.connects and contact.direction == Direction.OUTBOUND and contact.connected_at is None:
        contact.connected_at = now
    if row.starts_acceptance:
        contact.accepted_at = now
    if row.ends_acceptance:
        contact.accepted_at = None
    if row.ends:
        contact.ended_at = now
    waits = contact.queue_id is not None and phase(contact) is Phase.WAITING
    if waits and row.enters_queue:
        contact.queued_at = now
        contact.waiting_since = now
    elif waits:
        # Back in the queue it never left (rejected): its wait counts from when it entered.
        contact.waiting_since = contact.queued_at or now
    else:
        contact.waiting_since = None


def _run_hooks(contact: Contact, entry: ContactEvent, queue: Queue | None) -> None:
    for hook in extensions.contact_event_in_transaction:
        try:
            with transaction.atomic():
                hook(contact, entry, queue)
        except Exception:
            logger.exception("lifecycle hook %r failed on %s of %s", hook, entry.event, contact.pk)


def _announce(event: LifecycleEvent) -> None:
    for listener in extensions.contact_event_after_commit:
        try:
            listener(event)
        except Exception:
            # One failing listener must not keep the others from hearing of the event.
            logger.exception("lifecycle listener %r failed on %s", listener, event)
