"""Writes of the conversations app: inbound messages, lifecycle actions, agents, steering.

Replies to customers and the delivery status of what was sent are in `conversations.messages`.

Every lifecycle action locks the contact row, checks the transition (lifecycle.check), makes the
change specific to it (who, which queue) and records the event (lifecycle.record, which sets the
timestamps from the transition table) in one transaction (`_transition`); listeners hear of it
after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator import audit
from configurator.choices import AuditOperation
from conversations import lifecycle
from conversations.choices import (
    ChannelType,
    Direction,
    Event,
    MessageDirection,
    MessageStatus,
)
from conversations.models import Agent, Contact, ContactEvent, Message
from conversations.selectors import contact_detail
from conversations.snapshot import contact_snapshot
from queues.models import Queue

T = TypeVar("T", bound=Model)


@dataclass(frozen=True)
class IncomingMessage:
    """A customer's message as the channel delivered it."""

    sinch_message_id: str
    kind: str
    text: str = ""
    media_url: str = ""
    content: dict[str, Any] | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class InboundThread:
    """Where an inbound message comes from and which queue address it reached."""

    queue: Queue
    address: str
    app_id: str
    sinch_channel: str
    channel_sub_type: str
    identity: str
    sinch_contact_id: str = ""
    sinch_conversation_id: str = ""
    # From the simulator (a simulated callback): the contact it opens is marked simulated.
    simulated: bool = False

    @property
    def thread_key(self) -> str:
        """The Sinch conversation, or the channel identity when Sinch gives no conversation.

        Simulated messages have threads of their own: one never joins a real customer's open
        conversation (an identity typed in the simulator may be a real one), nor a real
        message a simulated conversation, whose replies go to the sandbox.
        """
        if self.sinch_conversation_id:
            key = f"conversation:{self.sinch_conversation_id}"
        else:
            key = f"identity:{self.sinch_channel}:{self.identity}"
        return f"simulated:{key}" if self.simulated else key


@dataclass(frozen=True)
class InboundResult:
    """What an inbound message did: which contact it joined and whether it was new."""

    contact: Contact
    message: Message
    new_contact: bool
    already_recorded: bool = False


def inbound_message_receive(
    *,
    thread: InboundThread,
    message: IncomingMessage,
    resume_stalled: Callable[[], bool] = lambda: False,
) -> InboundResult:
    """Add a customer's message to its open contact, or open a new one (Received → Queued).

    A new contact is opened in two transactions: the first records Received (the contact waits
    in state `received`, in no queue, while its blocking integrations run with no transaction
    open); the second records Queued in the queue they chose, or the routed one. The same Sinch
    message id of the same app recorded before changes nothing, except that a contact still
    `received` is queued now when `resume_stalled()` says nobody else is at work on it (the
    first attempt stopped or failed between the two steps).
    """
    if message.sinch_message_id:
        earlier = _first(
            Message.objects.select_related("contact").filter(
                sinch_message_id=message.sinch_message_id, contact__sinch_app_id=thread.app_id
            )
        )
        if earlier is not None:
            known = earlier.contact
            if lifecycle.phase(known) is lifecycle.Phase.NEW and resume_stalled():
                known = _queue_received(
                    known,
                    thread.queue,
                    note=_("queued on a later attempt: the first stopped before queueing it"),
                )
            return InboundResult(known, earlier, new_contact=False, already_recorded=True)
    with lifecycle.transition():
        joined = _open_contact(thread)
        if joined is not None:
            return InboundResult(
                joined, message_inbound_store(contact=joined, message=message), new_contact=False
            )
        try:
            with lifecycle.transition():
                contact = _contact_open(thread, message)
        except IntegrityError:
            # Another worker opened the contact for this thread a moment ago: join it.
            joined = _open_contact(thread)
            if joined is None:
                raise
            return InboundResult(
                joined, message_inbound_store(contact=joined, message=message), new_contact=False
            )
        stored = message_inbound_store(contact=contact, message=message)
    # Received is committed and its blocking integrations have run: they may have chosen
    # another queue (or a priority) meanwhile.
    return InboundResult(_queue_received(contact, thread.queue), stored, new_contact=True)


def _queue_received(contact: Contact, routed: Queue, *, note: str = "") -> Contact:
    """Queue a contact still in state `received`: in the queue chosen for it, or the routed one."""
    with lifecycle.transition():
        contact = _locked(contact)
        if lifecycle.phase(contact) is lifecycle.Phase.NEW:
            _queue(contact, contact.queue or routed, note=note)
    return contact


def _open_contact(thread: InboundThread) -> Contact | None:
    return _first(
        Contact.objects.select_for_update(of=("self",))
        .select_related("queue", "agent")
        .filter(sinch_app_id=thread.app_id, thread_key=thread.thread_key, ended_at__isnull=True)
    )


def _first(rows: QuerySet[T]) -> T | None:
    """The one row a unique lookup finds, without the ordering `first()` would add."""
    return next(iter(rows.order_by()[:1]), None)


def _contact_open(thread: InboundThread, message: IncomingMessage) -> Contact:
    contact = Contact.objects.create(
        channel_type=ChannelType.CHAT,
        channel_sub_type=thread.channel_sub_type,
        direction=Direction.INBOUND,
        created=message.received_at or timezone.now(),
        priority=thread.queue.default_priority,
        source=thread.identity,
        destination=thread.address,
        sinch_app_id=thread.app_id,
        sinch_channel=thread.sinch_channel,
        sinch_contact_id=thread.sinch_contact_id,
        sinch_conversation_id=thread.sinch_conversation_id,
        thread_key=thread.thread_key,
        simulated=thread.simulated,
    )
    lifecycle.record(
        contact,
        Event.RECEIVED,
        detail=_("Message on %(address)s from %(identity)s")
        % {"address": thread.address, "identity": thread.identity},
        fields=[],
        created=True,
        routed_queue=thread.queue,
    )
    return contact


def message_inbound_store(*, contact: Contact, message: IncomingMessage) -> Message:
    """Keep a customer's message on its contact (the caller holds the contact's lock)."""
    return Message.objects.create(
        contact=contact,
        direction=MessageDirection.INBOUND,
        kind=message.kind,
        text=message.text,
        media_url=message.media_url[:2000],
        content=message.content or {},
        sinch_message_id=message.sinch_message_id,
        status=MessageStatus.RECEIVED,
        created_at=message.received_at or timezone.now(),
    )


def _queue(contact: Contact, queue: Queue, *, note: str = "") -> None:
    lifecycle.check(contact, Event.QUEUED)
    contact.queue = queue
    detail = _("Queued in %(queue)s") % {"queue": queue.name}
    lifecycle.record(
        contact, Event.QUEUED, detail=f"{detail} ({note})" if note else detail, fields=["queue"]
    )


def _locked(contact: Contact) -> Contact:
    """The contact re-read under its row lock (the caller is in a transaction)."""
    return (
        Contact.objects.select_for_update(of=("self",))
        .select_related("queue", "agent")
        .get(pk=contact.pk)
    )


# What an action changes on the locked contact beyond its state and timestamps (who, which
# queue): it answers the event's detail and the fields it changed.
Change = Callable[[Contact], tuple[str, list[str]]]


def _transition(contact: Contact, event: str, change: Change) -> Contact:
    """Lock the contact, check `event` may happen, apply `change`, record (one transaction)."""
    with lifecycle.transition():
        contact = _locked(contact)
        lifecycle.check(contact, event)
        detail, fields = change(contact)
        lifecycle.record(contact, event, detail=detail, fields=fields)
    return contact


def contact_allocate(*, contact: Contact, agent: Agent, by: str = "") -> Contact:
    """Offer a waiting conversation to an agent (Allocated)."""

    def allocate(locked: Contact) -> tuple[str, list[str]]:
        locked.agent = agent
        return _by(_("Allocated to %(agent)s") % {"agent": agent}, by), ["agent"]

    return _transition(contact, Event.ALLOCATED, allocate)


def contact_accept(*, contact: Contact, by: str = "") -> Contact:
    """The allocated agent takes the conversation (Accepted)."""

    def accept(locked: Contact) -> tuple[str, list[str]]:
        return _by(_("Accepted by %(agent)s") % {"agent": locked.agent}, by), []

    return _transition(contact, Event.ACCEPTED, accept)


def contact_reject(*, contact: Contact, by: str = "") -> Contact:
    """The allocated agent declines: the conversation waits in its queue again (Rejected)."""

    def reject(locked: Contact) -> tuple[str, list[str]]:
        agent, locked.agent = locked.agent, None
        return _by(_("Rejected by %(agent)s") % {"agent": agent}, by), ["agent"]

    return _transition(contact, Event.REJECTED, reject)


def contact_transfer(
    *, contact: Contact, queue: Queue | None = None, agent: Agent | None = None, by: str = ""
) -> Contact:
    """An agent hands the conversation to a queue or to another agent (Transferred)."""
    if (queue is None) == (agent is None):
        raise ValidationError(_("Transfer to either a queue or an agent."))

    def transfer(locked: Contact) -> tuple[str, list[str]]:
        current = locked.agent
        if queue is not None:
            _check_queue_fits(locked, queue, "queue")
            locked.queue, locked.agent = queue, None
            target = _("queue %(queue)s") % {"queue": queue.name}
        elif agent is not None:
            if agent.pk == locked.agent_id:
                raise ValidationError(
                    {"agent": _("%(agent)s already has this conversation.") % {"agent": agent}}
                )
            locked.agent = agent
            target = str(agent)
        locked.transferring_agent = current
        detail = _("Transferred by %(agent)s to %(target)s") % {"agent": current, "target": target}
        return _by(detail, by), ["transferring_agent", "queue", "agent"]

    return _transition(contact, Event.TRANSFERRED, transfer)


def contact_forward(*, contact: Contact, queue: Queue, by: str = "", reason: str = "") -> Contact:
    """Move a waiting conversation to another queue (Forwarded, as overflow does)."""

    def forward(locked: Contact) -> tuple[str, list[str]]:
        _check_queue_fits(locked, queue, "queue")
        previous = locked.queue
        locked.forwarding_queue, locked.queue = previous, queue
        detail = _("Forwarded from %(from)s to %(to)s") % {
            "from": previous.name if previous else "?",
            "to": queue.name,
        }
        if reason:
            detail = f"{detail}: {reason}"
        return _by(detail, by), ["forwarding_queue", "queue"]

    return _transition(contact, Event.FORWARDED, forward)


def contact_end(*, contact: Contact, by: str = "") -> Contact:
    """The agent closes the conversation (Ended)."""
    return _transition(contact, Event.ENDED, lambda locked: (_by(_("Ended"), by), []))


def contact_abandon(*, contact: Contact, by: str = "", reason: str = "") -> Contact:
    """The conversation ends before any agent accepted it (Abandoned)."""
    return _transition(
        contact, Event.ABANDONED, lambda locked: (_by(reason or _("Abandoned"), by), [])
    )


def _operator_action(action: str, service: Callable[..., Contact]) -> Callable[..., Contact]:
    """`service` as an operator takes it: recorded in the audit trail once it succeeded.

    Overflow and Sinch's own stops call the services directly and record nothing: the contact's
    events say what happened. The entry names the contact, agent and queue by their IDs only (a
    customer's identity is personal data).
    """

    def act(*, contact: Contact, **params: Any) -> Contact:
        done = service(contact=contact, **params)
        audit.record(
            operation=action,
            instance=done,
            detail={
                name: value.pk for name, value in params.items() if isinstance(value, Agent | Queue)
            },
        )
        return done

    act.__doc__ = service.__doc__
    return act


# What operators (admin buttons, API actions) may do: action name → (its event, the service).
OPERATOR_ACTIONS: dict[str, tuple[str, Callable[..., Contact]]] = {
    "allocate": (Event.ALLOCATED, _operator_action(AuditOperation.ALLOCATE, contact_allocate)),
    "accept": (Event.ACCEPTED, _operator_action(AuditOperation.ACCEPT, contact_accept)),
    "reject": (Event.REJECTED, _operator_action(AuditOperation.REJECT, contact_reject)),
    "transfer": (Event.TRANSFERRED, _operator_action(AuditOperation.TRANSFER, contact_transfer)),
    "forward": (Event.FORWARDED, _operator_action(AuditOperation.FORWARD, contact_forward)),
    "end": (Event.ENDED, _operator_action(AuditOperation.END, contact_end)),
    "abandon": (Event.ABANDONED, _operator_action(AuditOperation.ABANDON, contact_abandon)),
}


def _check_queue_fits(contact: Contact, queue: Queue, field: str) -> None:
    if contact.queue_id == queue.pk:
        raise ValidationError(
            {field: _("The conversation is already in queue %(queue)s.") % {"queue": queue.name}}
        )
    if queue.channel_type != contact.channel_type:
        raise ValidationError(
            {
                field: _("Queue %(queue)s carries %(type)s conversations, not %(mine)s.")
                % {
                    "queue": queue.name,
                    "type": queue.get_channel_type_display().lower(),
                    "mine": contact.get_channel_type_display().lower(),
                }
            }
        )


def _by(detail: str, by: str) -> str:
    return f"{detail} ({by})" if by else detail


def agent_save(*, agent: Agent, queues: Sequence[Queue] | None = None) -> Agent:
    """Store a new or changed agent (fields already set) and, when given, the queues served."""
    agent.full_clean(exclude=["queues"])
    with transaction.atomic():
        agent.save()
        if queues is not None:
            agent.queues.set(list(queues))
    return agent


def agent_delete_problems(agent: Agent) -> list[str]:
    """Why an agent may not be deleted now (empty if they may): the open conversations they hold."""
    held = list(
        Contact.objects.filter(agent=agent, ended_at__isnull=True).values_list("pk", flat=True)
    )
    if not held:
        return []
    return [
        _("%(agent)s holds %(count)s open conversation(s) (%(ids)s): transfer or end them first.")
        % {"agent": agent, "count": len(held), "ids": ", ".join(held[:5])}
    ]


def agent_delete(*, agent: Agent) -> None:
    """Delete an agent who holds no open conversation; otherwise say which (ValidationError)."""
    with transaction.atomic():
        problems = agent_delete_problems(agent)
        if problems:
            raise ValidationError(problems)
        agent.delete()


# --- Routing decisions and attached data from outside (the integrations' answers) ----------


@dataclass(frozen=True)
class RoutingDecision:
    """What a routing decision sets on a contact; a field left None stays as it is."""

    priority: int | None = None
    queue: Queue | None = None
    preferred_agent: Agent | None = None
    required_agents: Sequence[Agent] | None = None
    # Seconds the required agents hold (from now); None: they hold until changed.
    required_agents_timeout: int | None = None


@dataclass(frozen=True)
class Steered:
    """What `contact_steer` applied, and what it refused with the reason."""

    applied: RoutingDecision
    required_agents_expiry: datetime | None = None
    refused: dict[str, str] | None = None


def contact_steer(
    *, contact_id: str, decision: RoutingDecision, queue_while_new: bool = False
) -> Steered:
    """Apply a routing decision to the contact, locked in a short transaction of its own.

    `queue_while_new`: the queue was chosen for a contact not yet queued (an answer to
    Received); once the contact was queued meanwhile it comes too late and is refused.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).get(pk=contact_id)
        refused: dict[str, str] = {}
        queue = decision.queue
        if (
            queue is not None
            and queue_while_new
            and lifecycle.phase(contact) is not lifecycle.Phase.NEW
        ):
            refused["queue"] = _("the conversation was queued before this answer came")
            queue = None
        fields: list[str] = []
        if decision.priority is not None:
            contact.priority = decision.priority
            fields.append("priority")
        if queue is not None:
            contact.queue = queue
            fields.append("queue")
        if decision.preferred_agent is not None:
            contact.preferred_agent = decision.preferred_agent
            fields.append("preferred_agent")
        expiry: datetime | None = None
        if decision.required_agents is not None:
            contact.required_agents.set(list(decision.required_agents))
            timeout = decision.required_agents_timeout
            expiry = timezone.now() + timedelta(seconds=timeout) if timeout else None
            contact.required_agents_expiry = expiry
            fields.append("required_agents_expiry")
        if fields:
            contact.save(update_fields=fields)
    applied = RoutingDecision(
        priority=decision.priority,
        queue=queue,
        preferred_agent=decision.preferred_agent,
        required_agents=decision.required_agents,
        required_agents_timeout=decision.required_agents_timeout,
    )
    return Steered(applied=applied, required_agents_expiry=expiry, refused=refused or None)


def contact_data_attach(*, contact_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `data` into the contact's attached data (its keys overwrite); returns what merged."""
    merged = dict(data)
    if not merged:
        return merged
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).get(pk=contact_id)
        contact.cad = {**(contact.cad or {}), **merged}
        contact.save(update_fields=["cad"])
    return merged


def contact_event_snapshot_refresh(
    *, event: ContactEvent, snapshot: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Show the contact in `event`'s snapshot as changes made on the event's behalf left it.

    For the answers of its blocking integrations: `snapshot` is the contact as the caller read
    it (`contact_snapshot`) right after the last of them, so that a later event recorded
    meanwhile by another worker does not leak into this one's; without it, the contact is read
    now. Returns the snapshot stored.
    """
    if snapshot is None:
        snapshot = contact_snapshot(contact_detail().get(pk=event.contact_id))
    ContactEvent.objects.filter(pk=event.pk).update(snapshot=snapshot)
    return snapshot
