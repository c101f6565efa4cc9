"""Outbound chats: an agent starts a conversation with a customer, and how it gets connected.

`chat_start` (the admin's "Start a chat" and `POST /api/v1/contacts/` with `direction:
outbound`) checks the request, sends the first message through the contact's gateway (the one
replies use, so the message is built as a reply is), and only when the channel took it opens the
contact, Allocated to the agent and *connecting* (lifecycle.Phase.CONNECTING). The customer is
reached on the first DELIVERED or READ report (`chat_connect_on_report`) or on a reply
(`outbound_reply_join`): the system records Accepted. A FAILED report of the first message, or
nothing delivered within OUTBOUND_CONNECT_TIMEOUT (`chats_abandon_unreached`, run by a task due
at the timeout and by every worker's housekeeping), records Abandoned. Transferred and Ended are
the agent's, through the usual actions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from configurator import audit, tasks
from configurator.choices import AuditOperation
from conversations import gateways, lifecycle, services
from conversations.choices import (
    Direction,
    Event,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from conversations.gateways import OutgoingMessage, WhatsAppTemplate
from conversations.identities import canonical_identity
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, ChatStartClaim, Contact, Message
from conversations.outbound_checks import open_elsewhere, start_checked, thread_key
from conversations.services import InboundResult, IncomingMessage
from queues.models import Queue

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# Longer than any send takes (the Sinch client gives up after its token and send timeouts).
CLAIM_EXPIRY = timedelta(minutes=5)


class ChatStartFailed(Exception):
    """The channel did not take the first message; nothing was stored. The message says why."""


def chat_start(
    *,
    agent: Agent,
    app_id: str,
    channel: str,
    identity: str,
    text: str = "",
    media_url: str = "",
    template: WhatsAppTemplate | None = None,
    queue: Queue | None = None,
) -> Contact:
    """Send the first message to a customer, then open the outbound contact it starts.

    Bad input is a ValidationError by field, checked before anything is sent; a refusal of the
    channel is ChatStartFailed with its reason, and nothing is stored. No transaction is open
    while the message is sent.
    """
    contact, outgoing = start_checked(
        agent=agent,
        app_id=app_id,
        channel=channel,
        identity=identity,
        text=text,
        media_url=media_url,
        template=template,
        queue=queue,
    )
    gateway = gateways.gateway_for(contact)
    if gateway is None:
        raise ValidationError({"app_id": _("No channel can send for this app.")})
    with _thread_claimed(contact):
        # A start that finished between the checks and the claim opened the thread meanwhile.
        already = open_elsewhere(contact)
        if already:
            raise ValidationError({"identity": already})
        try:
            receipt = gateway.send(contact, outgoing)
        except gateways.GatewayError as exc:
            raise ChatStartFailed(str(exc)) from exc
        return _stored(contact, outgoing, receipt=receipt, gateway=gateway, agent=agent)


@contextmanager
def _thread_claimed(contact: Contact) -> Iterator[None]:
    """Hold the customer's thread while its first message is sent; a second start is refused.

    The claim is a row (committed at once: no transaction is held while sending) whose unique
    constraint lets one start through; it is removed afterwards, by which time the stored contact
    holds the thread. A claim left by a process that died is taken over after CLAIM_EXPIRY.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            ChatStartClaim.objects.filter(
                sinch_app_id=contact.sinch_app_id,
                thread_key=contact.thread_key,
                claimed_at__lt=now - CLAIM_EXPIRY,
            ).delete()
            claim = ChatStartClaim.objects.create(
                sinch_app_id=contact.sinch_app_id, thread_key=contact.thread_key, claimed_at=now
            )
    except IntegrityError:
        raise ValidationError(
            {
                "identity": _(
                    "A chat with this customer is being started right now: nothing was sent. "
                    "Look for it among the open conversations in a moment."
                )
            }
        ) from None
    try:
        yield
    finally:
        ChatStartClaim.objects.filter(pk=claim.pk).delete()


def _stored(
    contact: Contact,
    outgoing: OutgoingMessage,
    *,
    receipt: gateways.SentReceipt,
    gateway: gateways.Gateway,
    agent: Agent,
) -> Contact:
    """Open the contact the sent message started, with its event, message and audit entry."""
    with lifecycle.transition():
        contact.created = contact.state_changed_at = timezone.now()
        try:
            with transaction.atomic():
                contact.save(force_insert=True)
        except IntegrityError:
            # Another start opened this customer's thread while the message was being sent.
            raise ValidationError(
                {
                    "identity": _(
                        "The message was sent, but another chat with this customer was opened "
                        "at the same moment: %(which)s"
                    )
                    % {"which": open_elsewhere(contact) or _("it has ended since.")}
                }
            ) from None
        lifecycle.record(
            contact,
            Event.ALLOCATED,
            detail=_("Outbound chat started by %(agent)s on %(channel)s to %(identity)s")
            % {"agent": agent, "channel": contact.sinch_channel, "identity": contact.source},
            created=True,
        )
        message = Message.objects.create(
            contact=contact,
            direction=MessageDirection.OUTBOUND,
            kind=_kind(outgoing),
            text=_shown_text(outgoing),
            media_url=outgoing.media_url,
            content=receipt.content,
            sinch_message_id=receipt.message_id,
            status=MessageStatus.SENT,
            agent=agent,
            created_at=contact.created,
        )
        audit.record(operation=AuditOperation.START_CHAT, instance=contact)
        timeout = int(settings.OUTBOUND_CONNECT_TIMEOUT)
        if timeout > 0:
            connect_check_at(contact.created + timedelta(seconds=timeout))
        transaction.on_commit(lambda: gateway.stored(message))
    return contact


def _kind(outgoing: OutgoingMessage) -> str:
    if outgoing.template is not None:
        return MessageKind.OTHER
    return MessageKind.MEDIA if outgoing.media_url else MessageKind.TEXT


def _shown_text(outgoing: OutgoingMessage) -> str:
    """What an agent reads for the message: its text, or which template it was."""
    if outgoing.template is None:
        return outgoing.text
    return _("WhatsApp template “%(name)s” (%(language)s)") % {
        "name": outgoing.template.name,
        "language": outgoing.template.language,
    }


# --- Connecting: delivery reports, replies, the timeout ----------------------------------


def chat_connect_on_report(message: Message, status: str, sinch_conversation_id: str = "") -> None:
    """A delivery report on an outbound chat's message: reached (Accepted) or failed (Abandoned).

    Called inside the report's transaction with the message's row locked. DELIVERED or READ of
    any message of a connecting chat means the customer was reached; FAILED abandons it only
    when it is the first message (a later one failing says nothing of the first). The report's
    Sinch conversation becomes the chat's, so that its stop and its messages find the chat.
    """
    contact = message.contact
    if contact.direction != Direction.OUTBOUND or contact.connected_at is not None:
        return
    if sinch_conversation_id and not contact.sinch_conversation_id:
        Contact.objects.filter(pk=contact.pk, sinch_conversation_id="").update(
            sinch_conversation_id=sinch_conversation_id
        )
    if status in (MessageStatus.DELIVERED, MessageStatus.READ):
        _system_transition(
            contact,
            Event.ACCEPTED,
            _("The customer was reached: message %(status)s")
            % {"status": MessageStatus(status).label.lower()},
        )
    elif status == MessageStatus.FAILED and _is_first(message):
        _system_transition(
            contact,
            Event.ABANDONED,
            _("The first message failed: %(reason)s")
            % {"reason": message.status_reason or _("no reason given")},
        )


def _is_first(message: Message) -> bool:
    first = (
        Message.objects.filter(contact_id=message.contact_id, direction=MessageDirection.OUTBOUND)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    return first == message.pk


def _system_transition(contact: Contact, event: str, detail: str) -> Contact | None:
    """Record the system's `event` on a connecting chat; None when it no longer connects."""
    with lifecycle.transition():
        locked = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("queue", "agent")
            .get(pk=contact.pk)
        )
        if lifecycle.phase(locked) is not lifecycle.Phase.CONNECTING:
            return None
        lifecycle.check(locked, event, by_system=True)
        lifecycle.record(locked, event, detail=detail)
    return locked


def outbound_reply_join(
    *,
    app_id: str,
    channel: str,
    identity: str,
    sinch_conversation_id: str,
    sinch_contact_id: str,
    message: IncomingMessage,
) -> InboundResult | None:
    """A customer's message joins their open outbound chat (None when they have none).

    The chat is found by its Sinch conversation, or by the same app and channel identity; the
    first reply of a connecting chat records Accepted. The same Sinch message id recorded
    before changes nothing; a chat that closed before it could be locked is not joined (None).
    """
    rows = Contact.objects.filter(
        sinch_app_id=app_id,
        direction=Direction.OUTBOUND,
        ended_at__isnull=True,
        simulated=False,
    )
    by_thread = rows.filter(thread_key=thread_key(channel, canonical_identity(channel, identity)))
    candidates = (
        by_thread | rows.filter(sinch_conversation_id=sinch_conversation_id)
        if sinch_conversation_id
        else by_thread
    )
    found = candidates.order_by().values_list("pk", flat=True).first()
    if found is None:
        return None
    with lifecycle.transition():
        # Still open once locked: a chat closed meanwhile leaves the message to inbound routing.
        locked = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("queue", "agent")
            .filter(pk=found, ended_at__isnull=True)
            .order_by()[:1]
        )
        contact = next(iter(locked), None)
        if contact is None:
            return None
        earlier = Message.objects.filter(
            sinch_message_id=message.sinch_message_id, contact=contact
        ).first()
        if earlier is not None:
            return InboundResult(contact, earlier, new_contact=False, already_recorded=True)
        stored = services.message_inbound_store(contact=contact, message=message)
        fields = []
        if sinch_conversation_id and not contact.sinch_conversation_id:
            contact.sinch_conversation_id = sinch_conversation_id
            fields.append("sinch_conversation_id")
        if sinch_contact_id and not contact.sinch_contact_id:
            contact.sinch_contact_id = sinch_contact_id
            fields.append("sinch_contact_id")
        if fields:
            contact.save(update_fields=fields)
        if lifecycle.phase(contact) is lifecycle.Phase.CONNECTING:
            lifecycle.check(contact, Event.ACCEPTED, by_system=True)
            lifecycle.record(contact, Event.ACCEPTED, detail=_("The customer replied"))
    return InboundResult(contact, stored, new_contact=False)


def chats_abandon_unreached(*, now: datetime | None = None) -> int:
    """Abandon outbound chats whose customer was not reached within OUTBOUND_CONNECT_TIMEOUT."""
    timeout = int(settings.OUTBOUND_CONNECT_TIMEOUT)
    if timeout <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(seconds=timeout)
    abandoned = 0
    while True:
        ids = list(
            _connecting()
            .filter(created__lte=cutoff)
            .order_by("created")
            .values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            return abandoned
        progress = 0
        for contact in Contact.objects.filter(pk__in=ids):
            reason = _("Nothing was delivered within %(seconds)s s") % {"seconds": timeout}
            try:
                if _system_transition(contact, Event.ABANDONED, f"{reason} (timeout)"):
                    abandoned += 1
                    progress += 1
            except LifecycleError as exc:
                logger.info("connect timeout skipped contact %s: %s", contact.pk, exc)
        if progress == 0:
            return abandoned


def _connecting() -> models.QuerySet[Contact]:
    return Contact.objects.filter(
        direction=Direction.OUTBOUND, connected_at__isnull=True, ended_at__isnull=True
    )


@task()
def abandon_unreached_chats() -> int:
    """Abandon the outbound chats past their connect timeout, then schedule the next check."""
    now = timezone.now()
    count = chats_abandon_unreached(now=now)
    timeout = timedelta(seconds=int(settings.OUTBOUND_CONNECT_TIMEOUT))
    if timeout:
        # The next chat to come due; one left overdue is already being changed by another
        # worker (no check now would change it either).
        first = (
            _connecting()
            .filter(created__gt=now - timeout)
            .order_by("created")
            .values_list("created", flat=True)
            .first()
        )
        if first is not None:
            connect_check_at(first + timeout)
    return count


def connect_check_at(when: datetime) -> None:
    """Make sure a timeout check runs no later than `when` (one task row, unless one is due)."""
    tasks.run_by(abandon_unreached_chats, when)
