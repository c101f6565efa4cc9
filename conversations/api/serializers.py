"""REST representations of agents, contacts, their messages and events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations import lifecycle, services
from conversations.choices import Direction
from conversations.models import Agent, Contact, ContactEvent, Message
from queues.models import Queue


class AgentSerializer(serializers.ModelSerializer[Agent]):
    """An agent and the queues they serve."""

    class Meta:
        model = Agent
        fields = ["id", "name", "number", "chat_address", "email", "queues", "created_at"]
        read_only_fields = ["created_at"]


class ContactSerializer(serializers.ModelSerializer[Contact]):
    """A contact (conversation) as routing sees it; changed only through lifecycle actions."""

    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "guid",
            "state",
            "allowed_actions",
            "channel_type",
            "channel_sub_type",
            "direction",
            "created",
            "language",
            "priority",
            "skills",
            "queue",
            "forwarding_queue",
            "agent",
            "preferred_agent",
            "required_agents",
            "required_agents_expiry",
            "transferring_agent",
            "source",
            "destination",
            "external_destination",
            "cad",
            "state_changed_at",
            "queued_at",
            "waiting_since",
            "accepted_at",
            "ended_at",
            "connected_at",
            "sinch_app_id",
            "sinch_channel",
            "sinch_contact_id",
            "sinch_conversation_id",
            "simulated",
        ]
        read_only_fields = fields

    def get_allowed_actions(self, obj: Contact) -> list[str]:
        return [ACTION_OF_EVENT[e] for e in lifecycle.allowed_events(obj) if e in ACTION_OF_EVENT]


# The API's action names for the lifecycle events operators can cause.
ACTION_OF_EVENT = {event: action for action, (event, _) in services.OPERATOR_ACTIONS.items()}


class AllocateSerializer(serializers.Serializer[Any]):
    """Body of `allocate`."""

    agent = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all())


class TransferSerializer(serializers.Serializer[Any]):
    """Body of `transfer`: a queue or an agent."""

    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all(), required=False)
    agent = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("queue" in attrs) == ("agent" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either a queue or an agent to transfer to."]}
            )
        return attrs


class ForwardSerializer(serializers.Serializer[Any]):
    """Body of `forward`."""

    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all())


class EmptySerializer(serializers.Serializer[Any]):
    """Actions that take no body."""


class MessageSerializer(serializers.ModelSerializer[Message]):
    """A message of a contact, either direction, with its delivery status."""

    # Empty for a message without media, and what the channel sent otherwise: not always a URI.
    media_url = serializers.CharField(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "kind",
            "text",
            "media_url",
            "content",
            "sinch_message_id",
            "status",
            "status_reason",
            "status_at",
            "agent",
            "created_at",
        ]
        read_only_fields = fields


class ReplySerializer(serializers.Serializer[Any]):
    """Body of a reply: a text or a media URL, and optionally the agent who writes it."""

    # At most configurator.limits.REPLY_MAX_CHARS, said by the reply service (admin and API).
    text = serializers.CharField(required=False, allow_blank=True)
    media_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(), required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("text") or "").strip() and not attrs.get("media_url"):
            raise serializers.ValidationError({"text": ["Write a text or give a media_url."]})
        return attrs


class ContactEventSerializer(serializers.ModelSerializer[ContactEvent]):
    """One event of a contact's history with the contact data right after it."""

    class Meta:
        model = ContactEvent
        fields = ["id", "event", "occurred_at", "detail", "snapshot"]
        read_only_fields = fields


class TemplateSerializer(serializers.Serializer[Any]):
    """A WhatsApp template: its name, its language (en_US) and its parameters' values."""

    name = serializers.CharField()
    language = serializers.CharField()
    parameters = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )


class ChatStartSerializer(serializers.Serializer[Any]):
    """Body of `POST /contacts/`: an agent starts an outbound chat (checked by the service)."""

    direction = serializers.ChoiceField(choices=Direction.choices)
    agent = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all())
    queue = serializers.PrimaryKeyRelatedField(
        queryset=Queue.objects.all(), required=False, allow_null=True
    )
    app_id = serializers.CharField()
    channel = serializers.CharField()
    identity = serializers.CharField()
    text = serializers.CharField(required=False, allow_blank=True)
    media_url = serializers.CharField(required=False, allow_blank=True)
    template = TemplateSerializer(required=False, allow_null=True)

    def validate_direction(self, value: str) -> str:
        if value != Direction.OUTBOUND:
            raise serializers.ValidationError(
                "Only outbound chats are started here: an inbound conversation is opened by "
                "the customer's message."
            )
        return value


class StartedChatSerializer(ContactSerializer):
    """The contact an outbound chat opened, with the first message as it was sent."""

    first_message = serializers.SerializerMethodField()

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "first_message"]
        read_only_fields = fields

    @extend_schema_field(MessageSerializer)
    def get_first_message(self, obj: Contact) -> dict[str, Any] | None:
        first = obj.messages.order_by("created_at", "id").first()
        return MessageSerializer(first).data if first else None
