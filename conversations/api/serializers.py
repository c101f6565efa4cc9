"""REST representations of agents, contacts, their messages and events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations import lifecycle, messages, services
from conversations.choices import Direction, SentAs
from conversations.models import Agent, Contact, ContactEvent, Message
from conversations.permissions import (
    CONTACT_EVENT_PERSONAL_FIELDS,
    CONTACT_PERSONAL_FIELDS,
    MESSAGE_PERSONAL_FIELDS,
    REDACTED_NOTE,
    can_view_personal_data,
    personal_fields_emptied,
)
from queues.models import Queue


class PersonalDataSerializerMixin:
    """Empties (null) the fields in `personal_fields` for a request whose user may not view
    customers' personal data (conversations.permissions), and says so in the schema.

    Without a request in the context (the project's own uses) nothing is emptied.
    """

    personal_fields: tuple[str, ...] = ()
    context: dict[str, Any]

    def to_representation(self, instance: Any) -> Any:
        row = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")
        if request is None or can_view_personal_data(request.user):
            return row
        return personal_fields_emptied(row, self.personal_fields)


def personal_kwargs(fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`extra_kwargs` that describe personal fields in the schema: nullable, and why."""
    return {name: {"allow_null": True, "help_text": REDACTED_NOTE} for name in fields}


class AgentSerializer(serializers.ModelSerializer[Agent]):
    """An agent and the queues they serve."""

    class Meta:
        model = Agent
        fields = ["id", "name", "number", "chat_address", "email", "queues", "created_at"]
        read_only_fields = ["created_at"]


class ContactSerializer(PersonalDataSerializerMixin, serializers.ModelSerializer[Contact]):
    """A contact (conversation) as routing sees it; changed only through lifecycle actions."""

    personal_fields = CONTACT_PERSONAL_FIELDS
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
        extra_kwargs = personal_kwargs(CONTACT_PERSONAL_FIELDS)

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


class MessageSerializer(PersonalDataSerializerMixin, serializers.ModelSerializer[Message]):
    """A message of a contact, either direction, with its delivery status."""

    # The notice quotes the media URL.
    personal_fields = (*MESSAGE_PERSONAL_FIELDS, "notice")
    # Empty for a message without media, and what the channel sent otherwise: not always a URI.
    media_url = serializers.CharField(read_only=True, allow_null=True, help_text=REDACTED_NOTE)
    sent_as = serializers.SerializerMethodField(
        help_text="Outbound messages: how it went to the channel. `text_link`: media sent as a "
        "text message carrying its URL, because Messenger and WhatsApp deliver only images as "
        "media through a messaging service in the EU region (SINCH_EU_MEDIA_AS_TEXT). Null for "
        "inbound messages."
    )
    notice = serializers.SerializerMethodField(
        help_text="What the agent should know about how it was sent (e.g. “Sent as a link: "
        "…”); empty when it went as written. " + REDACTED_NOTE
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "kind",
            "text",
            "media_url",
            "sent_as",
            "notice",
            "content",
            "sinch_message_id",
            "status",
            "status_reason",
            "status_at",
            "agent",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = personal_kwargs(("text", "content"))

    @extend_schema_field(serializers.ChoiceField(choices=SentAs.choices, allow_null=True))
    def get_sent_as(self, obj: Message) -> str | None:
        found = messages.sent_as(obj)
        return None if found is None else str(found)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_notice(self, obj: Message) -> str:
        return str(messages.sent_as_notice(obj))


class ReplySerializer(serializers.Serializer[Any]):
    """Body of a reply: a text or a media URL, and optionally the agent who writes it."""

    # Each rule (one of text or media, the text's limit, the URL's form) is the reply
    # service's (conversations.messages.outgoing_message_check), for the admin and the API.
    text = serializers.CharField(required=False, allow_blank=True)
    media_url = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="http(s):// address of an image, audio, video or document. Through a "
        "messaging service in the EU region, media to Messenger or WhatsApp that is not an "
        "image goes as a text message carrying this URL (the answer's `sent_as`, `notice`).",
    )
    media_type = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The media's content type (e.g. audio/ogg), when the URL's extension does not "
        "say it: image/* is sent as media everywhere.",
    )
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(), required=False, allow_null=True
    )


class ContactEventSerializer(
    PersonalDataSerializerMixin, serializers.ModelSerializer[ContactEvent]
):
    """One event of a contact's history with the contact data right after it."""

    personal_fields = CONTACT_EVENT_PERSONAL_FIELDS

    class Meta:
        model = ContactEvent
        fields = ["id", "event", "occurred_at", "detail", "snapshot"]
        read_only_fields = fields
        extra_kwargs = personal_kwargs(CONTACT_EVENT_PERSONAL_FIELDS)


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
        return MessageSerializer(first, context=self.context).data if first else None
