"""Messaging services, their authentications, and the Sinch callbacks they receive."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from configurator.names import unique_name_ignoring_case
from configurator.secrets import EncryptedSecretField
from messaging.choices import (
    ApiAuthMethod,
    AuthenticationDirection,
    CallbackStatus,
    ReasonCode,
    Region,
    ServiceType,
    Trigger,
    VerifiedWith,
)
from messaging.validation import parse_service_connection


class MessagingService(models.Model):
    """A Sinch Conversation API project connection: where replies go, whose webhooks arrive."""

    # Unique regardless of case (the constraint below).
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(
        _("type"),
        max_length=32,
        choices=ServiceType.choices,
        default=ServiceType.SINCH_CONVERSATION,
    )
    service_connection = models.CharField(
        _("service connection"),
        max_length=300,
        help_text=_(
            "https://{eu|us|br}.conversation.api.sinch.com/v1/projects/{project ID}/messages:send"
        ),
    )
    auth_method = models.CharField(
        _("API authentication"),
        max_length=8,
        choices=ApiAuthMethod.choices,
        default=ApiAuthMethod.OAUTH2,
        help_text=_("How replies authenticate to the Conversation API with the outbound keys."),
    )
    # Off for a service imported without its secrets (transfer): its webhook answers 403 and no
    # reply leaves through it; switching it on needs every entry's secret.
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_(
            "A disabled service refuses Sinch's callbacks (403) and sends no replies. Enabling "
            "needs the secret of every authentication entry."
        ),
    )
    region = models.CharField(_("region"), max_length=2, choices=Region.choices, editable=False)
    project_id = models.CharField(_("project ID"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("messaging service")
        verbose_name_plural = _("messaging services")
        constraints = [unique_name_ignoring_case("messaging_service_name_unique_ignoring_case")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Check the service connection and derive region and project ID from it."""
        try:
            self.region, self.project_id = parse_service_connection(self.service_connection or "")
        except ValidationError as exc:
            raise ValidationError({"service_connection": exc.messages}) from None


class ServiceAuthentication(models.Model):
    """One authentication entry of a messaging service: an outbound key or the webhook secret."""

    service = models.ForeignKey(
        MessagingService,
        on_delete=models.CASCADE,
        related_name="authentications",
        verbose_name=_("messaging service"),
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=AuthenticationDirection.choices
    )
    authentication_id = models.CharField(
        _("authentication ID"),
        max_length=200,
        help_text=_("Outbound: KEYID@APPID. Inbound: webhook."),
    )
    key_id = models.CharField(_("key ID"), max_length=100, blank=True, editable=False)
    app_id = models.CharField(_("app ID"), max_length=64, blank=True, editable=False)
    # Empty only for an entry imported without its secret: its service stays disabled until it
    # is entered.
    secret = EncryptedSecretField(_("secret"), null=True, blank=True)
    triggers = models.JSONField(_("triggers"), default=list, blank=True)
    # The inbound entry's secret before the last rotation, verifying until its expiry so that
    # Sinch can be switched over meanwhile (services.webhook_secret_rotate); never on outbound.
    previous_secret = EncryptedSecretField(_("previous secret"), null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret verifies until"), null=True, blank=True
    )

    class Meta:
        ordering = ["service", "-direction", "authentication_id"]
        verbose_name = _("authentication")
        verbose_name_plural = _("authentications")
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(direction=AuthenticationDirection.INBOUND),
                name="messaging_one_inbound_authentication_per_service",
                violation_error_message=_("A messaging service has exactly one inbound entry."),
            ),
            models.UniqueConstraint(
                fields=["app_id"],
                condition=Q(direction=AuthenticationDirection.OUTBOUND),
                name="messaging_app_belongs_to_one_service",
                violation_error_message=_("This app already belongs to a messaging service."),
            ),
        ]

    def __str__(self) -> str:
        return self.authentication_id

    @property
    def previous_secret_until(self) -> datetime | None:
        """Until when the secret a rotation replaced still verifies; None once it no longer does."""
        until = self.previous_secret_expires_at
        if self.previous_secret is None or until is None or until <= timezone.now():
            return None
        return until


class Callback(models.Model):
    """A verified Sinch callback as received; the stored row is also its unit of work."""

    service = models.ForeignKey(
        MessagingService,
        on_delete=models.CASCADE,
        related_name="callbacks",
        verbose_name=_("messaging service"),
        # The nonce constraint and messaging_cb_service both start with the service: a third
        # index would only make every stored callback dearer.
        db_index=False,
    )
    trigger = models.CharField(_("trigger"), max_length=64, blank=True, choices=Trigger.choices)
    app_id = models.CharField(_("app ID"), max_length=64, blank=True)
    message_id = models.CharField(_("message/event ID"), max_length=100, blank=True)
    contact_id = models.CharField(_("contact ID"), max_length=100, blank=True)
    conversation_id = models.CharField(_("conversation ID"), max_length=100, blank=True)
    nonce = models.CharField(_("nonce"), max_length=200)
    signed_at = models.DateTimeField(_("signed at"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    # Rows from before rotations existed were verified by the secret current then.
    verified_with = models.CharField(
        _("verified with"),
        max_length=8,
        choices=VerifiedWith.choices,
        default=VerifiedWith.CURRENT,
        db_default=VerifiedWith.CURRENT,
    )
    # Built and signed by the simulator (messaging.simulator), not sent by Sinch: the log, the
    # conversations it opens and their deliveries say so.
    simulated = models.BooleanField(_("simulated"), default=False, db_default=False, editable=False)
    raw_body = models.BinaryField(_("raw body"))
    dedupe_key = models.CharField(_("deduplication key"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=CallbackStatus.choices, default=CallbackStatus.PENDING
    )
    status_reason = models.TextField(_("status reason"), blank=True)
    # What the code decides from the reason (the sentence above is for people only); a database
    # default, so that the webhook's INSERT need not name it.
    reason_code = models.CharField(
        _("reason code"),
        max_length=32,
        blank=True,
        choices=ReasonCode.choices,
        default=ReasonCode.NONE,
        db_default=ReasonCode.NONE,
    )
    summary = models.JSONField(_("what it says"), default=dict, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    # The worker processing it and since when (its lease runs WORK_LEASE_SECONDS from then);
    # database defaults, so that the webhook's INSERT need not name them.
    claimed_by = models.CharField(
        _("claimed by"), max_length=64, blank=True, default="", db_default=""
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    takeovers = models.PositiveIntegerField(
        _("taken over"),
        default=0,
        db_default=0,
        help_text=_("How often a worker took it over from one that stopped."),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks received")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "nonce"], name="messaging_callback_nonce_once_per_service"
            ),
            # Sinch retries deliver the same notification again: only one may be processed.
            models.UniqueConstraint(
                fields=["service", "dedupe_key"],
                condition=Q(status=CallbackStatus.PROCESSED),
                name="messaging_callback_processed_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(status=CallbackStatus.PENDING),
                name="messaging_cb_pending",
            ),
            # The API's cursor pages and the admin's list (both newest first by received_at) and
            # their filters: each filter with the ordering column, so that a page reads its rows
            # from one index range.
            models.Index(fields=["-received_at", "-id"], name="messaging_cb_received"),
            models.Index(fields=["service", "-received_at"], name="messaging_cb_service"),
            models.Index(fields=["status", "-received_at"], name="messaging_cb_status"),
            models.Index(fields=["trigger", "-received_at"], name="messaging_cb_trigger"),
            models.Index(fields=["app_id", "-received_at"], name="messaging_cb_app"),
            models.Index(fields=["message_id"], name="messaging_cb_message"),
            models.Index(fields=["contact_id"], name="messaging_cb_contact"),
            models.Index(fields=["conversation_id"], name="messaging_cb_conversation"),
            # The "simulated" filter's rows (few among Sinch's), newest first.
            models.Index(
                fields=["-received_at", "-id"],
                condition=Q(simulated=True),
                name="messaging_cb_simulated",
            ),
            # Callbacks that reached no queue, newest first: the home page's unrouted messages
            # and the list filtered by that reason. Partial: only such rows are in it, so that
            # the webhook's INSERT of any other callback does not write it.
            models.Index(
                fields=["-received_at", "-id"],
                condition=Q(reason_code=ReasonCode.NO_QUEUE),
                name="messaging_cb_unrouted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trigger or 'callback'} #{self.pk}"


class DoctorRun(models.Model):
    """One run of the setup doctor on a messaging service: what it checked, found and fixed.

    The last run is what the home page's checklist reads for "Sinch's webhook points here":
    the doctor is the only part that asks Sinch, so its answer is kept rather than asked again.
    """

    service = models.ForeignKey(
        MessagingService,
        on_delete=models.CASCADE,
        related_name="doctor_runs",
        verbose_name=_("messaging service"),
    )
    ran_at = models.DateTimeField(_("ran"), default=timezone.now)
    ran_by = models.CharField(_("ran by"), max_length=150, blank=True)
    fix = models.BooleanField(_("fix asked"), default=False)
    # [{"name", "status": "ok"|"problem"|"error", "detail"}], as the API answers them.
    checks = models.JSONField(_("checks"), default=list)
    fixed = models.JSONField(_("fixed"), default=list)
    # Whether every app of the service had a webhook here (target, triggers, secret) when the
    # run ended, fixes included; None when Sinch could not be asked.
    webhook_ok = models.BooleanField(_("webhook points here"), null=True)

    class Meta:
        ordering = ["-ran_at", "-id"]
        verbose_name = _("doctor run")
        verbose_name_plural = _("doctor runs")
        indexes = [models.Index(fields=["service", "-ran_at"], name="messaging_doctor_service")]

    def __str__(self) -> str:
        return f"{self.service} {self.ran_at:%Y-%m-%d %H:%M}"
