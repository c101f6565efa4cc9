"""The configuration document: what an export writes and an import reads.

One JSON object `{"format": "configurator-config", "version": 1, "exported_at", "services",
"queues", "agents", "integrations"}`. Objects refer to each other by name, never by database
id, and every list is sorted (by name; agents by name and number), so that exporting the same
configuration twice gives the same document apart from `exported_at`. No secret is ever written:
authentication entries are listed by their IDs only.

`*_entry` turn a stored row into its part of the document; the import's plan compares these with
the document's parts, so export and plan cannot disagree on what a field is.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from rest_framework import serializers

from conversations.models import Agent
from integrations.choices import IntegrationChannelType
from integrations.models import Integration, IntegrationAuthentication
from messaging.models import MessagingService, ServiceAuthentication
from queues.models import MAX_WAITING_TIME, Queue, QueueAddress

FORMAT = "configurator-config"
VERSION = 1
KINDS = ("services", "queues", "agents", "integrations")


# --- Stored rows as parts of the document ----------------------------------------------------


def service_entry(service: MessagingService) -> dict[str, Any]:
    """A messaging service: its connection and its entries' IDs and triggers, no secrets."""
    entries = sorted(
        service.authentications.all(), key=lambda a: (a.direction, a.authentication_id)
    )
    return {
        "name": service.name,
        "type": service.type,
        "service_connection": service.service_connection,
        "auth_method": service.auth_method,
        "enabled": service.enabled,
        "authentications": [
            {
                "direction": entry.direction,
                "authentication_id": entry.authentication_id,
                "triggers": sorted(entry.triggers or []),
            }
            for entry in entries
        ],
    }


def queue_entry(queue: Queue) -> dict[str, Any]:
    """A queue with its addresses; the overflow queue by name, the waiting time in seconds."""
    wait = queue.max_waiting_time
    return {
        "name": queue.name,
        "description": queue.description,
        "channel_type": queue.channel_type,
        "default_priority": queue.default_priority,
        "addresses": sorted(a.address for a in queue.addresses.all()),
        "sms_sender_id": queue.sms_sender_id,
        "max_waiting_time": None if wait is None else int(wait.total_seconds()),
        "overflow_queue": queue.overflow_queue.name if queue.overflow_queue else None,
    }


def agent_entry(agent: Agent) -> dict[str, Any]:
    """An agent with the queues they serve, by name."""
    return {
        "name": agent.name,
        "number": agent.number,
        "chat_address": agent.chat_address,
        "email": agent.email,
        "queues": sorted(q.name for q in agent.queues.all()),
    }


def integration_entry(integration: Integration) -> dict[str, Any]:
    """Every field an integration is saved with, queues by name, entries by ID without secrets."""
    return {
        "name": integration.name,
        "description": integration.description,
        "channel_type": integration.channel_type,
        "endpoint_url": integration.endpoint_url,
        "ordinal": integration.ordinal,
        "direction": integration.direction,
        "events": list(integration.events),
        "direct_chats": integration.direct_chats,
        "direct_calls": integration.direct_calls,
        "queues": sorted(q.name for q in integration.queues.all()),
        "authentications": [
            {"authentication_id": a.authentication_id}
            for a in sorted(integration.authentications.all(), key=lambda a: a.authentication_id)
        ],
        "configuration": integration.configuration,
        "enabled": integration.enabled,
    }


def agent_key(entry: dict[str, Any]) -> tuple[str, str]:
    """How an agent is known across landscapes: the number when there is one, else the name."""
    number = entry.get("number") or ""
    return ("number", number) if number else ("name", str(entry["name"]).casefold())


# --- Reading them, a fixed number of queries whatever the rows --------------------------------


def stored_services() -> QuerySet[MessagingService]:
    """Services with their entries (two queries)."""
    return MessagingService.objects.prefetch_related(
        Prefetch("authentications", queryset=ServiceAuthentication.objects.all())
    ).order_by("name", "pk")


def stored_queues() -> QuerySet[Queue]:
    """Queues with their addresses and overflow queue (two queries)."""
    return (
        Queue.objects.select_related("overflow_queue")
        .prefetch_related(Prefetch("addresses", queryset=QueueAddress.objects.all()))
        .order_by("name", "pk")
    )


def stored_agents() -> QuerySet[Agent]:
    """Agents with their queues (two queries)."""
    return Agent.objects.prefetch_related("queues").order_by("name", "number", "pk")


def stored_integrations() -> QuerySet[Integration]:
    """Integrations with their queues and entries (three queries)."""
    return Integration.objects.prefetch_related(
        "queues", Prefetch("authentications", queryset=IntegrationAuthentication.objects.all())
    ).order_by("name", "pk")


def config_export() -> dict[str, Any]:
    """The whole configuration as one document (no secrets), sorted for stable comparison."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "services": [service_entry(s) for s in stored_services()],
        "queues": [queue_entry(q) for q in stored_queues()],
        "agents": [agent_entry(a) for a in stored_agents()],
        "integrations": [integration_entry(i) for i in stored_integrations()],
    }


def document_text(document: dict[str, Any]) -> str:
    """The document as a file holds it: two-space indent, UTF-8 as is, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- The document's shape, checked before anything is planned --------------------------------


class ServiceAuthenticationPart(serializers.Serializer[Any]):
    """An authentication entry of a messaging service: its ID, never its secret."""

    direction = serializers.CharField(max_length=8)
    authentication_id = serializers.CharField(max_length=200)
    triggers = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )


class ServicePart(serializers.Serializer[Any]):
    """A messaging service in the document."""

    name = serializers.CharField(max_length=100)
    type = serializers.CharField(max_length=32, required=False, default="sinchconversation")
    service_connection = serializers.CharField(max_length=300)
    auth_method = serializers.CharField(max_length=8, required=False, default="oauth2")
    enabled = serializers.BooleanField(required=False, default=True)
    authentications = ServiceAuthenticationPart(many=True)


class QueuePart(serializers.Serializer[Any]):
    """A queue in the document."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channel_type = serializers.CharField(max_length=8, required=False, default="chat")
    default_priority = serializers.IntegerField(required=False, default=100)
    addresses = serializers.ListField(child=serializers.CharField(max_length=200))
    sms_sender_id = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    max_waiting_time = serializers.IntegerField(
        min_value=1,
        max_value=int(MAX_WAITING_TIME.total_seconds()),
        required=False,
        allow_null=True,
        default=None,
        help_text="Seconds a conversation may wait before it overflows.",
    )
    overflow_queue = serializers.CharField(
        max_length=100, required=False, allow_null=True, default=None
    )


class AgentPart(serializers.Serializer[Any]):
    """An agent in the document."""

    name = serializers.CharField(max_length=100)
    number = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    chat_address = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    queues = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


class IntegrationAuthenticationPart(serializers.Serializer[Any]):
    """An authentication entry of an integration: its ID, never its secret."""

    authentication_id = serializers.CharField(max_length=160)


class IntegrationPart(serializers.Serializer[Any]):
    """An integration in the document."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channel_type = serializers.ChoiceField(choices=IntegrationChannelType.choices)
    endpoint_url = serializers.CharField(max_length=2000)
    ordinal = serializers.IntegerField(required=False, default=1)
    direction = serializers.CharField(max_length=8, required=False, default="inbound")
    events = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, default=list
    )
    direct_chats = serializers.BooleanField(required=False, default=False)
    direct_calls = serializers.BooleanField(required=False, default=False)
    queues = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    authentications = IntegrationAuthenticationPart(many=True, required=False, default=list)
    configuration = serializers.JSONField(required=False, default=dict)
    enabled = serializers.BooleanField(required=False, default=True)


class DocumentSerializer(serializers.Serializer[Any]):
    """A configuration document as `config_export` writes it (format and version checked)."""

    format = serializers.CharField(help_text=f"Always “{FORMAT}”.")
    version = serializers.IntegerField(help_text=f"The document's format version: {VERSION}.")
    exported_at = serializers.CharField(required=False, allow_blank=True)
    services = ServicePart(many=True, required=False, default=list)
    queues = QueuePart(many=True, required=False, default=list)
    agents = AgentPart(many=True, required=False, default=list)
    integrations = IntegrationPart(many=True, required=False, default=list)

    def validate_format(self, value: str) -> str:
        if value != FORMAT:
            raise serializers.ValidationError(
                f"“{value}” is not a configuration document: the format is “{FORMAT}”."
            )
        return value

    def validate_version(self, value: int) -> int:
        if value != VERSION:
            raise serializers.ValidationError(
                f"Version {value} is not supported: this Configurator reads version {VERSION}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for kind in KINDS:
            seen: set[Any] = set()
            for part in attrs[kind]:
                key = agent_key(part) if kind == "agents" else str(part["name"]).casefold()
                if key in seen:
                    errors.setdefault(kind, []).append(
                        f"“{part['name']}” is in the document twice."
                    )
                seen.add(key)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SecretsSerializer(serializers.Serializer[Any]):
    """Secrets the document leaves out: {object name: {authentication ID: secret}}; write-only."""

    services = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(trim_whitespace=False)),
        required=False,
        default=dict,
    )
    integrations = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(trim_whitespace=False)),
        required=False,
        default=dict,
    )
