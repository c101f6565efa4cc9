"""REST representation of queues; the address rules live in queues.validation."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from configurator.names import UniqueNameSerializerMixin
from queues import selectors, services
from queues.choices import SUBCHANNEL_CHANNELS
from queues.models import MAX_WAITING_TIME, Queue
from queues.validation import clean_addresses


class QueueAddressesField(serializers.ListField):
    """Written as a list of strings; read from the queue's (prefetched) address rows."""

    def to_representation(self, data: Any) -> list[Any]:
        return [a.address for a in data.all()]


class SecondsField(serializers.IntegerField):
    """A duration written and read as whole seconds (checked as seconds, kept as a timedelta)."""

    def run_validation(self, data: Any = serializers.empty) -> timedelta | None:
        seconds = super().run_validation(data)
        return None if seconds is None else timedelta(seconds=seconds)

    def to_representation(self, value: Any) -> int:
        return int(value.total_seconds())


class QueueSerializer(UniqueNameSerializerMixin, serializers.ModelSerializer[Queue]):
    """A queue with its addresses (written as a whole) and its waiting figures."""

    addresses = QueueAddressesField(
        child=serializers.CharField(max_length=200),
        help_text="Chat: APPID@subchannel or APPID@subchannel.sinchconversation.com, the "
        f"subchannel of the Sinch channel it receives ({SUBCHANNEL_CHANNELS}). "
        "Phone: a number or extension.",
    )
    max_waiting_time = SecondsField(
        min_value=1,
        max_value=int(MAX_WAITING_TIME.total_seconds()),
        allow_null=True,
        required=False,
        help_text="Seconds a conversation may wait before it overflows (with overflow_queue).",
    )
    waiting_contacts = serializers.IntegerField(read_only=True, default=0)
    oldest_waiting_since = serializers.DateTimeField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "description",
            "channel_type",
            "default_priority",
            "addresses",
            "sms_sender_id",
            "max_waiting_time",
            "overflow_queue",
            "waiting_contacts",
            "oldest_waiting_since",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        current = {
            "channel_type": instance.channel_type if instance else "chat",
            "sms_sender_id": instance.sms_sender_id if instance else "",
        }
        merged = {**current, **attrs}
        raw = attrs.get("addresses")
        if raw is None and instance is not None:
            raw = [a.address for a in instance.addresses.all()]
        result = clean_addresses(
            raw or [],
            channel_type=merged["channel_type"],
            sms_sender_id=merged["sms_sender_id"] or "",
            taken=partial(
                selectors.addresses_taken, exclude_queue_id=instance.pk if instance else None
            ),
            stored=[a.address for a in instance.addresses.all()] if instance else [],
        )
        errors: dict[str, Any] = dict(result.field_errors)
        if result.errors:
            errors["addresses"] = {str(i): messages for i, messages in result.errors.items()}
        errors.update(self._model_errors(attrs))
        if errors:
            raise serializers.ValidationError(errors)
        attrs["addresses"] = result.addresses
        return attrs

    def _model_errors(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        """The queue's own rules (overflow), run on the queue as it would be saved."""
        fields = {k: v for k, v in attrs.items() if k != "addresses"}
        queue = Queue(**{**_fields_of(self.instance), **fields})
        try:
            queue.clean()
        except DjangoValidationError as exc:
            return dict(exc.message_dict)
        return {}

    def create(self, validated_data: dict[str, Any]) -> Queue:
        return services.queue_create(**validated_data)

    def update(self, instance: Queue, validated_data: dict[str, Any]) -> Queue:
        addresses = validated_data.pop("addresses", None)
        return services.queue_update(queue=instance, addresses=addresses, **validated_data)


def _fields_of(queue: Queue | None) -> dict[str, Any]:
    if queue is None:
        return {}
    return {
        "pk": queue.pk,
        "name": queue.name,
        "channel_type": queue.channel_type,
        "max_waiting_time": queue.max_waiting_time,
        "overflow_queue": queue.overflow_queue,
    }
