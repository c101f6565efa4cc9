"""Contacts (the conversations), their messages and event history, and agents."""

from __future__ import annotations

import secrets
import time

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from configurator.limits import SINCH_MESSAGE_ID_MAX_CHARS
from conversations.choices import (
    ChannelType,
    Direction,
    Event,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from queues.models import Queue


def new_contact_id() -> str:
    """A 32-character upper-case hex id that sorts by creation time (like Contact Pro's)."""
    return f"{int(time.time() * 1000):012X}{secrets.token_hex(10).upper()}"


class Agent(models.Model):
    """A person who handles conversations, and the queues they serve."""

    name = models.CharField(_("name"), max_length=100)
    number = models.CharField(
        _("agent number"), max_length=32, blank=True, help_text=_("Extension or agent ID.")
    )
    chat_address = models.CharField(_("chat address"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    queues = models.ManyToManyField(
        Queue, related_name="agents", blank=True, verbose_name=_("queues")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=~Q(number=""),
                name="conversations_agent_number_unique",
                violation_error_message=_("Another agent has this number."),
            )
        ]
        # The API list's page order and its `?email=` filter (`?number=` has the constraint's).
        indexes = [
            models.Index(fields=["name", "id"], name="conversations_agent_name"),
            models.Index(fields=["email"], name="conversations_agent_email"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})" if self.number else self.name


class Contact(models.Model):
    """A conversation as the contact center routes it; its state is the word of its last event."""

    id = models.CharField(
        _("ID"), max_length=32, primary_key=True, default=new_contact_id, editable=False
    )
    guid = models.CharField(
        _("monitoring ID"), max_length=32, unique=True, default=new_contact_id, editable=False
    )
    channel_type = models.CharField(
        _("channel type"), max_length=8, choices=ChannelType.choices, default=ChannelType.CHAT
    )
    channel_sub_type = models.CharField(_("channel subtype"), max_length=32, blank=True)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.INBOUND
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    language = models.CharField(_("language"), max_length=16, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("queue"),
    )
    forwarding_queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="forwarded_contacts",
        verbose_name=_("forwarding queue"),
        help_text=_("The queue the conversation overflowed from."),
    )
    agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("agent"),
    )
    preferred_agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preferred_contacts",
        verbose_name=_("preferred agent"),
    )
    required_agents = models.ManyToManyField(
        Agent, blank=True, related_name="required_contacts", verbose_name=_("required agents")
    )
    required_agents_expiry = models.DateTimeField(_("required agents until"), null=True, blank=True)
    transferring_agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transferred_contacts",
        verbose_name=_("transferring agent"),
    )
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("The customer's identity.")
    )
    destination = models.CharField(
        _("destination"), max_length=200, blank=True, help_text=_("The address it came in on.")
    )
    external_destination = models.CharField(_("external destination"), max_length=200, blank=True)
    cad = models.JSONField(_("attached data"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=Event.choices, default=Event.RECEIVED
    )
    state_changed_at = models.DateTimeField(_("state changed"), default=timezone.now)
    queued_at = models.DateTimeField(_("entered the queue"), null=True, blank=True)
    waiting_since = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        help_text=_("Set while the conversation waits in its queue for an agent."),
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    connected_at = models.DateTimeField(
        _("customer reached"),
        null=True,
        blank=True,
        help_text=_(
            "Outbound chats: when the customer was first reached (a delivery or read report of "
            "the first message, or a reply); empty while the chat is connecting."
        ),
    )
    sinch_app_id = models.CharField(_("Sinch app ID"), max_length=64, blank=True)
    sinch_channel = models.CharField(_("Sinch channel"), max_length=32, blank=True)
    sinch_contact_id = models.CharField(_("Sinch contact ID"), max_length=100, blank=True)
    sinch_conversation_id = models.CharField(_("Sinch conversation ID"), max_length=100, blank=True)
    # The Sinch conversation (or channel identity) later messages join while the contact is open.
    thread_key = models.CharField(_("thread"), max_length=250, blank=True, editable=False)
    # Opened by a simulated callback (messaging's simulator): replies go to the local sandbox,
    # not to Sinch, and everything that shows the contact says so.
    simulated = models.BooleanField(_("simulated"), default=False, db_default=False, editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # The customer's identity, messages and attached data, and the callbacks that carry them
        # (docs/governance.md, "Roles"): viewing a contact's state and queue does not need it.
        permissions = [("view_personal_data", _("Can view customers' personal data"))]
        constraints = [
            models.UniqueConstraint(
                fields=["sinch_app_id", "thread_key"],
                condition=Q(ended_at__isnull=True) & ~Q(thread_key=""),
                name="conversations_one_open_contact_per_thread",
            )
        ]
        indexes = [
            # The API's cursor pages (newest first, conversations_contact_created below) and
            # its filters: each filter with the ordering column, so that a page reads its rows
            # from one index range.
            models.Index(
                fields=["-created"],
                condition=Q(ended_at__isnull=True),
                name="conversations_contact_open",
            ),
            models.Index(fields=["state", "-created"], name="conversations_contact_state"),
            models.Index(fields=["queue", "-created"], name="conversations_contact_queue"),
            models.Index(fields=["agent", "-created"], name="conversations_ct_agent_time"),
            models.Index(fields=["channel_type", "-created"], name="conversations_contact_chan"),
            models.Index(fields=["channel_sub_type", "-created"], name="conversations_contact_sub"),
            models.Index(fields=["direction", "-created"], name="conversations_contact_dir"),
            models.Index(
                fields=["queue", "waiting_since"],
                condition=Q(waiting_since__isnull=False),
                name="conversations_contact_waiting",
            ),
            models.Index(fields=["sinch_conversation_id"], name="conversations_contact_sinch"),
            # The outbound chats still connecting, oldest first (the connect timeout's sweep).
            models.Index(
                fields=["created"],
                condition=Q(direction="outbound", connected_at__isnull=True, ended_at__isnull=True),
                name="conversations_contact_connect",
            ),
            # The admin's list (newest first) and its searches by exact Sinch contact or
            # customer identity.
            models.Index(fields=["-created", "-id"], name="conversations_contact_created"),
            models.Index(fields=["sinch_contact_id"], name="conversations_contact_sinch_ct"),
            models.Index(fields=["source"], name="conversations_contact_source"),
            models.Index(fields=["agent", "state"], name="conversations_contact_agent"),
            # The "simulated" filter's rows (few among customers'), newest first.
            models.Index(
                fields=["-created", "-id"],
                condition=Q(simulated=True),
                name="conversations_contact_sim",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class Message(models.Model):
    """A message of a conversation, in either direction, with its delivery status."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="messages", verbose_name=_("contact")
    )
    direction = models.CharField(_("direction"), max_length=8, choices=MessageDirection.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    text = models.TextField(_("text"), blank=True)
    media_url = models.URLField(_("media URL"), max_length=2000, blank=True)
    content = models.JSONField(_("content as sent"), default=dict, blank=True)
    sinch_message_id = models.CharField(
        _("Sinch message ID"), max_length=SINCH_MESSAGE_ID_MAX_CHARS, blank=True
    )
    status = models.CharField(_("status"), max_length=20, choices=MessageStatus.choices)
    status_reason = models.TextField(_("status reason"), blank=True)
    status_at = models.DateTimeField(_("status changed"), default=timezone.now)
    agent = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("sent by"),
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["sinch_message_id"],
                condition=~Q(sinch_message_id=""),
                name="conversations_message_sinch_id_once",
            )
        ]
        indexes = [models.Index(fields=["contact", "created_at"], name="conversations_msg_contact")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.text[:40] or self.media_url or self.kind}"


class ContactEvent(models.Model):
    """One lifecycle event of a contact, with the contact as it was right after it."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", verbose_name=_("contact")
    )
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    snapshot = models.JSONField(_("contact data"), default=dict)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("contact event")
        verbose_name_plural = _("contact events")
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="conversations_event_contact"),
            models.Index(fields=["event", "-occurred_at"], name="conversations_event_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class ChatStartClaim(models.Model):
    """A start of an outbound chat under way: one per customer's thread, so a second waits."""

    sinch_app_id = models.CharField(_("Sinch app ID"), max_length=64)
    thread_key = models.CharField(_("thread"), max_length=250)
    claimed_at = models.DateTimeField(_("claimed"), default=timezone.now)

    class Meta:
        verbose_name = _("chat start claim")
        verbose_name_plural = _("chat start claims")
        # Internal bookkeeping of chat_start: no one is given rights on it.
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["sinch_app_id", "thread_key"], name="conversations_one_start_per_thread"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sinch_app_id} {self.thread_key}"
