"""Queues and the addresses that route conversations to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from configurator.limits import DESCRIPTION_MAX_CHARS, MaxTextLength
from configurator.names import unique_name_ignoring_case
from queues.choices import CALLS_CONFIGURATION_ONLY, QueueChannelType

# The longest a conversation may wait before overflowing: a week is far beyond any contact
# center's service level, and keeps every due time a date the databases can hold.
MAX_WAITING_TIME = timedelta(days=7)


class Queue(models.Model):
    """A queue conversations wait in until an agent takes them."""

    # Unique regardless of case (the constraint below).
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(
        _("description"), blank=True, validators=[MaxTextLength(DESCRIPTION_MAX_CHARS)]
    )
    channel_type = models.CharField(
        _("channel type"),
        max_length=8,
        choices=QueueChannelType.choices,
        default=QueueChannelType.CHAT,
        help_text=format_lazy(
            "{} {}",
            _("Chat queues receive the messages of the Sinch Conversation API."),
            CALLS_CONFIGURATION_ONLY,
        ),
    )
    default_priority = models.PositiveIntegerField(
        _("default priority"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text=_("Priority of new conversations: the divisor of their waiting time."),
    )
    sms_sender_id = models.CharField(
        _("SMS sender ID"),
        max_length=20,
        blank=True,
        help_text=_(
            "Number, short code or alphanumeric sender replies to SMS are sent from; "
            "needed for SMS on a US messaging service."
        ),
    )
    max_waiting_time = models.DurationField(
        _("maximum waiting time"),
        null=True,
        blank=True,
        help_text=_("Conversations waiting longer are forwarded to the overflow queue."),
    )
    overflow_queue = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="overflow_sources",
        verbose_name=_("overflow queue"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        constraints = [unique_name_ignoring_case("queues_queue_name_unique_ignoring_case")]
        # The list's order (thousands of queues) and the API's `?name=`.
        indexes = [models.Index(fields=["name"], name="queues_queue_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Overflow needs both a time and another queue of the same channel type."""
        errors: dict[str, Any] = {}
        if self.max_waiting_time is not None and self.max_waiting_time.total_seconds() < 1:
            errors["max_waiting_time"] = _("Give at least one second.")
        elif self.max_waiting_time is not None and self.max_waiting_time > MAX_WAITING_TIME:
            errors["max_waiting_time"] = _("Give at most %(days)s days (%(seconds)s seconds).") % {
                "days": MAX_WAITING_TIME.days,
                "seconds": int(MAX_WAITING_TIME.total_seconds()),
            }
        if (self.max_waiting_time is None) != (self.overflow_queue_id is None):
            field = "overflow_queue" if self.overflow_queue_id is None else "max_waiting_time"
            errors[field] = _("Overflow needs both a maximum waiting time and an overflow queue.")
        elif self.overflow_queue is not None:
            if self.pk is not None and self.overflow_queue_id == self.pk:
                errors["overflow_queue"] = _("A queue cannot overflow into itself.")
            elif self.overflow_queue.channel_type != self.channel_type:
                errors["overflow_queue"] = _(
                    "The overflow queue must carry the same channel type (%(type)s)."
                ) % {"type": self.get_channel_type_display()}
        if errors:
            raise ValidationError(errors)


class QueueAddress(models.Model):
    """An address that routes to exactly one queue (APPID@whatsapp.sinchconversation.com)."""

    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("queue")
    )
    address = models.CharField(_("address"), max_length=200, unique=True)
    app_id = models.CharField(_("app ID"), max_length=64, blank=True)
    subchannel = models.CharField(_("subchannel"), max_length=32, blank=True)

    class Meta:
        ordering = ["address"]
        verbose_name = _("queue address")
        verbose_name_plural = _("queue addresses")
        indexes = [models.Index(fields=["app_id"], name="queues_address_app")]

    def __str__(self) -> str:
        return self.address
