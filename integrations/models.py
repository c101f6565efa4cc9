"""Event-driven integrations and their authentication entries."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from configurator.choices import AuditVia
from configurator.limits import (
    CONFIGURATION_MAX_BYTES,
    DESCRIPTION_MAX_CHARS,
    MaxJsonSize,
    MaxTextLength,
)
from configurator.names import unique_name_ignoring_case
from configurator.secrets import EncryptedSecretField
from conversations.choices import ChannelType, Direction, Event
from conversations.models import Contact, ContactEvent
from integrations.choices import (
    AuthenticationType,
    DeliveryMode,
    DeliveryStatus,
    IntegrationChannelType,
    IntegrationDirection,
    authentication_type,
)
from queues.choices import CALLS_CONFIGURATION_ONLY
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
        _("channel type"),
        max_length=8,
        choices=IntegrationChannelType.choices,
        help_text=format_lazy(
            "{} {}",
            _(
                "Which conversations it is for; chats come from the Sinch Conversation API. "
                "Phone integrations, and the calls of multi-channel ones, are configuration only."
            ),
            CALLS_CONFIGURATION_ONLY,
        ),
    )
    # Unique regardless of case (the constraint below).
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(
        _("description"), blank=True, validators=[MaxTextLength(DESCRIPTION_MAX_CHARS)]
    )
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
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        editable=False,
        help_text=_(
            "Changed by Disable and Enable; saving with no event selected disables it. "
            "Its events are kept either way."
        ),
    )
    direct_chats = models.BooleanField(_("direct chats"), default=False)
    direct_calls = models.BooleanField(
        _("direct calls"),
        default=False,
        help_text=format_lazy(
            "{} {}",
            _("Calls to an agent, not through a queue: configuration only."),
            CALLS_CONFIGURATION_ONLY,
        ),
    )
    queues = models.ManyToManyField(
        Queue, blank=True, related_name="integrations", verbose_name=_("queues")
    )
    configuration = OrderedJSONField(
        _("JSON for configuration"),
        default=dict,
        validators=[MaxJsonSize(CONFIGURATION_MAX_BYTES)],
    )
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"), default=0, editable=False
    )
    paused_at = models.DateTimeField(
        _("paused"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Set when the endpoint failed too often in a row; Resume (or Enable) clears it."
        ),
    )
    paused_reason = models.TextField(_("why paused"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["ordinal", "name"]
        verbose_name = _("event-driven integration")
        verbose_name_plural = _("event-driven integrations")
        constraints = [
            unique_name_ignoring_case("integrations_integration_name_unique_ignoring_case")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def fires(self) -> bool:
        """Enabled and not paused: `firing()` for a row already loaded."""
        return self.enabled and self.paused_at is None


def firing(through: str = "") -> Q:
    """The integrations that fire on their events (`Integration.fires`), as a filter.

    `through` is the path to the integration from the rows filtered, e.g. "integration__".
    """
    return Q(**{f"{through}enabled": True, f"{through}paused_at__isnull": True})


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
    # Empty only for an entry imported without its secret: its integration stays disabled until
    # it is entered.
    secret = EncryptedSecretField(_("secret"), null=True, blank=True)

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

    @property
    def type(self) -> AuthenticationType:
        """Told by the ID (`basic:`, `digest:`, `oauth:`, else a header value), not stored."""
        return AuthenticationType(authentication_type(self.authentication_id))


class IntegrationVersion(models.Model):
    """What an integration was after one save, so that a mistaken edit can be put back.

    `snapshot` holds its configuration fields (`integrations.versions.SNAPSHOT_FIELDS`), never a
    secret; `changed` names the fields that differ from the version before. Kept as long as
    the integration, deleted with it.
    """

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=_("integration"),
    )
    number = models.PositiveIntegerField(_("version"))
    snapshot = OrderedJSONField(_("snapshot"))
    changed = models.JSONField(_("fields changed"), default=list, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    # Who it was when the version was written: kept if the user is deleted later.
    username = models.CharField(_("username"), max_length=150, blank=True)
    via = models.CharField(_("through"), max_length=16, choices=AuditVia.choices)
    restored_from = models.PositiveIntegerField(_("restored from"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["integration", "-number"]
        verbose_name = _("integration version")
        verbose_name_plural = _("integration versions")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "number"], name="integrations_version_number_once"
            )
        ]

    def __str__(self) -> str:
        return str(_("Version %(number)d") % {"number": self.number})


class IntegrationTrigger(models.Model):
    """One (event, conversation type, scope) an integration fires on, kept for one indexed lookup.

    Configuration only (events, direction, channel type, scope), rebuilt by
    `services.triggers_rebuild` when an integration is saved; whether it fires (enabled, not
    paused) is read from the integration by the lookup. `queue` empty means direct conversations
    (chats or calls to an agent).
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="triggers")
    event = models.CharField(max_length=16, choices=Event.choices)
    channel_type = models.CharField(max_length=8, choices=ChannelType.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["event", "channel_type", "direction", "queue"],
                name="integrations_trigger_lookup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.event} {self.channel_type} {self.direction}"


class Delivery(models.Model):
    """One attempt of one integration on one conversation event, as a person reads it later.

    The request is stored as rendered with secrets masked; `applied` says what its answer
    changed on the contact (`set`, `save`), or `error` why it did not.
    """

    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("integration"),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("contact"),
    )
    contact_event = models.ForeignKey(
        ContactEvent,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("contact event"),
    )
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    mode = models.CharField(_("mode"), max_length=12, choices=DeliveryMode.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("repeats"),
        help_text=_("The failed attempt this one sends again."),
        # Indexed by the constraint below: a failed attempt is followed (retried or sent again)
        # by one row at most, which is how "already sent again" is read, and enforced.
        db_index=False,
    )
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    # For a simulated contact: the call was real, the conversation was not.
    simulated = models.BooleanField(_("simulated"), default=False, db_default=False, editable=False)
    request = models.JSONField(_("request (secrets masked)"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.TextField(_("error or reason"), blank=True)
    applied = models.JSONField(_("applied"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The worker sending it and since when: a delivery `sending` past WORK_LEASE_SECONDS was
    # left by a worker that stopped, and is sent again (or failed) by the sweep.
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="integrations_dlv_intg"),
            # The filters of an integration's delivery log, each with its ordering column.
            models.Index(
                fields=["integration", "status", "-created_at"], name="integrations_dlv_intg_status"
            ),
            models.Index(
                fields=["integration", "event", "-created_at"], name="integrations_dlv_intg_event"
            ),
            models.Index(
                fields=["integration", "mode", "-created_at"], name="integrations_dlv_intg_mode"
            ),
            models.Index(fields=["contact", "created_at"], name="integrations_dlv_contact"),
            models.Index(fields=["status", "created_at"], name="integrations_dlv_status"),
            # The admin's list (newest first) and its event filter.
            models.Index(fields=["-created_at", "-id"], name="integrations_dlv_created"),
            models.Index(fields=["event", "-created_at"], name="integrations_dlv_event"),
            # The "simulated" filter's rows (few among real conversations'), newest first.
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(simulated=True),
                name="integrations_dlv_simulated",
            ),
        ]
        constraints = [
            # Partial: most rows follow none. A unique index that also serves the anti-join
            # "not followed yet" of a resend and the contact page's latest attempts.
            models.UniqueConstraint(
                fields=["previous"],
                condition=models.Q(previous__isnull=False),
                name="integrations_dlv_previous_once",
            )
        ]

    def __str__(self) -> str:
        # "CRM sync — Accepted — failed (attempt 2)": the title of its page and breadcrumb.
        return str(
            _("%(integration)s — %(event)s — %(status)s (attempt %(attempt)d)")
            % {
                "integration": self.integration.name,
                "event": self.get_event_display(),
                "status": str(self.get_status_display()).lower(),
                "attempt": self.attempt,
            }
        )
