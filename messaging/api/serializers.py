"""REST representations of messaging services and callbacks; rules live in messaging.validation."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from configurator.api import drf_errors
from configurator.credentials import CredentialEntrySerializer, nested_errors
from configurator.names import UniqueNameSerializerMixin
from conversations.api.serializers import PersonalDataSerializerMixin, personal_kwargs
from conversations.permissions import REDACTED_NOTE
from messaging import selectors, services
from messaging.choices import AuthenticationDirection, DoctorStatus, Trigger
from messaging.models import Callback, DoctorRun, MessagingService
from messaging.validation import (
    AUTHENTICATION_BLOCK,
    DEFAULT_OVERLAP_HOURS,
    AuthenticationInput,
    AuthenticationsResult,
    clean_authentications,
    parse_service_connection,
)
from messaging.webhooks.payload import BodyRefused, stored_json


class MessagingServiceAuthenticationSerializer(CredentialEntrySerializer):
    """One entry of a messaging service's authentication block; the secret is write-only."""

    direction = serializers.ChoiceField(choices=AuthenticationDirection.choices)
    authentication_id = serializers.CharField(max_length=200)
    triggers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )
    key_id = serializers.CharField(read_only=True)
    app_id = serializers.CharField(read_only=True)
    # The inbound entry after a rotation: until when the one it replaced verifies too (the name
    # avoids the word "secret", which no answer holds).
    rotation_overlap_until = serializers.DateTimeField(
        source="previous_secret_until", read_only=True, allow_null=True
    )


class MessagingServiceSerializer(
    UniqueNameSerializerMixin, serializers.ModelSerializer[MessagingService]
):
    """A messaging service with its authentication block, written as a whole."""

    authentications = MessagingServiceAuthenticationSerializer(many=True)
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = MessagingService
        fields = [
            "id",
            "name",
            "type",
            "service_connection",
            "auth_method",
            "enabled",
            "region",
            "project_id",
            "webhook_url",
            "authentications",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["region", "project_id", "created_at", "updated_at"]

    def get_webhook_url(self, obj: MessagingService) -> str:
        return selectors.webhook_url(obj.pk, self.context.get("request"))

    def validate_service_connection(self, value: str) -> str:
        try:
            parse_service_connection(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        entries = attrs.get("authentications")
        if entries is None:
            return attrs
        instance = self.instance
        states = AUTHENTICATION_BLOCK.api_secret_states(
            entries, instance.authentications.all() if instance is not None else []
        )
        inputs = [
            AuthenticationInput(
                direction=e["direction"],
                authentication_id=e["authentication_id"],
                secret=e.get("secret") or None,
                triggers=e.get("triggers") or [],
                has_stored_secret=state.has_stored_secret,
                replaces=state.replaces,
            )
            for e, state in zip(entries, states, strict=True)
        ]
        result = clean_authentications(
            inputs,
            app_owners=partial(
                selectors.app_owners, exclude_service_id=instance.pk if instance else None
            ),
        )
        if not result.is_valid:
            raise serializers.ValidationError({"authentications": _errors(result, len(inputs))})
        attrs["authentications"] = result.entries
        return attrs

    def create(self, validated_data: dict[str, Any]) -> MessagingService:
        return services.messaging_service_create(
            name=validated_data["name"],
            service_connection=validated_data["service_connection"],
            type=validated_data.get("type", MessagingService._meta.get_field("type").default),
            auth_method=validated_data.get(
                "auth_method", MessagingService._meta.get_field("auth_method").default
            ),
            authentications=validated_data["authentications"],
            enabled=validated_data.get("enabled", True),
        )

    def update(
        self, instance: MessagingService, validated_data: dict[str, Any]
    ) -> MessagingService:
        try:
            return services.messaging_service_update(
                service=instance,
                name=validated_data.get("name"),
                service_connection=validated_data.get("service_connection"),
                auth_method=validated_data.get("auth_method"),
                authentications=validated_data.get("authentications"),
                enabled=validated_data.get("enabled"),
            )
        except DjangoValidationError as exc:
            # Enabling a service whose secrets are missing (imported without them).
            raise serializers.ValidationError(drf_errors(exc)) from None


class WebhookSecretRotateSerializer(serializers.Serializer[Any]):
    """The new webhook secret and how long the current one keeps verifying (rules: the service)."""

    secret = serializers.CharField(write_only=True, trim_whitespace=False, allow_blank=True)
    overlap_hours = serializers.IntegerField(required=False, default=DEFAULT_OVERLAP_HOURS)


class SimulateSerializer(serializers.Serializer[Any]):
    """A simulated customer message; every rule (and default) is the simulator's."""

    app_id = serializers.CharField(
        required=False, allow_blank=True, help_text="Default: the service's first app."
    )
    channel = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Conversation API channel (WHATSAPP, SMS, ...). Default: one a chat queue is "
        "addressed to for the app.",
    )
    identity = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The customer's channel identity. Default: a new one (simulated-...); the "
        "same one again joins its open conversation.",
    )
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class SimulatedSerializer(serializers.Serializer[Any]):
    """What the simulator sent: the callback stored, and the app, channel and customer used."""

    callback = serializers.IntegerField(source="callback_id")
    app_id = serializers.CharField()
    channel = serializers.CharField()
    identity = serializers.CharField()


def _errors(result: AuthenticationsResult, count: int) -> Any:
    """DRF's nested error shape: a list aligned with the entries, or the block's own errors."""
    if result.errors:
        return nested_errors(result.errors, count)
    return {"non_field_errors": result.non_field_errors}


class CallbackSerializer(PersonalDataSerializerMixin, serializers.ModelSerializer[Callback]):
    """A stored callback, read-only, with its body as JSON."""

    # The customer's Sinch contact ID and the body (their identity, what they wrote).
    personal_fields = ("contact_id", "payload")

    # Blank when the body carries no notification this service knows.
    trigger = serializers.ChoiceField(choices=Trigger.choices, allow_blank=True, read_only=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = Callback
        fields = [
            "id",
            "service",
            "trigger",
            "app_id",
            "message_id",
            "contact_id",
            "conversation_id",
            "nonce",
            "status",
            "status_reason",
            "summary",
            "attempts",
            "signed_at",
            "received_at",
            "processed_at",
            "verified_with",
            "simulated",
            "payload",
        ]
        read_only_fields = fields
        extra_kwargs = personal_kwargs(("contact_id",))

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": {},
            "description": f"The body as received. {REDACTED_NOTE}",
        }
    )
    def get_payload(self, obj: Callback) -> Any:
        """The body as JSON (payload.stored_json), or null for a body that cannot be read."""
        try:
            return stored_json(bytes(obj.raw_body))
        except BodyRefused:
            return None


class DoctorRequestSerializer(serializers.Serializer[Any]):
    """Run the setup doctor; with `fix`, also create or update the apps' webhooks in Sinch."""

    fix = serializers.BooleanField(required=False, default=False)


class DoctorCheckSerializer(serializers.Serializer[Any]):
    """One check of a doctor run: `code` names its kind; `detail` says what to do next."""

    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=DoctorStatus.choices)
    detail = serializers.CharField()
    app_id = serializers.CharField(required=False)
    channels = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="channel_credentials checks: the Sinch channels the app has credentials for.",
    )


class DoctorFixSerializer(serializers.Serializer[Any]):
    """What a fix changed in Sinch (`webhook_created` or `webhook_updated`), never a secret."""

    code = serializers.CharField()
    app_id = serializers.CharField()
    webhook_id = serializers.CharField()
    detail = serializers.CharField()


class DoctorRunSerializer(serializers.ModelSerializer[DoctorRun]):
    """A stored doctor run, as the doctor action answers it."""

    checks = DoctorCheckSerializer(many=True, read_only=True)
    fixed = DoctorFixSerializer(many=True, read_only=True)

    class Meta:
        model = DoctorRun
        fields = ["id", "service", "ran_at", "ran_by", "fix", "webhook_ok", "checks", "fixed"]
        read_only_fields = fields
