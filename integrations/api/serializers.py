"""REST representations of integrations; every rule lives in integrations.validation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Manager
from django.utils.text import format_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from configurator.api import drf_errors
from configurator.credentials import CredentialEntrySerializer, nested_errors
from configurator.names import UniqueNameSerializerMixin
from conversations.choices import ChannelType, Direction, Event
from conversations.models import Contact
from conversations.selectors import contact_detail
from integrations import selectors, services, versions
from integrations.models import Delivery, Integration, IntegrationVersion
from integrations.validation import (
    AUTHENTICATION_BLOCK,
    AuthenticationInput,
    IntegrationInput,
    clean_authentications,
    clean_integration,
)
from queues.choices import CALLS_CONFIGURATION_ONLY
from queues.models import Queue


class IntegrationAuthenticationSerializer(CredentialEntrySerializer):
    """One authentication entry; the secret is write-only."""

    authentication_id = serializers.CharField(max_length=160)
    type = serializers.CharField(
        read_only=True, help_text="basic, digest, oauth or header: told by the authentication ID."
    )


class IntegrationListSerializer(serializers.ListSerializer[Integration]):
    """Integrations shown together: the queues and agents their `set`s name, looked up once."""

    def to_representation(self, data: Any) -> list[Any]:
        rows = list(data.all() if isinstance(data, Manager) else data)
        self.context["references"] = selectors.integration_list_references(rows)
        return super().to_representation(rows)


class IntegrationSerializer(UniqueNameSerializerMixin, serializers.ModelSerializer[Integration]):
    """An integration with its authentication block, written as a whole."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        required=False,
        default=list,
        help_text=format_lazy(
            "{} {}",
            "The conversation events it fires on; none saved disables it.",
            CALLS_CONFIGURATION_ONLY,
        ),
    )
    queues = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Queue.objects.all(),
        required=False,
        help_text="Chats: the queues messages arrive to or are sent from (inbound and "
        "outbound). Calls: inbound queue calls (configuration only: no call comes from the "
        "Conversation API).",
    )
    authentications = IntegrationAuthenticationSerializer(many=True, required=False)
    configuration = serializers.JSONField()
    enabled = serializers.BooleanField(
        read_only=True,
        help_text="Whether it fires on its events (unless paused). Changed by disable/ and "
        "enable/; saving with no events sets it false.",
    )
    problems = serializers.SerializerMethodField(
        help_text="What would stop it being saved as it is now (e.g. a copy's missing "
        "authentications)."
    )

    class Meta:
        model = Integration
        list_serializer_class = IntegrationListSerializer
        fields = [
            "id",
            "name",
            "description",
            "channel_type",
            "endpoint_url",
            "ordinal",
            "direction",
            "events",
            "enabled",
            "paused_at",
            "paused_reason",
            "direct_chats",
            "direct_calls",
            "queues",
            "authentications",
            "configuration",
            "problems",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "paused_at",
            "paused_reason",
            "created_at",
            "updated_at",
        ]

    def get_problems(self, obj: Integration) -> list[str]:
        # A list has looked up what every row names (IntegrationListSerializer); one row asks.
        references = self.context.setdefault("references", selectors.DatabaseReferences())
        return selectors.integration_problems(obj, references=references)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        errors: dict[str, Any] = {}
        entries = attrs.get("authentications")
        stored = (
            {a.authentication_id: a for a in instance.authentications.all()} if instance else {}
        )
        if entries is not None:
            states = AUTHENTICATION_BLOCK.api_secret_states(entries, stored.values())
            inputs = [
                AuthenticationInput(
                    authentication_id=e["authentication_id"],
                    secret=e.get("secret") or None,
                    has_stored_secret=state.has_stored_secret,
                    replaces=state.replaces,
                )
                for e, state in zip(entries, states, strict=True)
            ]
            result = clean_authentications(inputs)
            if not result.is_valid:
                errors["authentications"] = nested_errors(result.errors, len(inputs))
            attrs["authentications"] = result.entries
            authentication_ids = [e.authentication_id for e in inputs]
        else:
            authentication_ids = list(stored)

        def given(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            if instance is not None:
                value = getattr(instance, name)
                return list(value.all()) if name == "queues" else value
            model_field = Integration._meta.get_field(name)
            return model_field.get_default() if isinstance(model_field, Field) else []

        check = clean_integration(
            IntegrationInput.of(
                given, queues=given("queues") or [], authentication_ids=authentication_ids
            ),
            references=selectors.DatabaseReferences(),
        )
        for name, messages in check.errors.items():
            errors.setdefault(name, []).extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Integration:
        queues = validated_data.pop("queues", [])
        authentications = validated_data.pop("authentications", [])
        with _model_errors_as_400():
            return services.integration_save(
                integration=Integration(**validated_data),
                queues=queues,
                authentications=authentications,
            )

    def update(self, instance: Integration, validated_data: dict[str, Any]) -> Integration:
        queues = validated_data.pop("queues", None)
        authentications = validated_data.pop("authentications", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        with _model_errors_as_400():
            return services.integration_save(
                integration=instance, queues=queues, authentications=authentications
            )


@contextmanager
def _model_errors_as_400() -> Iterator[None]:
    """The model's own checks (run by the service before it writes) answer 400, by field.

    `validate` runs every rule first; this keeps a rule it does not know of from being a 500.
    """
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(drf_errors(exc)) from None


class PresetSerializer(serializers.Serializer[Any]):
    """A "start from" configuration for one documented use."""

    key = serializers.CharField()
    title = serializers.CharField(source="label")
    description = serializers.CharField()
    direction = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    authentications = serializers.ListField(
        child=serializers.CharField(), help_text="Entries its JSON refers to."
    )
    configuration = serializers.JSONField()


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    """One attempt of an integration on a conversation event (request secrets masked)."""

    contact = serializers.CharField(source="contact_id", read_only=True)
    previous = serializers.IntegerField(source="previous_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "integration",
            "event",
            "contact",
            "contact_event",
            "mode",
            "status",
            "attempt",
            "previous",
            "due_at",
            "request",
            "status_code",
            "duration_ms",
            "response_excerpt",
            "error",
            "applied",
            "created_at",
            "finished_at",
            "simulated",
        ]
        read_only_fields = fields


RESEND_IDS_MAX = 1000


class ResendSerializer(serializers.Serializer[Any]):
    """Which failed background deliveries to send again: given ones, or all since a time."""

    deliveries = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        # More than a page of IDs is a selection: "since" names it without listing it.
        max_length=RESEND_IDS_MAX,
    )
    since = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "deliveries" not in attrs and "since" not in attrs:
            raise serializers.ValidationError(
                {"since": ["Give “since” (all failed since then) or “deliveries” (IDs)."]}
            )
        return attrs


class TestRunRequestSerializer(serializers.Serializer[Any]):
    """A test run: the event, an existing contact (or a sample one), dry or live."""

    event = serializers.ChoiceField(choices=Event.choices)
    contact = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="An existing contact's ID; empty or left out: a sample contact.",
    )
    live = serializers.BooleanField(default=False, help_text="Send the request (else render only).")
    channel_type = serializers.ChoiceField(
        choices=ChannelType.choices,
        required=False,
        help_text="The sample contact's channel type, among those the integration is for "
        "(default: its first queue's). `phone` is how call integrations are tried: calls never "
        "come from the Conversation API. Ignored with a contact.",
    )
    direction = serializers.ChoiceField(
        choices=Direction.choices,
        required=False,
        help_text="The sample contact's direction, among those the integration is for: "
        "Outbound integrations get an outbound sample (the events chats out produce: accepted, "
        "transferred, ended, abandoned), Both choose (default inbound). Ignored with a contact.",
    )

    def validate_contact(self, value: str) -> Contact | None:
        if not value:
            return None
        found = contact_detail().filter(pk=value.strip().upper()).first()
        if found is None:
            raise serializers.ValidationError(f"No contact has the ID “{value}”.")
        return found


class TestStepSerializer(serializers.Serializer[Any]):
    """One step of a test run."""

    name = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["ok", "skipped", "failed", "info"])
    detail = serializers.CharField()
    data = serializers.JSONField(allow_null=True)  # type: ignore[assignment]


class TestRunSerializer(serializers.Serializer[Any]):
    """What a test run did, step by step; nothing was changed."""

    integration = serializers.IntegerField()
    event = serializers.CharField()
    contact = serializers.CharField()
    channel_type = serializers.ChoiceField(
        choices=ChannelType.choices,
        help_text="Of the contact the run used (a sample's or a real one's).",
    )
    direction = serializers.ChoiceField(
        choices=Direction.choices, help_text="Of the contact the run used."
    )
    live = serializers.BooleanField()
    steps = TestStepSerializer(many=True)


class IntegrationVersionSerializer(serializers.ModelSerializer[IntegrationVersion]):
    """One version of an integration: when, who, through what, and which fields it changed."""

    user = serializers.CharField(
        source="username", read_only=True, help_text="Who saved it (empty: a system change)."
    )
    summary = serializers.SerializerMethodField(help_text="What it changed, in a few words.")

    class Meta:
        model = IntegrationVersion
        fields = ["number", "created_at", "user", "via", "restored_from", "changed", "summary"]
        read_only_fields = fields

    def get_summary(self, obj: IntegrationVersion) -> str:
        return versions.summary(
            changed=obj.changed, first=obj.number == 1, restored_from=obj.restored_from
        )


class VersionFieldChangeSerializer(serializers.Serializer[Any]):
    """One field that differs between two versions, with its value in each."""

    field = serializers.CharField(source="name")
    label = serializers.CharField()  # type: ignore[assignment]
    before = serializers.JSONField()
    after = serializers.JSONField()


class VersionDiffSerializer(serializers.Serializer[Any]):
    """How version `after` differs from version `before`."""

    before = serializers.IntegerField()
    after = serializers.IntegerField()
    fields = VersionFieldChangeSerializer(many=True)  # type: ignore[assignment]
    configuration = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        help_text="The pretty-printed JSON for configuration as a unified line diff: lines "
        "starting with “-” are the earlier version's, “+” the later one's, “@@” a hunk.",
    )


class IntegrationVersionDetailSerializer(IntegrationVersionSerializer):
    """A version with everything it holds (never a secret) and its diff with another."""

    snapshot = serializers.JSONField(
        read_only=True,
        help_text="name, description, channel_type, endpoint_url, ordinal, direction, events, "
        "enabled, direct_chats, direct_calls, queues [{id, name}], authentications (IDs only), "
        "configuration.",
    )
    diff = serializers.SerializerMethodField()

    class Meta(IntegrationVersionSerializer.Meta):
        fields = [*IntegrationVersionSerializer.Meta.fields, "snapshot", "diff"]
        read_only_fields = fields

    @extend_schema_field(VersionDiffSerializer(allow_null=True))
    def get_diff(self, obj: IntegrationVersion) -> Any:
        other: IntegrationVersion | None = self.context.get("compare_with")
        if other is None:
            return None
        older, newer = sorted([other, obj], key=lambda v: v.number)
        return VersionDiffSerializer(
            versions.versions_diff(
                before=older.number,
                before_snapshot=older.snapshot,
                after=newer.number,
                after_snapshot=newer.snapshot,
            )
        ).data


class VersionRestoreSerializer(serializers.Serializer[Any]):
    """What a restore did: the integration as it is now, and the version it made (null: none,
    the integration already was what that version was)."""

    restored = serializers.IntegerField(help_text="The version restored.")
    version = IntegrationVersionSerializer(allow_null=True)
    integration = IntegrationSerializer()
