"""The lifecycle state machine of a contact, and the one hook that announces its events.

Received → Queued → Allocated → Accepted → Ended, with Rejected (back to the queue),
Transferred (to a queue or an agent), Forwarded (queue to queue) and Abandoned (ended before an
agent accepted). A contact's state is the word of its last event; what may happen next depends on
its *phase*, derived from that state and whether an agent holds it.

Every transition runs in `transition()`: one short transaction that locks the contact, checks,
changes and records. No network call may happen inside it (configurator.transactions).

Other apps react to events in two ways, registered in their `ready()`:
- `subscribe`: listeners are called once per event, after the transaction that recorded it has
  committed (overflow scheduling);
- `add_event_hook`: hooks are called inside that transaction, right after the event is recorded,
  so that work they write (background deliveries) is committed with the event or not at all. A
  hook that fails is rolled back to its savepoint and logged; the lifecycle goes on unchanged
  (fail open). Work that calls out (blocking integrations) is handed to `defer`: it runs once the
  transition has committed, with no transaction open, before the caller goes on. That is what
  lets a Received integration choose the queue before Queued: Received is committed, the
  integrations are called, then Queued is recorded in a transaction of its own.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator.logcontext import in_this_context, log_context
from configurator.transactions import in_project_transaction
from conversations.choices import Event
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
    CLOSED = "closed"  # ended or abandoned


OPEN_STATES = frozenset(Event) - {Event.ENDED, Event.ABANDONED}

# Which phases each event may start from.
ALLOWED_FROM: dict[str, frozenset[Phase]] = {
    Event.QUEUED: frozenset({Phase.NEW}),
    Event.ALLOCATED: frozenset({Phase.WAITING}),
    Event.ACCEPTED: frozenset({Phase.OFFERED}),
    Event.REJECTED: frozenset({Phase.OFFERED}),
    Event.TRANSFERRED: frozenset({Phase.CONNECTED}),
    Event.FORWARDED: frozenset({Phase.WAITING}),
    Event.ENDED: frozenset({Phase.CONNECTED}),
    Event.ABANDONED: frozenset({Phase.NEW, Phase.WAITING, Phase.OFFERED}),
}

# What each event needs, said the way the refusal reads.
_NEEDS: dict[str, str] = {
    Event.QUEUED: "only a conversation that was just received can be queued",
    Event.ALLOCATED: "only a conversation waiting in a queue can be allocated",
    Event.ACCEPTED: "only a conversation allocated to an agent can be accepted",
    Event.REJECTED: "only a conversation allocated to an agent can be rejected",
    Event.TRANSFERRED: "only a conversation an agent has accepted can be transferred",
    Event.FORWARDED: "only a conversation waiting in a queue can be forwarded",
    Event.ENDED: (
        "only a conversation an agent has accepted can be ended "
        "(one that was never accepted is abandoned)"
    ),
    Event.ABANDONED: "only a conversation no agent has accepted yet can be abandoned",
}


class LifecycleError(Exception):
    """An action that does not fit the contact's state; the message says why."""


def phase(contact: Contact) -> Phase:
    """The phase of a contact, from its state and whether an agent holds it."""
    state = contact.state
    if state in (Event.ENDED, Event.ABANDONED):
        return Phase.CLOSED
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
        Phase.CLOSED: _("it is %(state)s") % {"state": contact.get_state_display().lower()},
    }[current]


def check(contact: Contact, event: str) -> None:
    """Refuse `event` with a sentence when the contact's phase does not allow it."""
    if phase(contact) not in ALLOWED_FROM[event]:
        raise LifecycleError(
            _("Contact %(id)s cannot be %(event)s: %(where)s, and %(needs)s.")
            % {
                "id": contact.id,
                "event": Event(event).label.lower(),
                "needs": _NEEDS[event],
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
    # When the contact, now waiting in a queue with overflow, becomes overdue there (else None).
    overflow_due: datetime | None = None


Listener = Callable[[LifecycleEvent], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Be told of every lifecycle event after its transaction commits (once per event)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    """Stop telling `listener` (tests)."""
    if listener in _listeners:
        _listeners.remove(listener)


# A hook gets the contact (locked, as just recorded), the event row, and the queue the event
# concerns: the contact's queue, or on Received the queue its address routes to.
EventHook = Callable[[Contact, ContactEvent, Queue | None], None]
_hooks: list[EventHook] = []


def add_event_hook(hook: EventHook) -> None:
    """Call `hook` inside the transaction of every event, before the lifecycle goes on."""
    if hook not in _hooks:
        _hooks.append(hook)


def remove_event_hook(hook: EventHook) -> None:
    """Stop calling `hook` (tests)."""
    if hook in _hooks:
        _hooks.remove(hook)


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
    fields: list[str],
    created: bool = False,
    routed_queue: Queue | None = None,
) -> ContactEvent:
    """Move the contact to `event`'s state, save the changed `fields`, keep the event, announce.

    The caller holds the contact's row lock inside a transaction and has checked the transition;
    `created` says the row was just inserted in this state (nothing to update); `routed_queue`
    is the queue a contact not yet in one is headed for (event hooks match on it).
    Every line logged by it, its hooks, the work they defer and the listeners carries the
    contact's id (configurator.logcontext).
    """
    with log_context(contact_id=contact.pk):
        now = contact.state_changed_at if created else timezone.now()
        if not created:
            contact.state = event
            contact.state_changed_at = now
            contact.save(update_fields=sorted({*fields, "state", "state_changed_at"}))
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
            overflow_due=_overflow_due(contact),
        )
        transaction.on_commit(in_this_context(lambda: _announce(announced)))
    return entry


def _run_hooks(contact: Contact, entry: ContactEvent, queue: Queue | None) -> None:
    for hook in list(_hooks):
        try:
            with transaction.atomic():
                hook(contact, entry, queue)
        except Exception:
            logger.exception("lifecycle hook %r failed on %s of %s", hook, entry.event, contact.pk)


def _overflow_due(contact: Contact) -> datetime | None:
    queue = contact.queue
    if contact.waiting_since is None or queue is None:
        return None
    if queue.max_waiting_time is None or queue.overflow_queue_id is None:
        return None
    return contact.waiting_since + queue.max_waiting_time


def _announce(event: LifecycleEvent) -> None:
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:
            # One failing listener must not keep the others from hearing of the event.
            logger.exception("lifecycle listener %r failed on %s", listener, event)
