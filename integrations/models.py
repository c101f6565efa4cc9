"""Event-driven integrations and their authentication entries."""

from __future__ import annotations

import json
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from configurator.secrets import EncryptedSecretField
from integrations.choices import AuthenticationType, IntegrationChannelType, IntegrationDirection
from queues.models import Queue


class OrderedJSONField(models.TextField[Any, Any]):
    """JSON kept in the order it was written (PostgreSQL's jsonb would sort the keys).

    An administrator's configuration, and the bodies it sends, keep the order they were typed in.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj: models.Model) -> str:
        return str(self.get_prep_value(self.value_from_object(obj)))


class Integration(models.Model):
    """Which external HTTPS service is called on which conversation events, and how."""

    channel_type = models.CharField(
        _("channel type"), max_length=8, choices=IntegrationChannelType.choices
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    endpoint_url = models.CharField(
        _("endpoint URL"),
        max_length=2000,
        help_text=_(
            "https:// address, with placeholders in path and query if needed (e.g. "
            "https://crm.example.com/contacts/{contact.id}); or edi://echo, which makes no "
            "call and answers with the contact's data."
        ),
    )
    ordinal = models.PositiveSmallIntegerField(
        _("ordinal"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(999)],
        help_text=_(
            "Order among integrations that fire on the same conversation event (lowest "
            "first); only the first three fire."
        ),
    )
    direction = models.CharField(
        _("conversation direction"),
        max_length=8,
        choices=IntegrationDirection.choices,
        default=IntegrationDirection.INBOUND,
    )
    events = models.JSONField(_("events"), default=list, blank=True)
    disabled_events = models.JSONField(
        _("events before disabling"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("What Enable restores."),
    )
    direct_chats = models.BooleanField(_("direct chats"), default=False)
    direct_calls = models.BooleanField(_("direct calls"), default=False)
    queues = models.ManyToManyField(
        Queue, blank=True, related_name="integrations", verbose_name=_("queues")
    )
    configuration = OrderedJSONField(_("JSON for configuration"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["ordinal", "name"]
        verbose_name = _("event-driven integration")
        verbose_name_plural = _("event-driven integrations")

    def __str__(self) -> str:
        return self.name

    @property
    def enabled(self) -> bool:
        """An integration with no events selected is disabled (seed 003)."""
        return bool(self.events)


class IntegrationAuthentication(models.Model):
    """A credential: `basic:<user>`, `digest:<user>`, `oauth:<client ID>`, or a header value."""

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="authentications",
        verbose_name=_("integration"),
    )
    authentication_id = models.CharField(
        _("authentication ID"),
        max_length=160,
        help_text=_(
            "basic:<username>, digest:<username>, oauth:<client ID>, or a name for a header "
            "value such as api-key (used as {authentications.api-key})."
        ),
    )
    type = models.CharField(
        _("type"), max_length=8, choices=AuthenticationType.choices, editable=False
    )
    secret = EncryptedSecretField(_("secret"))

    class Meta:
        ordering = ["integration", "authentication_id"]
        verbose_name = _("authentication")
        verbose_name_plural = _("authentications")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "authentication_id"],
                name="integrations_authentication_id_once",
            )
        ]

    def __str__(self) -> str:
        return self.authentication_id
